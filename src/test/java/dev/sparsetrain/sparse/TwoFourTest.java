package dev.sparsetrain.sparse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TwoFourTest {

    @Test
    void compressThenDecompressIsTheIdentity() {
        long seed = 31;
        int rows = 16, cols = 64;
        float[] a = TestData.twoFour(new SplittableRandom(seed), rows, cols);
        TwoFourMatrix c = TwoFour.compress(a, rows, cols);
        float[] back = TestData.poisoned(a.length);
        TwoFour.decompress(c, back);
        assertArrayEquals(a, back, "seed " + seed);
    }

    @Test
    void valuesAreInColumnOrderAndShortGroupsArePadded() {
        float[] a = {0, 7, 0, 5, /* */ 0, 0, 0, 0, /* */ 3, 0, 0, 0, /* */ 0, 0, 0, 4};
        TwoFourMatrix c = TwoFour.compress(a, 1, 16);
        assertArrayEquals(new byte[] {0xD, 0xE, 0xC, 0xE}, c.nibbles(), "(1,3), empty, (0,3), (2,3)");
        assertArrayEquals(new float[] {7, 5, 0, 0, 3, 0, 0, 4}, c.values());
    }

    @Test
    void compressRejectsThreeNonZerosAndSaysWhere() {
        float[] a = new float[16];
        a[0] = 1;
        a[8 + 4] = a[8 + 5] = a[8 + 7] = 2;
        assertFalse(TwoFour.isTwoFour(a, 2, 8));
        var e = assertThrows(IllegalArgumentException.class, () -> TwoFour.compress(a, 2, 8));
        assertTrue(e.getMessage().contains("row 1, columns [4, 8)"), e.getMessage());
    }

    @Test
    void aLargeMatrixReportsItsFirstViolationUnwrapped() {
        int rows = 2048, cols = 256; // big enough to run on several threads
        float[] a = new float[rows * cols];
        a[1900 * cols + 8] = a[1900 * cols + 9] = a[1900 * cols + 10] = 1;
        a[700 * cols + 20] = a[700 * cols + 21] = a[700 * cols + 22] = a[700 * cols + 23] = 1;
        var e = assertThrows(IllegalArgumentException.class, () -> TwoFour.compress(a, rows, cols));
        assertTrue(e.getMessage().startsWith("row 700, columns [20, 24) hold 4 non-zeros"), e.getMessage());
    }

    @Test
    void isTwoFourAcceptsPrunedMatrices() {
        long seed = 32;
        assertTrue(TwoFour.isTwoFour(TestData.twoFour(new SplittableRandom(seed), 8, 16), 8, 16), "seed " + seed);
    }

    @Test
    void compressMaskedPacksTheSoftThresholdPattern() {
        long seed = 33;
        int rows = 8, cols = 32;
        float[] w = TestData.uniform(new SplittableRandom(seed), rows * cols);
        w[4] = w[5] = w[6] = w[7] = 2; // a group whose kept values become zero: the mask still decides
        float[] s = TestData.poisoned(w.length);
        byte[] masks = TestData.poisonedBytes(w.length / 4);
        SoftThreshold.apply(w, rows, cols, 1f, s, masks);
        TwoFourMatrix c = TwoFour.compressMasked(s, rows, cols, masks);
        assertEquals(0xE, c.nibbles()[1], "the (2,2,2,2) group keeps positions 2 and 3");
        float[] back = TestData.poisoned(w.length);
        TwoFour.decompress(c, back);
        assertArrayEquals(s, back, "seed " + seed);
    }

    @Test
    void compressMaskedRejectsAMaskWithoutTwoBits() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> TwoFour.compressMasked(new float[] {1, 2, 3, 4}, 1, 4, new byte[] {0b0111}));
        assertTrue(e.getMessage().contains("exactly 2"), e.getMessage());
    }

    @Test
    void validNibblesAreTheSixOrderedPairs() {
        StringBuilder valid = new StringBuilder();
        for (int n = 0; n < 16; n++) {
            if (TwoFourNibble.isValid(n)) valid.append(Integer.toHexString(n));
        }
        assertEquals("489cde", valid.toString());
        assertFalse(TwoFourNibble.isValid(0x1E), "bits above the nibble");
    }

    @Test
    void nibblePaddingRule() {
        assertEquals(0xE, TwoFourNibble.ofPositions(0), "empty → (2,3)");
        assertEquals(0xC, TwoFourNibble.ofPositions(0b0001), "only 0 → (0,3)");
        assertEquals(0xD, TwoFourNibble.ofPositions(0b0010), "only 1 → (1,3)");
        assertEquals(0xE, TwoFourNibble.ofPositions(0b0100), "only 2 → (2,3)");
        assertEquals(0xE, TwoFourNibble.ofPositions(0b1000), "only 3 → (2,3)");
        for (int mask = 0; mask < 16; mask++) {
            if (Integer.bitCount(mask) == 2) {
                assertEquals(mask, TwoFourNibble.positions(TwoFourNibble.ofPositions(mask)), "mask " + mask);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> TwoFourNibble.ofPositions(0b0111));
    }

    @Test
    void matrixRejectsAnInvalidNibble() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new TwoFourMatrix(1, 8, new float[4], new byte[] {0xE, 0x5}));
        assertTrue(e.getMessage().contains("group 1"), e.getMessage());
    }
}
