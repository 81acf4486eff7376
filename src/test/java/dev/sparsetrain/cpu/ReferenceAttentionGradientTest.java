package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.fail;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Validates the oracle itself: the reference attention backward must match central finite
 * differences of the reference forward, for the scalar L = Σ out·R with a fixed random R, with
 * respect to every entry of q, k and v of a tiny grouped-query problem.
 */
class ReferenceAttentionGradientTest {
    private static final int BATCH = 2, SEQ_LEN = 5, HEADS = 4, KV_HEADS = 2, HEAD_DIM = 4;
    private static final double STEP = 1e-2;
    /**
     * The forward's outputs are floats, so L carries ~1e-7 of rounding, which the step turns into
     * ~1e-5 of noise; the step's truncation error is of the same order. 5e-4 of (|g| + rms g)
     * leaves a wide margin above both while any real gradient error is O(|g|).
     */
    private static final double TOLERANCE = 5e-4;

    private final Backend ref = new ReferenceBackend();

    @Test
    void backwardMatchesFiniteDifferencesOfForward() {
        long seed = 424242;
        var rnd = new SplittableRandom(seed);
        int rows = BATCH * SEQ_LEN;
        float[] q = uniform(rnd, rows * HEADS * HEAD_DIM), k = uniform(rnd, rows * KV_HEADS * HEAD_DIM);
        float[] v = uniform(rnd, rows * KV_HEADS * HEAD_DIM), weights = uniform(rnd, rows * HEADS * HEAD_DIM);

        Tensor tq = upload(q), tk = upload(k), tv = upload(v), dOut = upload(weights);
        Tensor out = ref.zeros(DType.F32, q.length), lse = ref.zeros(DType.F32, BATCH * HEADS * SEQ_LEN);
        ref.attentionForward(out, lse, tq, tk, tv, BATCH, SEQ_LEN, HEADS, KV_HEADS, HEAD_DIM);
        Tensor dq = poisoned(q.length), dk = poisoned(k.length), dv = poisoned(v.length);
        // dL/dout = R, so the backward of L is the backward with dOut = R.
        ref.attentionBackward(dq, dk, dv, dOut, tq, tk, tv, out, lse, BATCH, SEQ_LEN, HEADS, KV_HEADS, HEAD_DIM);

        checkAgainstFiniteDifferences("q", q, ref.toHost(dq), q, k, v, weights, seed);
        checkAgainstFiniteDifferences("k", k, ref.toHost(dk), q, k, v, weights, seed);
        checkAgainstFiniteDifferences("v", v, ref.toHost(dv), q, k, v, weights, seed);
    }

    /** Perturbs each entry of {@code x} (one of q, k, v) in place and compares (L⁺ − L⁻)/(h⁺ + h⁻) to the gradient. */
    private void checkAgainstFiniteDifferences(String name, float[] x, float[] gradient,
                                               float[] q, float[] k, float[] v, float[] weights, long seed) {
        double ss = 0;
        for (float g : gradient) ss += (double) g * g;
        double rms = Math.sqrt(ss / gradient.length);
        for (int j = 0; j < x.length; j++) {
            float original = x[j];
            // The perturbed entries are floats: use the steps actually taken, not the nominal one.
            float up = (float) (original + STEP), down = (float) (original - STEP);
            x[j] = up;
            double lossUp = loss(q, k, v, weights);
            x[j] = down;
            double lossDown = loss(q, k, v, weights);
            x[j] = original;
            double numeric = (lossUp - lossDown) / ((double) up - down);
            if (!(Math.abs(numeric - gradient[j]) <= TOLERANCE * (Math.abs(gradient[j]) + rms))) {
                fail("d" + name + "[" + j + "]: reference backward " + gradient[j] + ", finite difference " + numeric
                        + " (rms " + rms + ", seed " + seed + ")");
            }
        }
    }

    /** L = Σ out·weights with out from the reference forward, summed in double. */
    private double loss(float[] q, float[] k, float[] v, float[] weights) {
        Tensor out = ref.zeros(DType.F32, q.length), lse = ref.zeros(DType.F32, BATCH * HEADS * SEQ_LEN);
        ref.attentionForward(out, lse, upload(q), upload(k), upload(v), BATCH, SEQ_LEN, HEADS, KV_HEADS, HEAD_DIM);
        float[] o = ref.toHost(out);
        double sum = 0;
        for (int j = 0; j < o.length; j++) sum += (double) o[j] * weights[j];
        return sum;
    }

    private static float[] uniform(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int j = 0; j < n; j++) a[j] = (float) rnd.nextDouble(-1, 1);
        return a;
    }

    private Tensor upload(float[] data) {
        Tensor t = ref.zeros(DType.F32, data.length);
        ref.upload(t, data, 0);
        return t;
    }

    private Tensor poisoned(int n) {
        Tensor t = ref.zeros(DType.F32, n);
        ref.fill(t, Float.NaN);
        return t;
    }
}
