package dev.sparsetrain.model;

import static dev.sparsetrain.model.TestArrays.assertAllFinite;
import static dev.sparsetrain.model.TestArrays.assertClose;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.Backend;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SPEC §5: the sparse layer's backward equals central finite differences of the same layer built
 * from dense masked ops, with the routing and the activation mask of the forward held fixed and the
 * weights straight-through (the latent weight's gradient is the effective weight's).
 */
class SparseFfnGradientTest {
    private static final int LAYER = 1, TOKENS = 24, TRIALS = 4;
    private static final double EPS = 1e-3, REL_TOL = 1e-3, ABS_TOL = 1e-6;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("reference", 8, "nearest"), Arguments.of("reference", 16, "balanced"),
                Arguments.of("cpu", 8, "balanced"), Arguments.of("cpu", 16, "nearest"), Arguments.of("cpu", 4, "nearest"));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void backwardMatchesFiniteDifferencesOfTheDenseMaskedLayer(String device, int m, String router) {
        long seed = 0x5EED + m * 31L + router.length();
        Backend b = device.equals("cpu") ? new CpuBackend() : new ReferenceBackend();
        var h = new SparseFfnHarness(b, SparseFfnHarness.sparsity(m, 4, router, false), TOKENS, seed);
        h.poisonOutputs();
        h.ffn.forward(LAYER, h.out, h.x);
        h.ffn.backward(LAYER, h.dx, h.r, h.x);
        String at = device + ", M=" + m + ", " + router + ", seed " + seed;
        assertAllFinite(b.toHost(h.dx), "dx, " + at);

        int d = SparseFfnHarness.DIM, f = SparseFfnHarness.FFN_HIDDEN;
        var layer = new DenseMaskedLayer(h.ffn.tokenExperts(LAYER), h.ffn.activationsByToken(LAYER), d, f, m / 4,
                b.toHost(h.r));
        float[] x = b.toHost(h.x);
        float[] w1e = SoftThresholdScales.scaledW1(b.toHost(h.weight(LAYER, "w1")), f, d, h.ffn.beta1(LAYER));
        float[] w2e = SoftThresholdScales.scaledW2(b.toHost(h.weight(LAYER, "w2")), d, f, h.ffn.beta2(LAYER));
        assertClose(layer.output(x, w1e, w2e), b.toHost(h.out), 1e-5, "forward equals the dense masked layer, " + at);

        var rng = new SplittableRandom(seed);
        float[] dx = b.toHost(h.dx), dW1 = b.toHost(h.grad(LAYER, "w1")), dW2 = b.toHost(h.grad(LAYER, "w2"));
        for (int trial = 0; trial < TRIALS; trial++) {
            check(x, dx, v -> layer.loss(v, w1e, w2e), rng, "dX, trial " + trial + ", " + at);
            check(w1e, dW1, v -> layer.loss(x, v, w2e), rng, "dW1 (straight through), trial " + trial + ", " + at);
            check(w2e, dW2, v -> layer.loss(x, w1e, v), rng, "dW2 (straight through), trial " + trial + ", " + at);
        }
    }

    /**
     * Compares the analytic gradient with the central difference along a random 4-coordinate
     * direction; the analytic side uses the steps actually taken in float, so rounding of the
     * perturbed coordinates is no error.
     */
    private static void check(float[] at, float[] grad, ToDoubleFunction<float[]> loss, SplittableRandom rng, String what) {
        int[] coords = rng.ints(0, at.length).distinct().limit(4).toArray();
        float[] plus = at.clone(), minus = at.clone();
        for (int c : coords) {
            double dir = rng.nextGaussian();
            plus[c] = (float) (at[c] + EPS * dir);
            minus[c] = (float) (at[c] - EPS * dir);
        }
        double analytic = 0;
        for (int c : coords) analytic += grad[c] * ((double) plus[c] - minus[c]) / (2 * EPS);
        double numeric = (loss.applyAsDouble(plus) - loss.applyAsDouble(minus)) / (2 * EPS);
        double err = Math.abs(numeric - analytic);
        double tol = REL_TOL * Math.max(Math.abs(numeric), Math.abs(analytic)) + ABS_TOL;
        assertTrue(err <= tol, what + ": analytic " + analytic + " vs finite difference " + numeric + " (error " + err + " > " + tol + ")");
    }
}
