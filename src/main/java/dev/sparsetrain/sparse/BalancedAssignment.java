package dev.sparsetrain.sparse;

import java.util.Arrays;

/**
 * Assigns items to bins of fixed capacities, keeping total cost low: the balanced step of neuron
 * clustering and of balanced routing.
 *
 * <p>Rule ("regret greedy"): order the items by regret (their second-cheapest minus cheapest bin
 * cost) descending, ties to the lower item index; each item in turn takes its cheapest bin that
 * still has room, ties to the lower bin. With two bins this is exact: it equals sorting by cost
 * difference and splitting at the capacity, the minimum-cost balanced split. With more bins it is a
 * heuristic (an exact answer needs a min-cost flow), chosen for being deterministic and O(n·k +
 * n log n).
 */
final class BalancedAssignment {
    private BalancedAssignment() {}

    /** Capacities that split n items over k bins as evenly as possible: the first n mod k bins get one more. */
    static int[] evenCapacities(int n, int k) {
        int[] capacity = new int[k];
        for (int e = 0; e < k; e++) capacity[e] = n / k + (e < n % k ? 1 : 0);
        return capacity;
    }

    /**
     * The bin of every item; {@code cost[i·k + e]} is item i's cost in bin e and the capacities must
     * sum to n.
     */
    static int[] assign(double[] cost, int n, int k, int[] capacity) {
        if (cost.length != (long) n * k) {
            throw new IllegalArgumentException("cost has " + cost.length + " entries, expected " + n + "x" + k);
        }
        if (capacity.length != k || Arrays.stream(capacity).asLongStream().sum() != n
                || Arrays.stream(capacity).anyMatch(c -> c < 0)) {
            throw new IllegalArgumentException("capacities " + Arrays.toString(capacity)
                    + " must be " + k + " non-negative counts summing to " + n);
        }
        double[] regret = new double[n];
        for (int i = 0; i < n; i++) {
            double best = Double.POSITIVE_INFINITY, second = Double.POSITIVE_INFINITY;
            for (int e = 0; e < k; e++) {
                double c = cost[i * k + e];
                if (c < best) {
                    second = best;
                    best = c;
                } else if (c < second) {
                    second = c;
                }
            }
            regret[i] = k == 1 ? 0 : second - best;
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (i, j) -> {
            int byRegret = Double.compare(regret[j], regret[i]);
            return byRegret != 0 ? byRegret : Integer.compare(i, j);
        });
        int[] left = capacity.clone();
        int[] bin = new int[n];
        for (int i : order) {
            int chosen = -1;
            for (int e = 0; e < k; e++) {
                if (left[e] > 0 && (chosen < 0 || cost[i * k + e] < cost[i * k + chosen])) chosen = e;
            }
            bin[i] = chosen;
            left[chosen]--;
        }
        return bin;
    }
}
