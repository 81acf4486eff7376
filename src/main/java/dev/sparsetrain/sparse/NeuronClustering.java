package dev.sparsetrain.sparse;

import dev.sparsetrain.cpu.Parallel;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Balanced k-means of the F rows of W1 [F,d] into E experts of exactly F/E neurons (SPEC §3.2),
 * deterministic for a seed (and independent of the thread count).
 *
 * <ol>
 *   <li>Points are the rows of W1 ({@link Metric#L2}) or the rows scaled to unit length
 *       ({@link Metric#COSINE}, spherical k-means; zero rows stay zero).</li>
 *   <li>Initial centres by k-means++ seeded with {@code seed}: the first a uniform row, each next
 *       one a row drawn with probability ∝ squared distance to the nearest chosen centre (uniform
 *       when every distance is zero).</li>
 *   <li>Lloyd iterations: assign with capacity F/E per expert by {@link BalancedAssignment} on cost
 *       {@code ‖c_e‖² − 2·p·c_e} (the squared distance minus ‖p‖², which no assignment depends on);
 *       then move each centre to the mean of its points (renormalised for cosine). Stops when the
 *       assignment repeats or after {@code maxIterations} assignments.</li>
 * </ol>
 */
public final class NeuronClustering {
    private NeuronClustering() {}

    /** Distance between neurons. */
    public enum Metric { L2, COSINE }

    /**
     * A clustering: {@code expertOf[i]} is neuron i's expert, {@code permutation} its
     * expert-contiguous order, {@code iterations} the assignment steps run, {@code converged} whether
     * the last one repeated the previous assignment.
     */
    public record Result(int[] expertOf, NeuronPermutation permutation, int iterations, boolean converged) {}

    /** Clusters the rows of the row-major W1 [neurons, d]; neurons must be a multiple of experts. */
    public static Result cluster(float[] w1, int neurons, int d, int experts, Metric metric, int maxIterations,
                                 long seed) {
        int n = Checks.elements(neurons, d);
        Checks.length(w1, n, "w1");
        Checks.positive(experts, "experts");
        Checks.multipleOf(neurons, experts, "neurons (balanced experts of neurons/experts each)");
        Checks.positive(maxIterations, "maxIterations");
        float[] points = metric == Metric.COSINE ? unitRows(w1, neurons, d) : w1;
        double[] centres = initialCentres(points, neurons, d, experts, new SplittableRandom(seed));
        int[] capacity = BalancedAssignment.evenCapacities(neurons, experts);
        double[] cost = new double[neurons * experts];
        int[] expertOf = null;
        for (int iteration = 1; iteration <= maxIterations; iteration++) {
            costs(points, neurons, d, centres, experts, cost);
            int[] next = BalancedAssignment.assign(cost, neurons, experts, capacity);
            if (Arrays.equals(next, expertOf)) {
                return new Result(next, NeuronPermutation.expertContiguous(next, experts), iteration, true);
            }
            expertOf = next;
            means(points, neurons, d, expertOf, experts, metric == Metric.COSINE, centres);
        }
        return new Result(expertOf, NeuronPermutation.expertContiguous(expertOf, experts), maxIterations, false);
    }

    private static float[] unitRows(float[] w, int rows, int d) {
        float[] out = new float[rows * d];
        for (int i = 0; i < rows; i++) {
            double norm = 0;
            for (int j = 0; j < d; j++) norm += (double) w[i * d + j] * w[i * d + j];
            double scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
            for (int j = 0; j < d; j++) out[i * d + j] = (float) (w[i * d + j] * scale);
        }
        return out;
    }

    private static double[] initialCentres(float[] p, int rows, int d, int experts, SplittableRandom rng) {
        double[] centres = new double[experts * d];
        double[] nearest = new double[rows];
        Arrays.fill(nearest, Double.POSITIVE_INFINITY);
        for (int e = 0; e < experts; e++) {
            int chosen = e == 0 ? rng.nextInt(rows) : drawProportional(nearest, rng);
            for (int j = 0; j < d; j++) centres[e * d + j] = p[chosen * d + j];
            int centre = e;
            Parallel.forRange(rows, Math.max(1, 32_768 / d), (from, to) -> {
                for (int i = from; i < to; i++) {
                    double dist = 0;
                    for (int j = 0; j < d; j++) {
                        double diff = p[i * d + j] - centres[centre * d + j];
                        dist += diff * diff;
                    }
                    nearest[i] = Math.min(nearest[i], dist);
                }
            });
        }
        return centres;
    }

    /** An index drawn with probability ∝ weight (uniform when all weights are zero). */
    private static int drawProportional(double[] weight, SplittableRandom rng) {
        double total = 0;
        for (double w : weight) total += w;
        if (!(total > 0)) return rng.nextInt(weight.length);
        double target = rng.nextDouble() * total, cumulative = 0;
        int last = 0;
        for (int i = 0; i < weight.length; i++) {
            if (weight[i] <= 0) continue;
            cumulative += weight[i];
            last = i;
            if (target < cumulative) return i;
        }
        return last; // rounding left target at the very top: take the last row with weight
    }

    private static void costs(float[] p, int rows, int d, double[] centres, int experts, double[] cost) {
        double[] norms = new double[experts];
        for (int e = 0; e < experts; e++) {
            for (int j = 0; j < d; j++) norms[e] += centres[e * d + j] * centres[e * d + j];
        }
        Parallel.forRange(rows, Math.max(1, 32_768 / (d * experts)), (from, to) -> {
            for (int i = from; i < to; i++) {
                for (int e = 0; e < experts; e++) {
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += p[i * d + j] * centres[e * d + j];
                    cost[i * experts + e] = norms[e] - 2 * dot;
                }
            }
        });
    }

    private static void means(float[] p, int rows, int d, int[] expertOf, int experts, boolean unit,
                              double[] centres) {
        Arrays.fill(centres, 0);
        int[] count = new int[experts];
        for (int e : expertOf) count[e]++;
        // Split over dimensions so every sum runs over the rows in order: deterministic for any thread count.
        Parallel.forRange(d, Math.max(1, 32_768 / rows), (from, to) -> {
            for (int i = 0; i < rows; i++) {
                int e = expertOf[i];
                for (int j = from; j < to; j++) centres[e * d + j] += p[i * d + j];
            }
        });
        for (int e = 0; e < experts; e++) {
            double norm = 0;
            for (int j = 0; j < d; j++) {
                centres[e * d + j] /= count[e];
                norm += centres[e * d + j] * centres[e * d + j];
            }
            if (unit && norm > 0) {
                double scale = 1 / Math.sqrt(norm);
                for (int j = 0; j < d; j++) centres[e * d + j] *= scale;
            }
        }
    }
}
