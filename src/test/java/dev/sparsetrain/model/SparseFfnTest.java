package dev.sparsetrain.model;

import static dev.sparsetrain.model.TestArrays.assertAllFinite;
import static dev.sparsetrain.model.TestArrays.assertClose;
import static dev.sparsetrain.model.TestArrays.maxAbs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.Backend;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Behaviour of the sparse FFN layer: token-order independence, accumulation, statistics, MVUE. */
class SparseFfnTest {
    private static final int LAYER = 1, TOKENS = 24, D = SparseFfnHarness.DIM;

    private static Backend backend(String device) { return device.equals("cpu") ? new CpuBackend() : new ReferenceBackend(); }

    @ParameterizedTest
    @CsvSource({"cpu, nearest", "cpu, balanced", "reference, nearest", "reference, balanced"})
    void permutingTokensChangesNeitherYNorDx(String device, String router) {
        long seed = 0x7E57 + router.length();
        Backend b = backend(device);
        var h = new SparseFfnHarness(b, SparseFfnHarness.sparsity(8, 4, router, false), TOKENS, seed);
        h.ffn.forward(LAYER, h.out, h.x);
        h.ffn.backward(LAYER, h.dx, h.r, h.x);
        float[] y = b.toHost(h.out), dx = b.toHost(h.dx);
        float[] dW1 = b.toHost(h.grad(LAYER, "w1")), dW2 = b.toHost(h.grad(LAYER, "w2"));

        int[] order = shuffled(new SplittableRandom(seed), TOKENS);
        b.upload(h.x, permuteRows(b.toHost(h.x), order), 0);
        b.upload(h.r, permuteRows(b.toHost(h.r), order), 0);
        b.fill(h.resources.grads(), 0);
        h.poisonOutputs();
        h.ffn.forward(LAYER, h.out, h.x);
        h.ffn.backward(LAYER, h.dx, h.r, h.x);
        String at = device + ", " + router + ", seed " + seed;
        assertArrayEquals(permuteRows(y, order), b.toHost(h.out), "Y follows its token, " + at);
        assertArrayEquals(permuteRows(dx, order), b.toHost(h.dx), "dX follows its token, " + at);
        // The weight gradients sum over tokens in another order: equal up to rounding.
        assertClose(dW1, b.toHost(h.grad(LAYER, "w1")), 1e-5, "dW1, " + at);
        assertClose(dW2, b.toHost(h.grad(LAYER, "w2")), 1e-5, "dW2, " + at);
    }

    @Test
    void backwardAddsWeightGradientsAndOverwritesDx() {
        long seed = 0xADD5;
        Backend b = new CpuBackend();
        var h = new SparseFfnHarness(b, SparseFfnHarness.sparsity(8, 4, "nearest", false), TOKENS, seed);
        h.ffn.forward(LAYER, h.out, h.x);
        h.ffn.backward(LAYER, h.dx, h.r, h.x);
        float[] dxOnce = b.toHost(h.dx), once = b.toHost(h.resources.grads());
        h.ffn.backward(LAYER, h.dx, h.r, h.x);
        assertArrayEquals(dxOnce, b.toHost(h.dx), "dx is overwritten, seed " + seed);
        float[] doubled = once.clone();
        for (int j = 0; j < doubled.length; j++) doubled[j] *= 2;
        assertTrue(maxAbs(once) > 0, "no weight gradient, seed " + seed);
        assertClose(doubled, b.toHost(h.resources.grads()), 1e-6, "weight gradients add up, seed " + seed);
    }

    @ParameterizedTest
    @CsvSource({"8, nearest", "16, balanced", "4, nearest"})
    void statisticsDescribeTheForward(int m, String router) {
        long seed = 0x57A7 + m;
        Backend b = new CpuBackend();
        var h = new SparseFfnHarness(b, SparseFfnHarness.sparsity(m, 4, router, false), TOKENS, seed);
        for (int l = 0; l < SparseFfnHarness.LAYERS; l++) h.ffn.forward(l, h.out, h.x);
        SparseStats s = h.ffn.stats();
        String at = "M=" + m + ", " + router + ", seed " + seed + ": " + s;
        assertTrue(s.densityAfterTwoFour() > 0 && s.densityAfterTwoFour() <= 2.0 / m, "density after 2:4 in (0, 2/M], " + at);
        assertTrue(s.densityAfterRelu2() >= s.densityAfterTwoFour() && s.densityAfterRelu2() <= 4.0 / m,
                "density after relu² between the 2:4 density and the expert's share 4/M, " + at);
        assertTrue(s.droppedMassFraction() > 0 && s.droppedMassFraction() < 1, "dropped mass, " + at);
        assertTrue(s.removedWeightMagnitude() > 0 && s.removedWeightMagnitude() < 1, "removed weight magnitude, " + at);
        double[] load = s.routerLoad();
        assertEquals(m / 4, load.length, at);
        assertEquals(1.0, Arrays.stream(load).sum(), 1e-12, "loads are fractions of the tokens, " + at);
        if (router.equals("balanced")) for (double l : load) assertEquals(1.0 / load.length, l, 1e-12, "balanced load, " + at);

        // The density after 2:4 counts exactly the non-zero activations the layer kept.
        long nonZero = 0;
        for (int l = 0; l < SparseFfnHarness.LAYERS; l++) for (float a : h.ffn.activationsByToken(l)) if (a != 0) nonZero++;
        assertEquals(s.densityAfterTwoFour(), nonZero / (double) (SparseFfnHarness.LAYERS * TOKENS * SparseFfnHarness.FFN_HIDDEN),
                1e-12, at);
    }

    @Test
    void mvueLeavesDxExactAndWeightGradientsUnbiased() {
        long seed = 0x3717E;
        int calls = 400;
        Backend b = new CpuBackend();
        var exact = new SparseFfnHarness(b, SparseFfnHarness.sparsity(8, 4, "balanced", false), TOKENS, seed);
        var sampled = new SparseFfnHarness(b, SparseFfnHarness.sparsity(8, 4, "balanced", true), TOKENS, seed);
        exact.ffn.forward(LAYER, exact.out, exact.x);
        exact.ffn.backward(LAYER, exact.dx, exact.r, exact.x);
        sampled.ffn.forward(LAYER, sampled.out, sampled.x);
        sampled.ffn.backward(LAYER, sampled.dx, sampled.r, sampled.x);
        assertArrayEquals(b.toHost(exact.dx), b.toHost(sampled.dx), "MVUE touches only the weight gradients, seed " + seed);
        float[] one = b.toHost(sampled.grad(LAYER, "w1"));
        for (int c = 1; c < calls; c++) sampled.ffn.backward(LAYER, sampled.dx, sampled.r, sampled.x);
        assertAllFinite(b.toHost(sampled.resources.grads()), "gradients, seed " + seed);
        for (String w : new String[] {"w1", "w2"}) {
            float[] want = b.toHost(exact.grad(LAYER, w)), mean = b.toHost(sampled.grad(LAYER, w));
            for (int j = 0; j < mean.length; j++) mean[j] /= calls;
            double err = relativeDistance(want, mean);
            assertTrue(err < 0.1, w + ": the mean of " + calls + " MVUE gradients is " + err + " away from the exact one, seed " + seed);
        }
        assertTrue(relativeDistance(b.toHost(exact.grad(LAYER, "w1")), one) > 0.05,
                "a single MVUE gradient should differ from the exact one, seed " + seed);
    }

    @Test
    void misuseFailsWithClearMessages() {
        Backend b = new CpuBackend();
        var e = assertThrows(IllegalArgumentException.class,
                () -> new SparseFfnHarness(b, SparseFfnHarness.sparsity(8, 2, "nearest", true), TOKENS, 1));
        assertTrue(e.getMessage().contains("sparsity.v must be a multiple of 4"), e.getMessage());
        var h = new SparseFfnHarness(b, SparseFfnHarness.sparsity(8, 4, "nearest", false), TOKENS, 2);
        var later = assertThrows(IllegalStateException.class, () -> h.ffn.backward(0, h.dx, h.r, h.x));
        assertTrue(later.getMessage().contains("forward"), later.getMessage());
    }

    private static double relativeDistance(float[] want, float[] got) {
        double num = 0, den = 0;
        for (int j = 0; j < want.length; j++) {
            num += (double) (got[j] - want[j]) * (got[j] - want[j]);
            den += (double) want[j] * want[j];
        }
        return Math.sqrt(num / den);
    }

    private static int[] shuffled(SplittableRandom rng, int n) {
        int[] p = new int[n];
        for (int j = 0; j < n; j++) p[j] = j;
        for (int j = n - 1; j > 0; j--) {
            int k = rng.nextInt(j + 1), t = p[j];
            p[j] = p[k];
            p[k] = t;
        }
        return p;
    }

    /** Row i of the result is row order[i] of m ([n, D]). */
    private static float[] permuteRows(float[] m, int[] order) {
        float[] out = new float[m.length];
        for (int i = 0; i < order.length; i++) System.arraycopy(m, order[i] * D, out, i * D, D);
        return out;
    }
}
