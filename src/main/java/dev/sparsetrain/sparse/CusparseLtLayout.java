package dev.sparsetrain.sparse;

import dev.sparsetrain.tensor.Bf16;

/**
 * The compressed buffer of cuSPARSELt 0.8 on sm_90 for a 16-bit (bf16/fp16), row-major,
 * non-transposed sparse A of m×k (SPEC §4; reference/sparse-gpu-notes.md §5.4). NVIDIA does not
 * document it; it was read off the library (bit-identical on H200 for m ∈ {128,192,256,512},
 * k ∈ {512,1024,2048}), so the GPU side must still verify it against
 * {@code cusparseLtSpMMACompress} at start-up.
 *
 * <p>One buffer: {@code [values: m·k/2 16-bit elements, row-major m×k/2, little-endian]
 * [metadata: m·k/8 bytes]}. Each (row r, group g = col/4) nibble lives at
 * {@link #metadataByteOffset} in the low half of its byte when {@code r % 16 < 8}, else the high
 * half, so one byte pairs rows r and r+8. A 64-row × 32-column block is 256 contiguous bytes; the
 * blocks run along k first, then down m. The formula covers every nibble slot exactly once when m
 * is a multiple of 64 and k of 32.
 */
public final class CusparseLtLayout {
    /** Rows of one metadata block. */
    public static final int ROW_BLOCK = 64;
    /** Columns of one metadata block. */
    public static final int COL_BLOCK = 32;

    private CusparseLtLayout() {}

    /** The byte offset, inside the metadata part, of the nibble of (row, group) in a matrix of k columns. */
    public static int metadataByteOffset(int row, int group, int k) {
        return (row / 64) * (64 * k / 8) + (group / 8) * 256 + ((row % 64) / 16) * 64 + (row % 8) * 8
                + (group % 4) * 2 + (group % 8) / 4;
    }

    /** Whether the nibble of {@code row} goes in the high half of its metadata byte. */
    public static boolean highNibble(int row) {
        return row % 16 >= 8;
    }

    /** Bytes of the whole buffer: m·k/2 two-byte values plus m·k/8 metadata bytes. */
    public static int bufferBytes(int m, int k) {
        checkShape(m, k);
        return m * k + m * k / 8;
    }

    /** Packs bf16 (or fp16) values m×k/2 and one nibble per (row, group) into the buffer layout. */
    public static byte[] pack(short[] values, byte[] nibbles, int m, int k) {
        byte[] buffer = new byte[bufferBytes(m, k)];
        Checks.length(values, (long) m * k / 2, "values");
        Checks.length(nibbles, (long) m * k / 4, "nibbles");
        for (int i = 0; i < values.length; i++) {
            buffer[2 * i] = (byte) values[i];
            buffer[2 * i + 1] = (byte) (values[i] >> 8);
        }
        int metaBase = m * k, groups = k / 4;
        for (int r = 0; r < m; r++) {
            int shift = highNibble(r) ? 4 : 0;
            for (int g = 0; g < groups; g++) {
                int nibble = nibbles[r * groups + g];
                if (!TwoFourNibble.isValid(nibble)) {
                    throw new IllegalArgumentException("nibble of row " + r + ", group " + g + " is 0x"
                            + Integer.toHexString(nibble & 0xFF) + ", not a valid 2:4 ordered pair");
                }
                buffer[metaBase + metadataByteOffset(r, g, k)] |= (byte) (nibble << shift);
            }
        }
        return buffer;
    }

    /** Packs a compressed matrix, rounding its values to bf16. */
    public static byte[] packBf16(TwoFourMatrix c) {
        return pack(Bf16.fromFloats(c.values()), c.nibbles(), c.rows(), c.cols());
    }

    /** The 16-bit values and per-(row, group) nibbles of a buffer: the inverse of {@link #pack}. */
    public static Unpacked unpack(byte[] buffer, int m, int k) {
        if (buffer == null || buffer.length != bufferBytes(m, k)) {
            throw new IllegalArgumentException("buffer has " + (buffer == null ? "no" : buffer.length)
                    + " bytes, expected " + bufferBytes(m, k) + " for " + m + "x" + k);
        }
        short[] values = new short[m * k / 2];
        for (int i = 0; i < values.length; i++) {
            values[i] = (short) ((buffer[2 * i] & 0xFF) | (buffer[2 * i + 1] & 0xFF) << 8);
        }
        int metaBase = m * k, groups = k / 4;
        byte[] nibbles = new byte[m * groups];
        for (int r = 0; r < m; r++) {
            int shift = highNibble(r) ? 4 : 0;
            for (int g = 0; g < groups; g++) {
                nibbles[r * groups + g] = (byte) ((buffer[metaBase + metadataByteOffset(r, g, k)] >> shift) & 0xF);
            }
        }
        return new Unpacked(values, nibbles);
    }

    /** The contents of a buffer: values m×k/2 as 16-bit patterns and nibbles m×k/4, row-major. */
    public record Unpacked(short[] values, byte[] nibbles) {}

    private static void checkShape(int m, int k) {
        Checks.positive(m, "m");
        Checks.positive(k, "k");
        Checks.multipleOf(m, ROW_BLOCK, "m (cuSPARSELt sm_90 metadata blocks are 64 rows)");
        Checks.multipleOf(k, COL_BLOCK, "k (cuSPARSELt sm_90 metadata blocks are 32 columns)");
        if ((long) m * k + (long) m * k / 8 > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(m + "x" + k + " needs a buffer over 2 GiB; split the matrix");
        }
    }
}
