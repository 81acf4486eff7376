package dev.sparsetrain.sparse;

/**
 * A row-major rows×cols matrix in 2:4 compressed form (SPEC §4): {@code values} rows×cols/2, each
 * group's two stored values in column order, and {@code nibbles}, one {@link TwoFourNibble} per
 * (row, group) in row-major order, one byte each. The arrays are shared, not copied.
 */
public record TwoFourMatrix(int rows, int cols, float[] values, byte[] nibbles) {
    /** Checks the shape and that every nibble is valid. */
    public TwoFourMatrix {
        int n = Checks.elements(rows, cols);
        Checks.multipleOf(cols, 4, "cols");
        Checks.length(values, n / 2, "values");
        Checks.length(nibbles, n / 4, "nibbles");
        for (int i = 0; i < nibbles.length; i++) {
            if (!TwoFourNibble.isValid(nibbles[i])) {
                throw new IllegalArgumentException("nibble of row " + i / (cols / 4) + ", group " + i % (cols / 4)
                        + " is 0x" + Integer.toHexString(nibbles[i] & 0xFF) + ", not a valid ordered pair");
            }
        }
    }
}
