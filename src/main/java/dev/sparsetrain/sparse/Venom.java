package dev.sparsetrain.sparse;

import dev.sparsetrain.cpu.Parallel;
import java.util.Arrays;

/**
 * V:2:M (Venom) pack, unpack, validation and a reference SpMM (SPEC §4), for arbitrary patterns.
 * A value is "non-zero" when {@code != 0}.
 *
 * <p>Packing rules, so a given dense matrix has exactly one packed form: a block's 4 columns are its
 * non-zero columns completed with the highest unused offsets of the group (an all-zero block selects
 * m−4 .. m−1); a row's 2 positions among them are its non-zeros completed by
 * {@link TwoFourNibble#ofPositions}. Padded slots store zero.
 */
public final class Venom {
    private Venom() {}

    /** Whether the matrix is V:2:M: every v×m block has ≤ 4 non-zero columns and each row ≤ 2 non-zeros per group. */
    public static boolean isVenom(float[] a, int rows, int cols, int v, int m) {
        return violation(a, rows, cols, v, m) == null;
    }

    /** Throws, naming the first offending block or row, unless {@link #isVenom} holds. */
    public static void requireVenom(float[] a, int rows, int cols, int v, int m) {
        String why = violation(a, rows, cols, v, m);
        if (why != null) throw new IllegalArgumentException(why);
    }

    /** Packs a V:2:M matrix (checked first). */
    public static VenomMatrix pack(float[] a, int rows, int cols, int v, int m) {
        requireVenom(a, rows, cols, v, m);
        int groups = cols / m;
        float[] values = new float[rows * groups * 2];
        byte[] nibbles = new byte[rows * groups];
        int[] columns = new int[rows / v * groups * 4];
        Parallel.forRange(rows / v, Math.max(1, Checks.rowGrain(cols) / v), (fromBlock, toBlock) -> {
            int[] selected = new int[4];
            for (int b = fromBlock; b < toBlock; b++) {
                for (int g = 0; g < groups; g++) {
                    selectColumns(a, cols, b * v, v, g * m, m, selected);
                    System.arraycopy(selected, 0, columns, (b * groups + g) * 4, 4);
                    for (int r = b * v; r < (b + 1) * v; r++) {
                        int base = r * cols + g * m, positions = 0;
                        for (int j = 0; j < 4; j++) {
                            if (a[base + selected[j]] != 0) positions |= 1 << j;
                        }
                        int nibble = TwoFourNibble.ofPositions(positions), slot = r * groups + g;
                        nibbles[slot] = (byte) nibble;
                        values[2 * slot] = a[base + selected[TwoFourNibble.first(nibble)]];
                        values[2 * slot + 1] = a[base + selected[TwoFourNibble.second(nibble)]];
                    }
                }
            }
        });
        return new VenomMatrix(rows, cols, v, m, values, nibbles, columns);
    }

    /** Writes the dense rows×cols matrix of {@code p} into {@code out} (every element). */
    public static void unpack(VenomMatrix p, float[] out) {
        int rows = p.rows(), cols = p.cols(), m = p.m(), v = p.v(), groups = p.groups();
        Checks.length(out, (long) rows * cols, "out");
        Parallel.forRange(rows, Checks.rowGrain(cols), (from, to) -> {
            Arrays.fill(out, from * cols, to * cols, 0f);
            for (int r = from; r < to; r++) {
                for (int g = 0; g < groups; g++) {
                    int slot = r * groups + g, nibble = p.nibbles()[slot], cb = (r / v * groups + g) * 4;
                    int base = r * cols + g * m;
                    out[base + p.columns()[cb + TwoFourNibble.first(nibble)]] = p.values()[2 * slot];
                    out[base + p.columns()[cb + TwoFourNibble.second(nibble)]] = p.values()[2 * slot + 1];
                }
            }
        });
    }

    /**
     * {@code c = A·B}: A in Venom form [rows, cols], B dense row-major [cols, n], c row-major
     * [rows, n] (overwritten), fp32 accumulation in increasing column order of A. Each stored value
     * reads its B row through the block's column index, as a gathered GPU kernel would.
     */
    public static void spmm(VenomMatrix a, float[] b, int n, float[] c) {
        int rows = a.rows(), cols = a.cols(), m = a.m(), v = a.v(), groups = a.groups();
        Checks.positive(n, "n");
        Checks.length(b, (long) cols * n, "b");
        Checks.length(c, (long) rows * n, "c");
        Checks.distinct(c, b, "c", "b");
        float[] values = a.values();
        byte[] nibbles = a.nibbles();
        int[] columns = a.columns();
        Parallel.forRange(rows, Checks.rowGrain(n * 2), (from, to) -> {
            for (int r = from; r < to; r++) {
                int out = r * n;
                Arrays.fill(c, out, out + n, 0f);
                for (int g = 0; g < groups; g++) {
                    int slot = r * groups + g, nibble = nibbles[slot], cb = (r / v * groups + g) * 4;
                    for (int s = 0; s < 2; s++) {
                        int position = s == 0 ? TwoFourNibble.first(nibble) : TwoFourNibble.second(nibble);
                        float value = values[2 * slot + s];
                        int bRow = (g * m + columns[cb + position]) * n;
                        for (int j = 0; j < n; j++) c[out + j] += value * b[bRow + j];
                    }
                }
            }
        });
    }

    /** The block's 4 selected column offsets, increasing: its non-zero columns plus the highest unused ones. */
    private static void selectColumns(float[] a, int cols, int row0, int v, int col0, int m, int[] selected) {
        int count = 0;
        for (int c = 0; c < m; c++) {
            if (columnHasNonZero(a, cols, row0, v, col0 + c)) selected[count++] = c;
        }
        // The padding is appended after the non-zero columns, so sort to restore increasing order.
        for (int c = m - 1; count < 4; c--) {
            if (!contains(selected, count, c)) selected[count++] = c;
        }
        Arrays.sort(selected, 0, 4);
    }

    private static boolean columnHasNonZero(float[] a, int cols, int row0, int v, int col) {
        for (int r = row0; r < row0 + v; r++) {
            if (a[r * cols + col] != 0) return true;
        }
        return false;
    }

    private static boolean contains(int[] values, int count, int value) {
        for (int i = 0; i < count; i++) {
            if (values[i] == value) return true;
        }
        return false;
    }

    /** A description of the first violation of V:2:M, or null. */
    private static String violation(float[] a, int rows, int cols, int v, int m) {
        int n = Checks.elements(rows, cols);
        VenomMatrix.checkShape(rows, cols, v, m);
        Checks.length(a, n, "a");
        for (int row0 = 0; row0 < rows; row0 += v) {
            for (int col0 = 0; col0 < cols; col0 += m) {
                int used = 0;
                for (int c = col0; c < col0 + m; c++) {
                    if (columnHasNonZero(a, cols, row0, v, c)) used++;
                }
                if (used > 4) {
                    return "block of rows [" + row0 + ", " + (row0 + v) + ") x columns [" + col0 + ", " + (col0 + m)
                            + ") uses " + used + " columns; V:2:M allows 4 shared by the block's rows";
                }
                for (int r = row0; r < row0 + v; r++) {
                    int nz = 0;
                    for (int c = col0; c < col0 + m; c++) {
                        if (a[r * cols + c] != 0) nz++;
                    }
                    if (nz > 2) {
                        return "row " + r + " has " + nz + " non-zeros in columns [" + col0 + ", " + (col0 + m)
                                + "); V:2:M allows 2 per row per group";
                    }
                }
            }
        }
        return null;
    }
}
