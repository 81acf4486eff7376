package dev.sparsetrain.sparse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NeuronClusteringTest {

    @Test
    void clustersAreExactlyBalancedAndDeterministicForASeed() {
        long seed = 81;
        int f = 96, d = 16, experts = 4;
        float[] w1 = TestData.uniform(new SplittableRandom(seed), f * d);
        for (var metric : NeuronClustering.Metric.values()) {
            var first = NeuronClustering.cluster(w1, f, d, experts, metric, 10, 7);
            var again = NeuronClustering.cluster(w1, f, d, experts, metric, 10, 7);
            assertArrayEquals(first.expertOf(), again.expertOf(), metric + ", seed " + seed);
            int[] count = new int[experts];
            for (int e : first.expertOf()) count[e]++;
            assertArrayEquals(new int[] {24, 24, 24, 24}, count, metric + ", seed " + seed);
            NeuronPermutation p = first.permutation();
            for (int pos = 0; pos < f; pos++) {
                assertEquals(pos / (f / experts), first.expertOf()[p.oldIndex(pos)], "position " + pos + ", " + metric);
                if (pos % (f / experts) > 0) assertTrue(p.oldIndex(pos) > p.oldIndex(pos - 1), "increasing inside an expert");
            }
        }
    }

    /** Rows scattered around E well-separated centres, in shuffled order; returns each row's true cluster. */
    private static int[] planted(SplittableRandom rng, float[] w1, int f, int d, int experts, boolean varyScale) {
        int[] truth = new int[f];
        int[] order = TestData.permutation(rng, f);
        for (int i = 0; i < f; i++) {
            int e = order[i] % experts;
            truth[i] = e;
            double scale = varyScale ? 0.2 + 5 * rng.nextDouble() : 1;
            for (int j = 0; j < d; j++) {
                double centre = j == e ? 10 : 0; // orthogonal directions, 10·√2 apart
                w1[i * d + j] = (float) (scale * (centre + 0.3 * rng.nextGaussian()));
            }
        }
        return truth;
    }

    private static void assertSamePartition(int[] truth, int[] found, String what) {
        for (int i = 0; i < truth.length; i++) {
            for (int j = 0; j < truth.length; j++) {
                assertEquals(truth[i] == truth[j], found[i] == found[j], what + ": rows " + i + " and " + j);
            }
        }
    }

    @Test
    void l2RecoversPlantedClusters() {
        long seed = 82;
        var rng = new SplittableRandom(seed);
        int f = 64, d = 8, experts = 4;
        float[] w1 = new float[f * d];
        int[] truth = planted(rng, w1, f, d, experts, false);
        var result = NeuronClustering.cluster(w1, f, d, experts, NeuronClustering.Metric.L2, 20, 3);
        assertSamePartition(truth, result.expertOf(), "L2, seed " + seed);
        assertTrue(result.converged(), "converged within 20 iterations, seed " + seed);
    }

    @Test
    void cosineRecoversPlantedDirectionsOfMixedLength() {
        long seed = 83;
        var rng = new SplittableRandom(seed);
        int f = 64, d = 8, experts = 2;
        float[] w1 = new float[f * d];
        int[] truth = planted(rng, w1, f, d, experts, true);
        var result = NeuronClustering.cluster(w1, f, d, experts, NeuronClustering.Metric.COSINE, 20, 3);
        assertSamePartition(truth, result.expertOf(), "cosine, seed " + seed);
    }

    @Test
    void rejectsNeuronsNotDivisibleByExperts() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> NeuronClustering.cluster(new float[10 * 2], 10, 2, 4, NeuronClustering.Metric.L2, 5, 1));
        assertTrue(e.getMessage().contains("multiple of 4"), e.getMessage());
    }
}
