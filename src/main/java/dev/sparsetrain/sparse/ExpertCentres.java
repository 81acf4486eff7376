package dev.sparsetrain.sparse;

import dev.sparsetrain.cpu.Parallel;
import java.util.Arrays;

/**
 * The router's expert centres (SPEC §3.2): with neurons stored expert-contiguous, c_e is the mean of
 * W1's rows [e·F/E, (e+1)·F/E). Refreshed every sparse step from the current W1.
 */
public final class ExpertCentres {
    private ExpertCentres() {}

    /** Writes {@code out[e,:]} = mean of expert e's W1 rows (double accumulation); W1 is [neurons, d]. */
    public static void compute(float[] w1, int neurons, int d, int experts, float[] out) {
        int n = Checks.elements(neurons, d);
        Checks.positive(experts, "experts");
        Checks.multipleOf(neurons, experts, "neurons (experts own equal slices)");
        Checks.length(w1, n, "w1");
        Checks.length(out, (long) experts * d, "out");
        int per = neurons / experts;
        Parallel.forRange(d, Math.max(1, 32_768 / neurons), (from, to) -> {
            double[] sum = new double[to - from];
            for (int e = 0; e < experts; e++) {
                Arrays.fill(sum, 0);
                for (int i = e * per; i < (e + 1) * per; i++) {
                    for (int j = from; j < to; j++) sum[j - from] += w1[i * d + j];
                }
                for (int j = from; j < to; j++) out[e * d + j] = (float) (sum[j - from] / per);
            }
        });
    }
}
