package dev.sparsetrain.sparse;

import dev.sparsetrain.cpu.Parallel;

/**
 * Minimum-variance unbiased 2:4 sparsification (SPEC §3.5), an option for the weight-gradient GEMMs.
 * Per group of 4 consecutive values x along a row: {@code a_i = |x_i| + 1.19209e-7}, {@code S = Σa},
 * {@code t_i = a_i/S}. The first index is drawn with probability t_i, the second among the other
 * three with probability ∝ a_j. Both are kept as {@code x_i / p_i} with the inclusion probability
 * {@code p_i = t_i + a_i·(k − k_i)}, {@code k_i = t_i/(S − a_i)}, {@code k = Σk_i} (so Σp = 2 and
 * E[out] = x); the other two become 0.
 *
 * <p>Randomness: group g (counted over the whole row-major matrix) uses draws 2g and 2g+1 of
 * {@link CounterRng} for the seed, so the result depends only on (x, seed). Arithmetic is in double.
 */
public final class Mvue {
    /** Added to every |x_i| so an all-zero group still has a distribution (float32 epsilon). */
    public static final double EPSILON = 1.19209e-7;

    private Mvue() {}

    /** The inclusion probabilities p_i of the group {@code x[offset .. offset+3]}. */
    public static double[] inclusionProbabilities(float[] x, int offset) {
        double[] p = new double[4];
        probabilities(x, offset, new double[4], p);
        return p;
    }

    /** Sparsifies every group of a row-major rows×cols x into out; cols must be a multiple of 4. */
    public static void apply(float[] x, int rows, int cols, long seed, float[] out) {
        int n = Checks.elements(rows, cols);
        Checks.multipleOf(cols, 4, "cols (MVUE groups of 4 run along a row)");
        Checks.length(x, n, "x");
        Checks.length(out, n, "out");
        Checks.distinct(out, x, "out", "x");
        Parallel.forRange(rows, Checks.rowGrain(cols), (from, to) -> {
            double[] a = new double[4], p = new double[4];
            for (int base = from * cols, end = to * cols; base < end; base += 4) {
                double sum = probabilities(x, base, a, p);
                long group = base >> 2;
                int first = draw(a, -1, CounterRng.uniform(seed, 2 * group) * sum);
                int second = draw(a, first, CounterRng.uniform(seed, 2 * group + 1) * (sum - a[first]));
                for (int i = 0; i < 4; i++) {
                    out[base + i] = i == first || i == second ? (float) (x[base + i] / p[i]) : 0f;
                }
            }
        });
    }

    /** Fills a with the shifted magnitudes and p with the inclusion probabilities; returns S. */
    private static double probabilities(float[] x, int offset, double[] a, double[] p) {
        double sum = 0;
        for (int i = 0; i < 4; i++) {
            a[i] = Math.abs(x[offset + i]) + EPSILON;
            sum += a[i];
        }
        double k = 0;
        for (int i = 0; i < 4; i++) k += ki(a, i, sum);
        for (int i = 0; i < 4; i++) p[i] = a[i] / sum + a[i] * (k - ki(a, i, sum));
        return sum;
    }

    /** k_i = t_i / (S − a_i), so P(j drawn first, then i) = t_j·a_i/(S − a_j) = a_i·k_j. */
    private static double ki(double[] a, int i, double sum) {
        return a[i] / sum / (sum - a[i]);
    }

    /** The first index (other than {@code skip}) whose cumulative weight exceeds target. */
    private static int draw(double[] a, int skip, double target) {
        double cumulative = 0;
        int last = -1;
        for (int i = 0; i < 4; i++) {
            if (i == skip) continue;
            cumulative += a[i];
            last = i;
            if (target < cumulative) return i;
        }
        return last; // rounding put target at the very top: the last candidate
    }
}
