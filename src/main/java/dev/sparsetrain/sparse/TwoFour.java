package dev.sparsetrain.sparse;

import dev.sparsetrain.cpu.Parallel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * 2:4 compression of a row-major left operand (SPEC §4), its inverse, and the 2:4 check. A value is
 * "non-zero" when {@code != 0} (so −0 is zero and NaN is non-zero).
 */
public final class TwoFour {
    private TwoFour() {}

    /** Whether every group of 4 along a row of the rows×cols matrix holds at most 2 non-zeros. */
    public static boolean isTwoFour(float[] a, int rows, int cols) {
        int n = Checks.elements(rows, cols);
        Checks.multipleOf(cols, 4, "cols");
        Checks.length(a, n, "a");
        for (int base = 0; base < n; base += 4) {
            if (Integer.bitCount(nonZeros(a, base)) > 2) return false;
        }
        return true;
    }

    /**
     * Compresses a 2:4 matrix by its non-zeros; groups with fewer than two get the padding rule of
     * {@link TwoFourNibble#ofPositions} and store zeros in the padded slots.
     *
     * @throws IllegalArgumentException naming the first group with more than two non-zeros
     */
    public static TwoFourMatrix compress(float[] a, int rows, int cols) {
        int n = Checks.elements(rows, cols);
        Checks.multipleOf(cols, 4, "cols");
        Checks.length(a, n, "a");
        float[] values = new float[n / 2];
        byte[] nibbles = new byte[n / 4];
        // Violations are collected and thrown on the caller's thread, where the message stays as written.
        var firstBad = new AtomicInteger(Integer.MAX_VALUE);
        Parallel.forRange(rows, Checks.rowGrain(cols), (from, to) -> {
            for (int base = from * cols, end = to * cols; base < end; base += 4) {
                int nz = nonZeros(a, base);
                if (Integer.bitCount(nz) > 2) {
                    firstBad.accumulateAndGet(base, Math::min);
                    return;
                }
                store(a, base, TwoFourNibble.ofPositions(nz), values, nibbles);
            }
        });
        int bad = firstBad.get();
        if (bad != Integer.MAX_VALUE) {
            throw new IllegalArgumentException("row " + bad / cols + ", columns [" + bad % cols + ", " + (bad % cols + 4)
                    + ") hold " + Integer.bitCount(nonZeros(a, bad)) + " non-zeros; a 2:4 matrix keeps at most 2 per"
                    + " group of 4 (prune it first, or use compressMasked)");
        }
        return new TwoFourMatrix(rows, cols, values, nibbles);
    }

    /**
     * Compresses the masked matrix {@code a ⊙ mask}: {@code masks} holds one byte per (row, group)
     * with exactly two of its low 4 bits set (as SoftThreshold and ActivationTopK write), and the
     * values outside the mask are ignored. This is what a fused "sparsify then pack" kernel emits.
     */
    public static TwoFourMatrix compressMasked(float[] a, int rows, int cols, byte[] masks) {
        int n = Checks.elements(rows, cols);
        Checks.multipleOf(cols, 4, "cols");
        Checks.length(a, n, "a");
        Checks.length(masks, n / 4, "masks");
        float[] values = new float[n / 2];
        byte[] nibbles = new byte[n / 4];
        var firstBad = new AtomicInteger(Integer.MAX_VALUE);
        Parallel.forRange(rows, Checks.rowGrain(cols), (from, to) -> {
            for (int base = from * cols, end = to * cols; base < end; base += 4) {
                int mask = masks[base >> 2];
                if (!isKeepMask(mask)) {
                    firstBad.accumulateAndGet(base >> 2, Math::min);
                    return;
                }
                store(a, base, TwoFourNibble.ofPositions(mask), values, nibbles);
            }
        });
        int bad = firstBad.get();
        if (bad != Integer.MAX_VALUE) {
            throw new IllegalArgumentException("mask of row " + bad / (cols / 4) + ", group " + bad % (cols / 4) + " is 0x"
                    + Integer.toHexString(masks[bad] & 0xFF) + "; a 2:4 keep mask has exactly 2 of its 4 bits set");
        }
        return new TwoFourMatrix(rows, cols, values, nibbles);
    }

    /** Writes the dense rows×cols matrix of {@code c} into {@code out} (every element). */
    public static void decompress(TwoFourMatrix c, float[] out) {
        int rows = c.rows(), cols = c.cols();
        Checks.length(out, (long) rows * cols, "out");
        float[] values = c.values();
        byte[] nibbles = c.nibbles();
        Parallel.forRange(rows, Checks.rowGrain(cols), (from, to) -> {
            for (int base = from * cols, end = to * cols; base < end; base += 4) {
                int g = base >> 2, nibble = nibbles[g];
                out[base] = out[base + 1] = out[base + 2] = out[base + 3] = 0f;
                out[base + TwoFourNibble.first(nibble)] = values[2 * g];
                out[base + TwoFourNibble.second(nibble)] = values[2 * g + 1];
            }
        });
    }

    private static void store(float[] a, int base, int nibble, float[] values, byte[] nibbles) {
        int g = base >> 2;
        nibbles[g] = (byte) nibble;
        values[2 * g] = a[base + TwoFourNibble.first(nibble)];
        values[2 * g + 1] = a[base + TwoFourNibble.second(nibble)];
    }

    private static boolean isKeepMask(int mask) {
        return (mask & ~0xF) == 0 && Integer.bitCount(mask) == 2;
    }

    private static int nonZeros(float[] a, int base) {
        return (a[base] != 0 ? 1 : 0) | (a[base + 1] != 0 ? 2 : 0) | (a[base + 2] != 0 ? 4 : 0)
                | (a[base + 3] != 0 ? 8 : 0);
    }
}
