package dev.sparsetrain.cuda;

import dev.sparsetrain.sparse.CusparseLtLayout;
import dev.sparsetrain.sparse.TwoFourNibble;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The start-up self-test of our packer: NVIDIA calls cuSPARSELt's compressed layout internal and
 * free to change (sparse-gpu-notes §5.4), while our kernels write it themselves
 * ({@link CusparseLtLayout}). For a few shapes, a random bf16 matrix with exactly two non-zeros in
 * every group of four (the library writes 0xE for empty groups, which our packer may not) is
 * compressed by the library, through a plan for each of the four B × D orders, downloaded, and
 * compared byte for byte with {@link CusparseLtLayout#pack} of the same matrix; the library's
 * compressed size must also equal {@link CusparseLtLayout#bufferBytes}.
 *
 * <p>What to do on a mismatch is the caller's choice: compress with
 * {@link SparseMatmul#compressWithLibrary} instead, and say so.
 */
final class SparseLayoutCheck {
    /** One probed shape of the sparse operand. */
    record Probe(int m, int k) {}

    /** Several 64-row blocks, several 32-column blocks, an odd number of row blocks, and a long row. */
    static final List<Probe> PROBES = List.of(new Probe(128, 256), new Probe(192, 512), new Probe(64, 2048));
    private static final long SEED = 20260611L;
    /** What the compressed buffer holds before the library writes it, so that a byte it skips shows up. */
    private static final int UNWRITTEN_WORD = 0xFFFFFFFF;

    /**
     * The verdict.
     *
     * @param matches        whether every probe was byte-identical and sized as our packer sizes it
     * @param firstMismatch  where the first probe differed and how, or "" when all matched
     * @param libraryVersion cuSPARSELt's version (major·1000 + minor·100 + patch)
     */
    record Result(boolean matches, String firstMismatch, int libraryVersion) {}

    private SparseLayoutCheck() {}

    /** Runs every probe through {@code sparse}'s library on its context; waits for the device. */
    static Result run(SparseMatmul sparse, CudaContext context) {
        var random = new SplittableRandom(SEED);
        for (Probe probeShape : PROBES) {
            int m = probeShape.m(), k = probeShape.k();
            short[] dense = new short[m * k];
            RandomBf16.fillTwoFour(dense, dense.length, random);
            byte[] expected = pack(dense, m, k);
            for (int orders = 0; orders < 4; orders++) {
                boolean bColMajor = (orders & 1) != 0, dColMajor = (orders & 2) != 0;
                String probe = m + "x" + k + " through a plan with B " + (bColMajor ? "column" : "row") + "-major and D "
                        + (dColMajor ? "column" : "row") + "-major";
                long size = sparse.compressedBytes(m, k, bColMajor, dColMajor);
                if (size != expected.length) {
                    return new Result(false, probe + ": the library's compressed size is " + size + " bytes, our packer's "
                            + expected.length, sparse.version());
                }
                byte[] got = compress(sparse, context, dense, m, k, bColMajor, dColMajor);
                String difference = firstDifference(got, expected, m, k);
                if (difference != null) return new Result(false, probe + ": " + difference, sparse.version());
            }
        }
        return new Result(true, "", sparse.version());
    }

    /** Our packer's buffer for a row-major matrix with exactly two non-zeros per group of four. */
    static byte[] pack(short[] dense, int m, int k) {
        int groups = k / 4;
        short[] values = new short[m * k / 2];
        byte[] nibbles = new byte[m * groups];
        for (int r = 0; r < m; r++) {
            for (int g = 0; g < groups; g++) {
                int positions = 0;
                for (int j = 0; j < 4; j++) if (dense[r * k + g * 4 + j] != 0) positions |= 1 << j;
                if (Integer.bitCount(positions) != 2) {
                    throw new IllegalArgumentException("row " + r + ", group " + g + " has " + Integer.bitCount(positions)
                            + " non-zeros; the probe needs exactly 2 in every group");
                }
                int nibble = TwoFourNibble.ofPositions(positions);
                nibbles[r * groups + g] = (byte) nibble;
                int at = (r * groups + g) * 2;
                values[at] = dense[r * k + g * 4 + TwoFourNibble.first(nibble)];
                values[at + 1] = dense[r * k + g * 4 + TwoFourNibble.second(nibble)];
            }
        }
        return CusparseLtLayout.pack(values, nibbles, m, k);
    }

    /** Where two buffers of an m×k matrix first differ, named by value element or metadata byte; null when equal. */
    static String firstDifference(byte[] got, byte[] expected, int m, int k) {
        long valueBytes = (long) m * k; // m·k/2 two-byte values
        for (int i = 0; i < expected.length; i++) {
            if (got[i] == expected[i]) continue;
            String where;
            if (i < valueBytes) {
                int element = i / 2, half = k / 2;
                where = "value byte " + i + " (compressed row " + element / half + ", kept value " + element % half + ")";
            } else {
                where = "metadata byte " + (i - valueBytes) + " (buffer byte " + i + ")";
            }
            return String.format(Locale.ROOT, "%s is 0x%02X from the library, 0x%02X from our packer", where, got[i] & 0xFF, expected[i] & 0xFF);
        }
        return null;
    }

    private static byte[] compress(SparseMatmul sparse, CudaContext context, short[] dense, int m, int k, boolean bColMajor, boolean dColMajor) {
        byte[] got = new byte[m * k + m * k / 8];
        try (DeviceScratch denseA = DeviceScratch.sized(context, "dense probe of the sparse layout check", dense.length * 2L);
             DeviceScratch compressed = DeviceScratch.sized(context, "compressed probe of the sparse layout check", got.length)) {
            context.driver.copyHostToDevice(denseA.pointer(), MemorySegment.ofArray(dense), dense.length * 2L);
            context.driver.memsetD32Async(compressed.pointer(), UNWRITTEN_WORD, Math.ceilDiv(got.length, 4), context.stream());
            sparse.compressWithLibrary(compressed.pointer(), denseA.pointer(), m, k, bColMajor, dColMajor);
            context.synchronize();
            context.driver.copyDeviceToHost(MemorySegment.ofArray(got), compressed.pointer(), got.length);
        }
        return got;
    }
}
