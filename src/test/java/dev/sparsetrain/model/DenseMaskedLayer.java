package dev.sparsetrain.model;

/**
 * The sparse FFN layer rebuilt from dense operations in double, with its routing and activation
 * mask frozen: y_t = W2e · (mask_t ⊙ relu(W1e·x_t)²) over the neurons of token t's expert. The
 * oracle for the sparse backward (its derivatives are what the sparse kernels must produce).
 */
final class DenseMaskedLayer {
    private final int[] expertOf;
    private final boolean[] mask;
    private final int d, f, per;
    private final float[] r;

    /**
     * @param activations A [T, F] of the forward in token order (the mask is A ≠ 0)
     * @param r           the upstream gradient R [T, d] defining loss = Σ y ⊙ R
     */
    DenseMaskedLayer(int[] expertOf, float[] activations, int d, int f, int experts, float[] r) {
        this.expertOf = expertOf.clone();
        this.mask = new boolean[activations.length];
        for (int j = 0; j < mask.length; j++) mask[j] = activations[j] != 0;
        this.d = d;
        this.f = f;
        this.per = f / experts;
        this.r = r.clone();
    }

    /** y [T, d] for x [T, d], W1e [F, d], W2e [d, F]. */
    float[] output(float[] x, float[] w1e, float[] w2e) {
        int tokens = expertOf.length;
        float[] y = new float[tokens * d];
        for (int t = 0; t < tokens; t++) {
            double[] row = row(t, x, w1e, w2e);
            for (int k = 0; k < d; k++) y[t * d + k] = (float) row[k];
        }
        return y;
    }

    /** Σ y ⊙ R in double. */
    double loss(float[] x, float[] w1e, float[] w2e) {
        double s = 0;
        for (int t = 0; t < expertOf.length; t++) {
            double[] row = row(t, x, w1e, w2e);
            for (int k = 0; k < d; k++) s += row[k] * r[t * d + k];
        }
        return s;
    }

    private double[] row(int t, float[] x, float[] w1e, float[] w2e) {
        double[] y = new double[d];
        for (int n = expertOf[t] * per; n < (expertOf[t] + 1) * per; n++) {
            if (!mask[t * f + n]) continue;
            double z = 0;
            for (int k = 0; k < d; k++) z += (double) w1e[n * d + k] * x[t * d + k];
            double a = Math.max(z, 0) * Math.max(z, 0);
            for (int k = 0; k < d; k++) y[k] += a * w2e[k * f + n];
        }
        return y;
    }
}
