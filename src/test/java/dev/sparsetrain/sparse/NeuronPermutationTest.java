package dev.sparsetrain.sparse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NeuronPermutationTest {

    /** y = W2·relu(W1·x)² for every token, with plain loops: x [T,d], W1 [F,d], W2 [d,F]. */
    private static double[] denseFfn(float[] x, int tokens, int d, float[] w1, float[] w2, int f) {
        double[] y = new double[tokens * d];
        for (int t = 0; t < tokens; t++) {
            for (int h = 0; h < f; h++) {
                float z = 0;
                for (int j = 0; j < d; j++) z += x[t * d + j] * w1[h * d + j];
                float a = Math.max(z, 0f) * Math.max(z, 0f);
                for (int i = 0; i < d; i++) y[t * d + i] += (double) w2[i * f + h] * a;
            }
        }
        return y;
    }

    @Test
    void permutingNeuronsJointlyLeavesTheDenseFfnUnchanged() {
        long seed = 71;
        var rng = new SplittableRandom(seed);
        int tokens = 5, d = 8, f = 32;
        float[] x = TestData.uniform(rng, tokens * d), w1 = TestData.uniform(rng, f * d), w2 = TestData.uniform(rng, d * f);
        NeuronPermutation p = NeuronPermutation.of(TestData.permutation(rng, f));
        float[] w1p = TestData.poisoned(w1.length), w2p = TestData.poisoned(w2.length);
        p.permuteRows(w1, d, w1p);
        p.permuteColumns(w2, d, w2p);
        double[] before = denseFfn(x, tokens, d, w1, w2, f), after = denseFfn(x, tokens, d, w1p, w2p, f);
        float[] afterFloat = new float[after.length];
        for (int i = 0; i < after.length; i++) afterFloat[i] = (float) after[i];
        double error = TestData.relativeError(afterFloat, before);
        assertTrue(error <= 1e-6, "relative error " + error + ", seed " + seed);
    }

    @Test
    void inverseUndoesBothDirections() {
        long seed = 72;
        var rng = new SplittableRandom(seed);
        int f = 12, d = 3;
        NeuronPermutation p = NeuronPermutation.of(TestData.permutation(rng, f));
        float[] w1 = TestData.uniform(rng, f * d), moved = TestData.poisoned(w1.length), back = TestData.poisoned(w1.length);
        p.permuteRows(w1, d, moved);
        p.inverse().permuteRows(moved, d, back);
        assertArrayEquals(w1, back, "rows, seed " + seed);
        float[] w2 = TestData.uniform(rng, d * f);
        moved = TestData.poisoned(w2.length);
        back = TestData.poisoned(w2.length);
        p.permuteColumns(w2, d, moved);
        p.inverse().permuteColumns(moved, d, back);
        assertArrayEquals(w2, back, "columns, seed " + seed);
    }

    @Test
    void columnsMoveAsTheOrderSays() {
        NeuronPermutation p = NeuronPermutation.of(new int[] {2, 0, 1});
        float[] out = TestData.poisoned(6);
        p.permuteColumns(new float[] {10, 11, 12, 20, 21, 22}, 2, out);
        assertArrayEquals(new float[] {12, 10, 11, 22, 20, 21}, out);
    }

    @Test
    void expertContiguousOrderKeepsIndicesIncreasingInsideEachExpert() {
        NeuronPermutation p = NeuronPermutation.expertContiguous(new int[] {1, 0, 1, 0, 0, 1}, 2);
        assertArrayEquals(new int[] {1, 3, 4, 0, 2, 5}, p.order());
    }

    @Test
    void rejectsARepeatedIndex() {
        var e = assertThrows(IllegalArgumentException.class, () -> NeuronPermutation.of(new int[] {0, 2, 2}));
        assertTrue(e.getMessage().contains("position 2 holds 2, which appears twice"), e.getMessage());
        assertEquals(3, NeuronPermutation.of(new int[] {0, 2, 1}).size());
    }
}
