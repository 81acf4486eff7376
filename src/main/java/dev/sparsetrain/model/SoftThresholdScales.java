package dev.sparsetrain.model;

import dev.sparsetrain.sparse.SoftThreshold;

/**
 * Host-side S-STE helpers for whole FFN weights, with the groups of 4 along d: the rows of W1 [F,d],
 * and for W2 [d,F] the rows of its transpose (down W2's columns).
 */
final class SoftThresholdScales {
    private SoftThresholdScales() {}

    /** β = ⟨W, S(W)⟩/⟨S(W), S(W)⟩ of W1 [F,d]. */
    static float betaOfW1(float[] w1, int f, int d) {
        float[] s = new float[w1.length];
        SoftThreshold.apply(w1, f, d, 1f, s);
        return (float) SoftThreshold.beta(w1, s);
    }

    /** β of W2 [d,F], grouped along d. */
    static float betaOfW2(float[] w2, int d, int f) {
        return betaOfW1(transpose(w2, d, f), f, d);
    }

    /** β·S(W1). */
    static float[] scaledW1(float[] w1, int f, int d, float beta) {
        float[] out = new float[w1.length];
        SoftThreshold.apply(w1, f, d, beta, out);
        return out;
    }

    /** β·S(W2) grouped along d, back in W2's [d,F] layout. */
    static float[] scaledW2(float[] w2, int d, int f, float beta) {
        return transpose(scaledW1(transpose(w2, d, f), f, d, beta), f, d);
    }

    /** The transpose of a row-major rows×cols matrix. */
    static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
        }
        return t;
    }
}
