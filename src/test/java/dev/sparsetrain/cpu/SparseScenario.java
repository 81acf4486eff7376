package dev.sparsetrain.cpu;

import dev.sparsetrain.sparse.Routing;
import java.util.SplittableRandom;

/**
 * Random inputs for the sparse kernels of one layer: latent weights, tokens routed to experts with
 * given counts (shuffled), padded to multiples of V, and an upstream gradient. Host arrays only.
 */
final class SparseScenario {
    final long seed;
    final int d, neurons, experts, tokens;
    final float beta1, beta2;
    final float[] x, w1, w2, dOut, dW1Start, dW2Start;
    final Routing routing;

    SparseScenario(long seed, int d, int neurons, int experts, int[] counts, int blockRows) {
        this.seed = seed;
        this.d = d;
        this.neurons = neurons;
        this.experts = experts;
        var rng = new SplittableRandom(seed);
        int t = 0;
        for (int c : counts) t += c;
        this.tokens = t;
        int[] expertOf = new int[t];
        for (int e = 0, j = 0; e < experts; e++) for (int c = 0; c < counts[e]; c++) expertOf[j++] = e;
        for (int j = t - 1; j > 0; j--) {
            int k = rng.nextInt(j + 1), tmp = expertOf[j];
            expertOf[j] = expertOf[k];
            expertOf[k] = tmp;
        }
        routing = Routing.of(expertOf, experts, blockRows);
        x = gaussian(rng, t * d, 1);
        w1 = gaussian(rng, neurons * d, 1 / Math.sqrt(d));
        w2 = gaussian(rng, d * neurons, 1 / Math.sqrt(neurons));
        dOut = gaussian(rng, t * d, 1);
        dW1Start = gaussian(rng, neurons * d, 0.1);
        dW2Start = gaussian(rng, d * neurons, 0.1);
        beta1 = 1.1f + (float) rng.nextDouble();
        beta2 = 1.1f + (float) rng.nextDouble();
    }

    int rows() { return routing.paddedRows(); }

    int[] rowOffsets() {
        int[] o = new int[experts + 1];
        for (int e = 0; e <= experts; e++) o[e] = routing.offset(e);
        return o;
    }

    /** Token-ordered rows m [T, d] in routed order [P, d], zero rows for padding. */
    float[] routed(float[] m) {
        int[] perm = routing.perm();
        float[] out = new float[perm.length * d];
        for (int r = 0; r < perm.length; r++) if (perm[r] >= 0) System.arraycopy(m, perm[r] * d, out, r * d, d);
        return out;
    }

    /** Whether every expert's padded row count is a multiple of 4, as MVUE needs. */
    boolean mvueApplies() {
        for (int e = 0; e < experts; e++) if (routing.paddedCount(e) % 4 != 0) return false;
        return true;
    }

    @Override
    public String toString() {
        return "d=" + d + " F=" + neurons + " E=" + experts + " T=" + tokens + " P=" + rows() + " seed=" + seed;
    }

    static float[] gaussian(SplittableRandom rng, int n, double std) {
        float[] a = new float[n];
        for (int j = 0; j < n; j++) a[j] = (float) (rng.nextGaussian() * std);
        return a;
    }
}
