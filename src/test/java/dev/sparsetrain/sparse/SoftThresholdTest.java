package dev.sparsetrain.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SoftThresholdTest {

    /** Checks one SPEC §5 group: threshold, mask (as 0/1 per element) and output. */
    private static void assertGroup(float[] w, float t, int[] mask, float[] expected) {
        assertEquals(t, SoftThreshold.groupThreshold(w, 0), 1e-6f, "t of " + Arrays.toString(w));
        int expectedMask = mask[0] | mask[1] << 1 | mask[2] << 2 | mask[3] << 3;
        assertEquals(expectedMask, SoftThreshold.groupMask(w, 0), "mask of " + Arrays.toString(w));
        float[] out = TestData.poisoned(4);
        byte[] masks = TestData.poisonedBytes(1);
        SoftThreshold.apply(w, 1, 4, 1f, out, masks);
        assertEquals(expectedMask, masks[0], "mask written for " + Arrays.toString(w));
        for (int i = 0; i < 4; i++) assertEquals(expected[i], out[i], 1e-6f, "output " + i + " of " + Arrays.toString(w));
    }

    @Test
    void oracleMixedSigns() {
        assertGroup(new float[] {1, -3, 0.5f, 2}, 1, new int[] {0, 1, 0, 1}, new float[] {0, -2, 0, 1});
    }

    @Test
    void oracleIncreasing() {
        assertGroup(new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 0.2f, new int[] {0, 0, 1, 1}, new float[] {0, 0, 0.1f, 0.2f});
    }

    @Test
    void oracleTieBelowTheThreshold() {
        assertGroup(new float[] {-4, 1, 1, 2}, 1, new int[] {1, 0, 0, 1}, new float[] {-3, 0, 0, 1});
    }

    @Test
    void oracleAllEqualKeepsTheHighestIndices() {
        assertGroup(new float[] {2, 2, 2, 2}, 2, new int[] {0, 0, 1, 1}, new float[] {0, 0, 0, 0});
    }

    @Test
    void oracleZeroThreshold() {
        assertGroup(new float[] {0, 0, 5, -1}, 0, new int[] {0, 0, 1, 1}, new float[] {0, 0, 5, -1});
    }

    @Test
    void matrixMatchesASortingReferenceWithTiesAndScale() {
        long seed = 11;
        var rng = new SplittableRandom(seed);
        int rows = 16, cols = 32;
        float[] w = new float[rows * cols];
        // Few distinct magnitudes, so ties are frequent.
        for (int i = 0; i < w.length; i++) w[i] = (rng.nextInt(4) + 1) * 0.25f * (rng.nextBoolean() ? 1 : -1);
        float scale = 1.5f;
        float[] out = TestData.poisoned(w.length);
        byte[] masks = TestData.poisonedBytes(w.length / 4);
        SoftThreshold.apply(w, rows, cols, scale, out, masks);
        for (int base = 0; base < w.length; base += 4) {
            int b = base;
            // Reference: sort by (|w|, index) descending; the first two are kept.
            Integer[] byRank = {0, 1, 2, 3};
            Arrays.sort(byRank, Comparator.<Integer>comparingDouble(i -> Math.abs(w[b + i]))
                    .thenComparingInt(i -> i).reversed());
            float t = Math.abs(w[b + byRank[2]]);
            int mask = 1 << byRank[0] | 1 << byRank[1];
            assertEquals(mask, masks[base / 4], "mask of group " + base / 4 + ", seed " + seed);
            for (int i = 0; i < 4; i++) {
                float x = w[base + i];
                float expected = (mask >> i & 1) == 1 ? scale * Math.signum(x) * (Math.abs(x) - t) : 0f;
                assertEquals(expected, out[base + i], 1e-6f, "element " + (base + i) + ", seed " + seed);
            }
        }
    }

    @Test
    void betaIsTheLeastSquaresScale() {
        long seed = 12;
        float[] w = TestData.uniform(new SplittableRandom(seed), 64 * 32);
        float[] s = TestData.poisoned(w.length);
        SoftThreshold.apply(w, 64, 32, 1f, s);
        double ws = 0, ss = 0;
        for (int i = 0; i < w.length; i++) {
            ws += (double) w[i] * s[i];
            ss += (double) s[i] * s[i];
        }
        double beta = SoftThreshold.beta(w, s);
        assertEquals(ws / ss, beta, 1e-12 * Math.abs(beta), "seed " + seed);
        // Each kept |w|·(|w|−t) ≥ (|w|−t)², so S(W) undershoots W and β ≥ 1.
        assertTrue(beta >= 1, "β = " + beta + " should be at least 1, seed " + seed);
        double residualDotS = 0;
        for (int i = 0; i < w.length; i++) residualDotS += (w[i] - beta * s[i]) * s[i];
        assertEquals(0, residualDotS / ss, 1e-9, "W − βS must be orthogonal to S, seed " + seed);
    }

    @Test
    void betaOfAnAllZeroProjectionIsAnError() {
        float[] w = {2, 2, 2, 2, -1, 1, -1, 1};
        float[] s = TestData.poisoned(w.length);
        SoftThreshold.apply(w, 1, 8, 1f, s);
        var e = assertThrows(IllegalArgumentException.class, () -> SoftThreshold.beta(w, s));
        assertTrue(e.getMessage().contains("all zero"), e.getMessage());
    }

    @Test
    void removedMagnitudeFractionOfTheOracleGroup() {
        float[] w = {1, -3, 0.5f, 2};
        float[] s = TestData.poisoned(4);
        SoftThreshold.apply(w, 1, 4, 1f, s);
        // Σ|W| = 6.5, Σ|S(W)| = 2 + 1 = 3.
        assertEquals(1 - 3 / 6.5, SoftThreshold.removedMagnitudeFraction(w, s), 1e-7);
    }

    @Test
    void nanIsKeptSoItPropagates() {
        float[] w = {Float.NaN, 1, 2, 3};
        int mask = SoftThreshold.groupMask(w, 0);
        assertEquals(2, Integer.bitCount(mask), "always exactly two kept");
        assertEquals(1, mask & 1, "the NaN is kept");
    }

    @Test
    void rejectsRowsNotInGroupsOfFour() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> SoftThreshold.apply(new float[6], 1, 6, 1f, new float[6]));
        assertTrue(e.getMessage().contains("multiple of 4"), e.getMessage());
    }
}
