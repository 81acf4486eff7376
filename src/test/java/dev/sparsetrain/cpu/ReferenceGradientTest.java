package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.sparsetrain.tensor.Tensor;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;

/**
 * Validates the oracle itself: every backward of {@link ReferenceBackend} against central finite
 * differences of its own forward, on small random inputs. Each check uses the scalar loss
 * L = Σ r·out with a fixed random r, whose gradient with respect to out is r. The forwards round
 * their outputs to float, so differences use steps of 1e-2 and a tolerance of 1e-4 (the observed
 * error is ~5e-6); a wrong formula is off by far more.
 */
class ReferenceGradientTest {
    private static final long SEED = 0x5EED_FD00L;
    private static final double STEP = 1e-2;
    private static final double TOL = 1e-4;

    private final ReferenceBackend ref = new ReferenceBackend();

    @Test
    void rmsNormBackwardIsTheGradientOfForward() {
        var data = new CpuOpsTestData(SEED);
        int rows = 3, d = 7;
        float eps = 1e-5f;
        Tensor x = data.gaussian(3, rows, d), weight = data.gaussian(1, d), r = data.gaussian(1, rows, d);
        Tensor out = data.poisoned(rows, d), rstd = data.poisoned(rows);
        DoubleSupplier loss = () -> {
            ref.rmsNormForward(out, rstd, x, weight, eps);
            return dot(out, r);
        };
        loss.getAsDouble();
        Tensor dx = data.gaussian(1, rows, d), dWeight = data.gaussian(1, d);
        float[] dxBefore = CpuOpsTestData.host(dx), dWeightBefore = CpuOpsTestData.host(dWeight);
        ref.rmsNormBackward(dx, dWeight, r, x, weight, rstd);
        assertGradient(data, x, difference(CpuOpsTestData.host(dx), dxBefore), loss, STEP, TOL, "rmsNorm dx");
        assertGradient(data, weight, difference(CpuOpsTestData.host(dWeight), dWeightBefore), loss, STEP, TOL, "rmsNorm dWeight");
    }

    @Test
    void ropeBackwardIsTheTransposeOfForward() {
        var data = new CpuOpsTestData(SEED + 1);
        int seqLen = 5, batch = 2, nHeads = 2, headDim = 6;
        float theta = 10_000f;
        Tensor x = data.gaussian(1, batch * seqLen, nHeads * headDim), y = data.gaussian(1, batch * seqLen, nHeads * headDim);
        Tensor rotatedX = data.copy(x), rotatedBackY = data.copy(y);
        ref.ropeForward(rotatedX, seqLen, nHeads, headDim, theta);
        ref.ropeBackward(rotatedBackY, seqLen, nHeads, headDim, theta);
        double magnitude = 0;
        for (float v : CpuOpsTestData.host(x)) magnitude += v * v;
        assertEquals(dot(rotatedX, y), dot(x, rotatedBackY), 1e-6 * magnitude, "<ropeF(x), y> vs <x, ropeB(y)> [seed " + data.seed + "]");
    }

    @Test
    void ropeRotatesHalvesByPositionTimesFrequency() {
        var data = new CpuOpsTestData(SEED + 2);
        // headDim 4, theta 100: frequencies 100^0 = 1 and 100^(-2/4) = 0.1. Row 2 is position 2.
        Tensor x = data.gaussian(1, 3, 4);
        ref.upload(x, new float[] {5, 6, 7, 8, 0, 0, 0, 0, 1, 2, 3, 4}, 0);
        ref.ropeForward(x, 4, 1, 4, 100f);
        double c2 = Math.cos(2), s2 = Math.sin(2), c02 = Math.cos(0.2), s02 = Math.sin(0.2);
        float[] expected = {5, 6, 7, 8, 0, 0, 0, 0,
                (float) (1 * c2 - 3 * s2), (float) (2 * c02 - 4 * s02), (float) (3 * c2 + 1 * s2), (float) (4 * c02 + 2 * s02)};
        float[] actual = CpuOpsTestData.host(x);
        for (int j = 0; j < expected.length; j++) assertEquals(expected[j], actual[j], 1e-6, "rope element " + j);
    }

    @Test
    void relu2BackwardIsTheGradientOfForward() {
        var data = new CpuOpsTestData(SEED + 3);
        int n = 24;
        Tensor z = awayFromZero(data, n), r = data.gaussian(1, n), a = data.poisoned(n);
        DoubleSupplier loss = () -> {
            ref.relu2Forward(a, z);
            return dot(a, r);
        };
        Tensor dz = data.poisoned(n);
        ref.relu2Backward(dz, r, z);
        assertGradient(data, z, toDouble(CpuOpsTestData.host(dz)), loss, STEP, TOL, "relu2 dz");
    }

    @Test
    void swigluBackwardIsTheGradientOfForward() {
        var data = new CpuOpsTestData(SEED + 4);
        int n = 24;
        Tensor gate = data.gaussian(3, n), up = data.gaussian(1, n), r = data.gaussian(1, n), h = data.poisoned(n);
        DoubleSupplier loss = () -> {
            ref.swigluForward(h, gate, up);
            return dot(h, r);
        };
        Tensor dGate = data.poisoned(n), dUp = data.poisoned(n);
        ref.swigluBackward(dGate, dUp, r, gate, up);
        assertGradient(data, gate, toDouble(CpuOpsTestData.host(dGate)), loss, STEP, TOL, "swiglu dGate");
        assertGradient(data, up, toDouble(CpuOpsTestData.host(dUp)), loss, STEP, TOL, "swiglu dUp");
    }

    @Test
    void crossEntropyGradientIsTheGradientOfScaledLossSum() {
        var data = new CpuOpsTestData(SEED + 5);
        int rows = 4, vocab = 9;
        float gradScale = 0.25f;
        Tensor logits = data.gaussian(2, rows, vocab), targets = data.ints(3, -1, 8, 0);
        // The losses are computed in double from the float logits, so this difference is exact to ~1e-10.
        DoubleSupplier loss = () -> gradScale * ref.crossEntropy(data.copy(logits), targets, data.poisoned(rows), 1f);
        Tensor dLogits = data.copy(logits);
        ref.crossEntropy(dLogits, targets, data.poisoned(rows), gradScale);
        assertGradient(data, logits, toDouble(CpuOpsTestData.host(dLogits)), loss, 1e-3, 1e-5, "crossEntropy dlogits");
    }

    @Test
    void embeddingBackwardIsTheGradientOfForward() {
        var data = new CpuOpsTestData(SEED + 6);
        int vocab = 5, d = 3, count = 8;
        Tensor tokens = data.ints(4, 1, 1, 0, 4, 2, 1, 4), table = data.gaussian(1, vocab, d), r = data.gaussian(1, count, d);
        Tensor out = data.poisoned(count, d);
        DoubleSupplier loss = () -> {
            ref.embeddingForward(out, tokens, table);
            return dot(out, r);
        };
        Tensor dTable = data.gaussian(1, vocab, d);
        float[] before = CpuOpsTestData.host(dTable);
        ref.embeddingBackward(dTable, tokens, r);
        assertGradient(data, table, difference(CpuOpsTestData.host(dTable), before), loss, STEP, 1e-5, "embedding dTable");
    }

    @Test
    void adamwMatchesTwoHandComputedSteps() {
        // lr 0.5, β1 0.5, β2 0.75, eps 0.25, weight decay 0.5 (decay factor 1 − 0.25 = 0.75), gradScale 2.
        // Element 0: p = 1, raw grads 0.5 then 0.25.
        //   step 1: g = 1, m = 0.5, v = 0.25; m̂ = 0.5/0.5 = 1, v̂ = 0.25/0.25 = 1; p = 0.75 − 0.5·1/(1 + 0.25) = 0.35
        //   step 2: g = 0.5, m = 0.25 + 0.25 = 0.5, v = 0.1875 + 0.0625 = 0.25; m̂ = 0.5/0.75 = 2/3,
        //           v̂ = 0.25/0.4375 = 4/7; p = 0.35·0.75 − 0.5·(2/3)/(√(4/7) + 0.25)
        // Element 1: p = −2, raw grads −1 then 1.5.
        //   step 1: g = −2, m = −1, v = 1; m̂ = −2, v̂ = 4; p = −1.5 − 0.5·(−2)/(2 + 0.25) = −19/18
        //   step 2: g = 3, m = −0.5 + 1.5 = 1, v = 0.75 + 2.25 = 3; m̂ = 4/3, v̂ = 3/0.4375 = 48/7;
        //           p = (−19/18)·0.75 − 0.5·(4/3)/(√(48/7) + 0.25)
        var data = new CpuOpsTestData(SEED + 7);
        Tensor p = data.gaussian(1, 2), m = data.gaussian(1, 2), v = data.gaussian(1, 2), g = data.gaussian(1, 2);
        ref.upload(p, new float[] {1, -2}, 0);
        ref.fill(m, 0);
        ref.fill(v, 0);
        ref.upload(g, new float[] {0.5f, -1}, 0);
        ref.adamw(p, g, m, v, 0.5f, 0.5f, 0.75f, 0.25f, 0.5f, 1, 2f);
        assertClose(new double[] {0.35, -19.0 / 18}, p, "param after step 1");
        assertClose(new double[] {0.5, -1}, m, "m after step 1");
        assertClose(new double[] {0.25, 1}, v, "v after step 1");
        ref.upload(g, new float[] {0.25f, 1.5f}, 0);
        ref.adamw(p, g, m, v, 0.5f, 0.5f, 0.75f, 0.25f, 0.5f, 2, 2f);
        assertClose(new double[] {0.35 * 0.75 - 0.5 * (2.0 / 3) / (Math.sqrt(4.0 / 7) + 0.25),
                (-19.0 / 18) * 0.75 - 0.5 * (4.0 / 3) / (Math.sqrt(48.0 / 7) + 0.25)}, p, "param after step 2");
        assertClose(new double[] {0.5, 1}, m, "m after step 2");
        assertClose(new double[] {0.25, 3}, v, "v after step 2");
    }

    /**
     * Compares analytic[j] with the central difference of {@code loss} in each element of {@code t},
     * within tol·(|analytic| + rms(analytic)).
     */
    private static void assertGradient(CpuOpsTestData data, Tensor t, double[] analytic, DoubleSupplier loss,
                                       double step, double tol, String what) {
        float[] a = HeapStorage.f(t);
        double sq = 0;
        for (double g : analytic) sq += g * g;
        double rms = Math.sqrt(sq / analytic.length);
        for (int j = 0; j < analytic.length; j++) {
            int at = HeapStorage.off(t) + j;
            float x0 = a[at], up = (float) (x0 + step), down = (float) (x0 - step);
            a[at] = up;
            double lossUp = loss.getAsDouble();
            a[at] = down;
            double lossDown = loss.getAsDouble();
            a[at] = x0;
            double numeric = (lossUp - lossDown) / ((double) up - down);
            if (!(Math.abs(numeric - analytic[j]) <= tol * (Math.abs(analytic[j]) + rms))) {
                fail(what + " [seed " + data.seed + "]: element " + j + " analytic " + analytic[j] + ", finite difference " + numeric);
            }
        }
    }

    /** Values at least 0.2 from zero, so a ±1e-2 step never crosses relu's kink. */
    private static Tensor awayFromZero(CpuOpsTestData data, int n) {
        Tensor z = data.gaussian(1, n);
        float[] a = HeapStorage.f(z);
        for (int j = 0; j < n; j++) a[HeapStorage.off(z) + j] += Math.copySign(0.2f, a[HeapStorage.off(z) + j]);
        return z;
    }

    private static double dot(Tensor a, Tensor b) {
        float[] x = CpuOpsTestData.host(a), y = CpuOpsTestData.host(b);
        double s = 0;
        for (int j = 0; j < x.length; j++) s += (double) x[j] * y[j];
        return s;
    }

    private static double[] difference(float[] after, float[] before) {
        double[] d = new double[after.length];
        for (int j = 0; j < d.length; j++) d[j] = (double) after[j] - before[j];
        return d;
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int j = 0; j < d.length; j++) d[j] = a[j];
        return d;
    }

    private static void assertClose(double[] expected, Tensor actual, String what) {
        float[] a = CpuOpsTestData.host(actual);
        for (int j = 0; j < expected.length; j++) assertEquals(expected[j], a[j], 1e-6 * Math.abs(expected[j]) + 1e-7, what + " element " + j);
    }
}
