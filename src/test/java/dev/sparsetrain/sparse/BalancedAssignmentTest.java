package dev.sparsetrain.sparse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BalancedAssignmentTest {

    private static double total(double[] cost, int k, int[] bin) {
        double sum = 0;
        for (int i = 0; i < bin.length; i++) sum += cost[i * k + bin[i]];
        return sum;
    }

    @Test
    void twoBinsGiveTheMinimumCostSplit() {
        long seed = 61;
        var rng = new SplittableRandom(seed);
        int n = 12;
        for (int[] capacity : new int[][] {{6, 6}, {7, 5}, {2, 10}}) {
            double[] cost = new double[n * 2];
            for (int i = 0; i < cost.length; i++) cost[i] = rng.nextDouble();
            int[] bin = BalancedAssignment.assign(cost, n, 2, capacity);
            int inFirst = 0;
            for (int b : bin) inFirst += b == 0 ? 1 : 0;
            assertEquals(capacity[0], inFirst, "seed " + seed);
            double best = Double.POSITIVE_INFINITY;
            for (int subset = 0; subset < 1 << n; subset++) { // bit i set: item i in bin 0
                if (Integer.bitCount(subset) != capacity[0]) continue;
                double sum = 0;
                for (int i = 0; i < n; i++) sum += cost[i * 2 + ((subset >> i & 1) == 1 ? 0 : 1)];
                best = Math.min(best, sum);
            }
            assertEquals(best, total(cost, 2, bin), 1e-12, "capacities " + capacity[0] + "/" + capacity[1] + ", seed " + seed);
        }
    }

    @Test
    void manyBinsRespectCapacities() {
        long seed = 62;
        var rng = new SplittableRandom(seed);
        int n = 50, k = 4;
        double[] cost = new double[n * k];
        for (int i = 0; i < cost.length; i++) cost[i] = rng.nextGaussian();
        int[] capacity = BalancedAssignment.evenCapacities(n, k);
        assertArrayEquals(new int[] {13, 13, 12, 12}, capacity);
        int[] count = new int[k];
        for (int b : BalancedAssignment.assign(cost, n, k, capacity)) count[b]++;
        assertArrayEquals(capacity, count, "seed " + seed);
    }

    @Test
    void equalCostsFillTheBinsInIndexOrder() {
        int[] bin = BalancedAssignment.assign(new double[6 * 3], 6, 3, new int[] {2, 2, 2});
        assertArrayEquals(new int[] {0, 0, 1, 1, 2, 2}, bin);
    }

    @Test
    void rejectsCapacitiesThatDoNotCoverTheItems() {
        assertThrows(IllegalArgumentException.class, () -> BalancedAssignment.assign(new double[8], 4, 2, new int[] {2, 1}));
    }
}
