package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.sparse.CusparseLtLayout;
import dev.sparsetrain.sparse.TwoFourNibble;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The host half of the start-up layout check, without a GPU: the expected buffer and the mismatch report. */
class SparseLayoutCheckTest {
    private static final long SEED = 99_0611L;
    private static final int[] VALID_NIBBLES = {0x4, 0x8, 0x9, 0xC, 0xD, 0xE};

    @Test
    void theExpectedBufferPacksTheKeptValuesAndTheirPositions() {
        var random = new SplittableRandom(SEED);
        int m = 128, k = 64, groups = k / 4;
        short[] values = new short[m * k / 2];
        byte[] nibbles = new byte[m * groups];
        short[] dense = new short[m * k];
        for (int r = 0; r < m; r++) {
            for (int g = 0; g < groups; g++) {
                int nibble = VALID_NIBBLES[random.nextInt(VALID_NIBBLES.length)];
                nibbles[r * groups + g] = (byte) nibble;
                for (int slot = 0; slot < 2; slot++) {
                    short v = (short) (0x3C00 + random.nextInt(0x400)); // non-zero bf16 patterns
                    values[(r * groups + g) * 2 + slot] = v;
                    dense[r * k + g * 4 + (slot == 0 ? TwoFourNibble.first(nibble) : TwoFourNibble.second(nibble))] = v;
                }
            }
        }
        assertArrayEquals(CusparseLtLayout.pack(values, nibbles, m, k), SparseLayoutCheck.pack(dense, m, k), "seed " + SEED);
    }

    @Test
    void theRandomProbeRoundTripsThroughTheLayout() {
        var random = new SplittableRandom(SEED + 1);
        int m = 64, k = 128;
        short[] dense = new short[m * k];
        RandomBf16.fillTwoFour(dense, dense.length, random);
        var unpacked = CusparseLtLayout.unpack(SparseLayoutCheck.pack(dense, m, k), m, k);
        short[] rebuilt = new short[m * k];
        for (int r = 0; r < m; r++) {
            for (int g = 0; g < k / 4; g++) {
                int nibble = unpacked.nibbles()[r * k / 4 + g];
                rebuilt[r * k + g * 4 + TwoFourNibble.first(nibble)] = unpacked.values()[r * k / 2 + g * 2];
                rebuilt[r * k + g * 4 + TwoFourNibble.second(nibble)] = unpacked.values()[r * k / 2 + g * 2 + 1];
            }
        }
        assertArrayEquals(dense, rebuilt, "seed " + (SEED + 1));
    }

    @Test
    void aProbeGroupWithoutExactlyTwoNonZerosIsRefused() {
        short[] dense = new short[64 * 32];
        RandomBf16.fillTwoFour(dense, dense.length, new SplittableRandom(SEED + 2));
        int group = 5 * 32 + 12; // row 5, group 3
        for (int j = 0; j < 4; j++) dense[group + j] = 0;
        dense[group + 1] = 0x3F80;
        var e = assertThrows(IllegalArgumentException.class, () -> SparseLayoutCheck.pack(dense, 64, 32));
        assertTrue(e.getMessage().contains("row 5, group 3 has 1 non-zeros"), e.getMessage());
    }

    @Test
    void aMismatchIsNamedByValueOrMetadataByteWithBothBytes() {
        int m = 64, k = 32;
        byte[] expected = new byte[m * k + m * k / 8];
        new SplittableRandom(SEED + 3).nextBytes(expected);
        assertNull(SparseLayoutCheck.firstDifference(expected.clone(), expected, m, k));

        byte[] value = expected.clone();
        value[2 * (3 * 16 + 5) + 1] ^= 0x10; // high byte of kept value 5 of row 3 (16 kept values per row)
        assertEquals(String.format("value byte %d (compressed row 3, kept value 5) is 0x%02X from the library, 0x%02X from our packer",
                        2 * (3 * 16 + 5) + 1, value[2 * (3 * 16 + 5) + 1] & 0xFF, expected[2 * (3 * 16 + 5) + 1] & 0xFF),
                SparseLayoutCheck.firstDifference(value, expected, m, k));

        byte[] metadata = expected.clone();
        metadata[m * k + 7] ^= 0x0E;
        String d = SparseLayoutCheck.firstDifference(metadata, expected, m, k);
        assertTrue(d.startsWith("metadata byte 7 (buffer byte " + (m * k + 7) + ") is 0x"), d);
    }

    @Test
    void theProbesCoverWholeMetadataBlocks() {
        for (var p : SparseLayoutCheck.PROBES) {
            assertTrue(SparseMatmul.supports(p.m(), 128, p.k()), p.toString());
            assertEquals(p.m() * p.k() * 9 / 8, CusparseLtLayout.bufferBytes(p.m(), p.k()), p.toString());
        }
    }
}
