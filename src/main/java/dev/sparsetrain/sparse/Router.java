package dev.sparsetrain.sparse;

import dev.sparsetrain.cpu.Parallel;

/**
 * The neuron-expert router (SPEC §3.2). A token's score for expert e is
 * {@code −2·x·c_e + ‖c_e‖²}, its squared distance to the centre minus ‖x‖², so lower is closer.
 * No gradient flows through it.
 */
public final class Router {
    private Router() {}

    /** How tokens are assigned to experts. */
    public enum Mode {
        /** Each token to its lowest-score expert, ties to the lower expert (the paper's rule). */
        NEAREST,
        /**
         * Fixed counts: expert e receives ⌊T/E⌋ tokens, plus one for the first T mod E experts. Within
         * those counts the total score (distance) is minimised, i.e. the SPEC's total affinity
         * maximised, by {@link BalancedAssignment}: exact for E = 2 (sort tokens by score difference
         * and split), regret greedy for E > 2. Ties go to the lower token index.
         */
        BALANCED
    }

    /**
     * {@code out[t·E + e] = −2·x_t·c_e + ‖c_e‖²} for x [tokens, d] and centres [experts, d]
     * (double accumulation, rounded to float as a device GEMM epilogue would store it).
     */
    public static void scores(float[] x, int tokens, int d, float[] centres, int experts, float[] out) {
        int n = Checks.elements(tokens, d);
        Checks.positive(experts, "experts");
        Checks.length(x, n, "x");
        Checks.length(centres, (long) experts * d, "centres");
        Checks.length(out, (long) tokens * experts, "out");
        double[] norms = new double[experts];
        for (int e = 0; e < experts; e++) {
            for (int j = 0; j < d; j++) norms[e] += (double) centres[e * d + j] * centres[e * d + j];
        }
        Parallel.forRange(tokens, Math.max(1, 32_768 / (d * experts)), (from, to) -> {
            for (int t = from; t < to; t++) {
                for (int e = 0; e < experts; e++) {
                    double dot = 0;
                    for (int j = 0; j < d; j++) dot += (double) x[t * d + j] * centres[e * d + j];
                    out[t * experts + e] = (float) (norms[e] - 2 * dot);
                }
            }
        });
    }

    /** Routes tokens by their scores [tokens, experts] and pads every expert to a multiple of blockRows. */
    public static Routing route(float[] scores, int tokens, int experts, Mode mode, int blockRows) {
        Checks.positive(tokens, "tokens");
        Checks.positive(experts, "experts");
        Checks.length(scores, (long) tokens * experts, "scores");
        int[] expertOf = switch (mode) {
            case NEAREST -> nearest(scores, tokens, experts);
            case BALANCED -> {
                double[] cost = new double[scores.length];
                for (int i = 0; i < cost.length; i++) cost[i] = scores[i];
                yield BalancedAssignment.assign(cost, tokens, experts,
                        BalancedAssignment.evenCapacities(tokens, experts));
            }
        };
        return Routing.of(expertOf, experts, blockRows);
    }

    private static int[] nearest(float[] scores, int tokens, int experts) {
        int[] expertOf = new int[tokens];
        for (int t = 0; t < tokens; t++) {
            int best = 0;
            for (int e = 1; e < experts; e++) {
                if (scores[t * experts + e] < scores[t * experts + best]) best = e;
            }
            expertOf[t] = best;
        }
        return expertOf;
    }
}
