package dev.sparsetrain.sparse;

import dev.sparsetrain.tensor.Bf16;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CusparseLtLayoutTest {
    private static final int[][] SHAPES = {{64, 32}, {128, 64}, {192, 96}, {256, 512}, {128, 1024}};

    @Test
    void metadataOffsetsAreABijectionOverNibbleSlots() {
        for (int[] shape : SHAPES) {
            int m = shape[0], k = shape[1], metaBytes = m * k / 8;
            boolean[] used = new boolean[2 * metaBytes];
            for (int r = 0; r < m; r++) {
                for (int g = 0; g < k / 4; g++) {
                    int offset = CusparseLtLayout.metadataByteOffset(r, g, k);
                    assertTrue(offset >= 0 && offset < metaBytes, "offset " + offset + " of (" + r + "," + g + ") at " + m + "x" + k);
                    int slot = 2 * offset + (CusparseLtLayout.highNibble(r) ? 1 : 0);
                    assertFalse(used[slot], "slot " + slot + " used twice at " + m + "x" + k + ", row " + r + ", group " + g);
                    used[slot] = true;
                }
            }
            for (int slot = 0; slot < used.length; slot++) {
                assertTrue(used[slot], "slot " + slot + " never used at " + m + "x" + k);
            }
        }
    }

    @Test
    void eachByteHoldsRowsEightApartAndBlocksAre256ContiguousBytes() {
        int k = 128;
        assertEquals(CusparseLtLayout.metadataByteOffset(3, 5, k), CusparseLtLayout.metadataByteOffset(11, 5, k));
        assertFalse(CusparseLtLayout.highNibble(3));
        assertTrue(CusparseLtLayout.highNibble(11));
        // Hand-evaluated points: along k inside a block, then the next 32-column block, then the next 64 rows.
        assertEquals(0, CusparseLtLayout.metadataByteOffset(0, 0, k));
        assertEquals(2, CusparseLtLayout.metadataByteOffset(0, 1, k));
        assertEquals(1, CusparseLtLayout.metadataByteOffset(0, 4, k));
        assertEquals(8, CusparseLtLayout.metadataByteOffset(1, 0, k));
        assertEquals(64, CusparseLtLayout.metadataByteOffset(16, 0, k));
        assertEquals(256, CusparseLtLayout.metadataByteOffset(0, 8, k));
        assertEquals(64 * k / 8, CusparseLtLayout.metadataByteOffset(64, 0, k));
        for (int r = 64; r < 128; r++) {
            for (int g = 16; g < 24; g++) { // block (row 1, column block 2)
                int offset = CusparseLtLayout.metadataByteOffset(r, g, k);
                int start = 64 * k / 8 + 2 * 256;
                assertTrue(offset >= start && offset < start + 256, "row " + r + ", group " + g + " at " + offset);
            }
        }
    }

    @Test
    void packThenUnpackRoundTrips() {
        long seed = 41;
        int m = 128, k = 96;
        float[] a = TestData.twoFour(new SplittableRandom(seed), m, k);
        TwoFourMatrix c = TwoFour.compress(a, m, k);
        byte[] buffer = CusparseLtLayout.packBf16(c);
        assertEquals(m * k / 2 * 2 + m * k / 8, buffer.length);
        CusparseLtLayout.Unpacked u = CusparseLtLayout.unpack(buffer, m, k);
        assertArrayEquals(c.nibbles(), u.nibbles(), "seed " + seed);
        assertArrayEquals(Bf16.fromFloats(c.values()), u.values(), "seed " + seed);
        // And the dense matrix comes back up to bf16 rounding.
        float[] values = new float[u.values().length];
        for (int i = 0; i < values.length; i++) values[i] = Bf16.toFloat(u.values()[i]);
        float[] back = TestData.poisoned(m * k);
        TwoFour.decompress(new TwoFourMatrix(m, k, values, u.nibbles()), back);
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], back[i], Math.abs(a[i]) * 0x1p-8f, "element " + i + ", seed " + seed);
        }
    }

    @Test
    void valuesAreLittleEndianAndEmptyGroupsRead0xE() {
        int m = 64, k = 32;
        float[] a = new float[m * k];
        a[0] = 1f;   // row 0, group 0: (0,3)
        a[k + 1] = -2f; // row 1, group 0: (1,3)
        byte[] buffer = CusparseLtLayout.packBf16(TwoFour.compress(a, m, k));
        assertEquals((byte) 0x80, buffer[0], "1.0 = bf16 0x3F80, low byte first");
        assertEquals((byte) 0x3F, buffer[1]);
        int meta = m * k;
        assertEquals(0xC, buffer[meta + CusparseLtLayout.metadataByteOffset(0, 0, k)] & 0xF);
        assertEquals(0xD, buffer[meta + CusparseLtLayout.metadataByteOffset(1, 0, k)] & 0xF);
        assertEquals(0xE, (buffer[meta + CusparseLtLayout.metadataByteOffset(8, 0, k)] >> 4) & 0xF, "row 8 is empty");
        assertEquals(0xE, buffer[meta + CusparseLtLayout.metadataByteOffset(5, 3, k)] & 0xF, "row 5 group 3 is empty");
    }

    @Test
    void rejectsShapesOutsideTheBlockGrid() {
        var e = assertThrows(IllegalArgumentException.class, () -> CusparseLtLayout.bufferBytes(96, 64));
        assertTrue(e.getMessage().contains("multiple of 64"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CusparseLtLayout.bufferBytes(64, 48));
    }

    @Test
    void packRejectsInvalidNibbles() {
        byte[] nibbles = new byte[64 * 32 / 4];
        Arrays.fill(nibbles, (byte) 0xE);
        nibbles[9] = 0x5;
        var e = assertThrows(IllegalArgumentException.class, () -> CusparseLtLayout.pack(new short[64 * 16], nibbles, 64, 32));
        assertTrue(e.getMessage().contains("row 1, group 1"), e.getMessage());
    }
}
