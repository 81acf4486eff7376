package dev.sparsetrain.sparse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ActivationTopKTest {

    private static void assertGroup(float[] z, int expectedMask, float[] expected) {
        float[] a = TestData.poisoned(4);
        byte[] masks = TestData.poisonedBytes(1);
        ActivationTopK.apply(z, 1, 4, a, masks);
        assertEquals(expectedMask, masks[0], "mask of " + Arrays.toString(z));
        assertArrayEquals(expected, a, 0f, "kept activations of " + Arrays.toString(z));
    }

    @Test
    void tiesGoToTheHigherIndex() {
        assertGroup(new float[] {1, 1, 1, 1}, 0b1100, new float[] {0, 0, 1, 1});
    }

    @Test
    void allNegativeGroupKeepsTheHighestIndicesAsZeros() {
        assertGroup(new float[] {-3, -1, -2, -5}, 0b1100, new float[] {0, 0, 0, 0});
    }

    @Test
    void onePositiveValuePairsWithTheHighestZero() {
        assertGroup(new float[] {-1, 2, -3, -4}, 0b1010, new float[] {0, 4, 0, 0});
    }

    @Test
    void keepsTheTwoLargestSquares() {
        assertGroup(new float[] {1, 2, 3, -1}, 0b0110, new float[] {0, 4, 9, 0});
    }

    @Test
    void selectionOnZMatchesRankingTheExactSquares() {
        long seed = 21;
        var rng = new SplittableRandom(seed);
        int rows = 12, cols = 40;
        float[] z = new float[rows * cols];
        // Coarse values give ties among positives and many non-positive zeros.
        for (int i = 0; i < z.length; i++) z[i] = (rng.nextInt(7) - 3) * 0.5f;
        float[] a = TestData.poisoned(z.length);
        byte[] masks = TestData.poisonedBytes(z.length / 4);
        ActivationTopK.apply(z, rows, cols, a, masks);
        for (int base = 0; base < z.length; base += 4) {
            int b = base;
            // A float squared is exact in double, so this ranks relu(z)² itself.
            Integer[] byRank = {0, 1, 2, 3};
            Arrays.sort(byRank, Comparator.<Integer>comparingDouble(i -> {
                double r = Math.max(z[b + i], 0);
                return r * r;
            }).thenComparingInt(i -> i).reversed());
            int mask = 1 << byRank[0] | 1 << byRank[1];
            assertEquals(mask, masks[base / 4], "group " + base / 4 + ", seed " + seed);
            for (int i = 0; i < 4; i++) {
                float r = Math.max(z[base + i], 0f);
                assertEquals((mask >> i & 1) == 1 ? r * r : 0f, a[base + i], 0f, "element " + (base + i) + ", seed " + seed);
            }
        }
    }

    @Test
    void droppedMassOfAHandGroup() {
        float[] z = {1, 2, 3, -1};
        float[] a = TestData.poisoned(4);
        ActivationTopK.apply(z, 1, 4, a, new byte[1]);
        // relu² = 1, 4, 9, 0: the 1 is dropped out of 14.
        assertEquals(1.0 / 14, ActivationTopK.droppedMassFraction(z, a), 1e-12);
    }

    @Test
    void droppedMassOnRandomData() {
        long seed = 22;
        float[] z = TestData.uniform(new SplittableRandom(seed), 32 * 64);
        float[] a = TestData.poisoned(z.length);
        ActivationTopK.apply(z, 32, 64, a, new byte[z.length / 4]);
        double total = 0, removed = 0;
        for (int i = 0; i < z.length; i++) {
            double r = Math.max(z[i], 0);
            total += r * r;
            if (a[i] == 0) removed += r * r;
        }
        assertEquals(removed / total, ActivationTopK.droppedMassFraction(z, a), 1e-6, "seed " + seed);
    }
}
