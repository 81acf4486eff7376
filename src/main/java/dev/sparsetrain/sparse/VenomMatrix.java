package dev.sparsetrain.sparse;

/**
 * A rows×cols matrix in V:2:M (Venom) form (SPEC §4). The columns are cut into {@code groups() =
 * cols/m} groups of m; each block of v rows × one group shares 4 selected columns, and each row
 * stores 2 values among those 4 (hardware 2:4 on the condensed matrix), so the density is 2/m.
 *
 * <ul>
 *   <li>{@code values}: rows × groups()·2, row-major; a (row, group)'s two values in column order.</li>
 *   <li>{@code nibbles}: one per (row, group), row-major: the two stored values' positions among the
 *       block's 4 selected columns as a {@link TwoFourNibble} ({@code p0 | p1 << 2}, p0 < p1), i.e.
 *       2 bits per stored value.</li>
 *   <li>{@code columns}: 4 per (row block, group), indexed {@code (block·groups() + group)·4 + j};
 *       offsets in [0, m) inside the group, strictly increasing in j.</li>
 * </ul>
 * The arrays are shared, not copied.
 */
public record VenomMatrix(int rows, int cols, int v, int m, float[] values, byte[] nibbles, int[] columns) {
    /** Checks shapes, nibbles and that every block's columns are increasing offsets inside its group. */
    public VenomMatrix {
        Checks.elements(rows, cols);
        checkShape(rows, cols, v, m);
        int groups = cols / m;
        Checks.length(values, (long) rows * groups * 2, "values");
        Checks.length(nibbles, (long) rows * groups, "nibbles");
        Checks.length(columns, (long) (rows / v) * groups * 4, "columns");
        for (int i = 0; i < nibbles.length; i++) {
            if (!TwoFourNibble.isValid(nibbles[i])) {
                throw new IllegalArgumentException("nibble of row " + i / groups + ", group " + i % groups
                        + " is 0x" + Integer.toHexString(nibbles[i] & 0xFF) + ", not a valid ordered pair");
            }
        }
        for (int b = 0; b < columns.length; b += 4) {
            for (int j = 0; j < 4; j++) {
                int c = columns[b + j];
                if (c < 0 || c >= m || (j > 0 && c <= columns[b + j - 1])) {
                    throw new IllegalArgumentException("row block " + b / 4 / groups + ", group " + b / 4 % groups
                            + " has column offsets " + columns[b] + "," + columns[b + 1] + "," + columns[b + 2] + ","
                            + columns[b + 3] + "; they must be strictly increasing in [0, " + m + ")");
                }
            }
        }
    }

    /** Column groups per row: cols / m. */
    public int groups() {
        return cols / m;
    }

    static void checkShape(int rows, int cols, int v, int m) {
        Checks.positive(v, "v (rows per block)");
        if (m < 4) throw new IllegalArgumentException("m (columns per group) must be at least 4, got " + m);
        Checks.multipleOf(rows, v, "rows (whole blocks of v rows)");
        Checks.multipleOf(cols, m, "cols (whole groups of m columns)");
    }
}
