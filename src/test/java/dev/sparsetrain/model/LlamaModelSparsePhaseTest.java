package dev.sparsetrain.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonParser;
import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.config.SparsityConfig;
import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.sparse.TwoFour;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The FFN phases on the whole model: function-preserving permutation, moments, state save/restore, dense finish. */
class LlamaModelSparsePhaseTest {
    private static final int N = TinyModels.ROWS * TinyModels.SEQ_LEN, F = TinyModels.FFN_HIDDEN, D = TinyModels.DIM;

    private static SparsityConfig cfg(int m, boolean mvue, String finish) {
        return new SparsityConfig(true, 0.2, 0.8, m, 4, "nearest", "l2", 5, 0, mvue, finish);
    }

    private static LlamaModel model(Backend b, long seed) {
        return new LlamaModel(b, TinyModels.config(FfnKind.RELU2, 1, 0.3f), TinyModels.ROWS).initialize(seed);
    }

    private static Backend backend(String device) { return device.equals("cpu") ? new CpuBackend() : new ReferenceBackend(); }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "reference"})
    void theExpertContiguousPermutationLeavesTheDenseModelUnchanged(String device) {
        long seed = 0xD0D0;
        Backend b = backend(device);
        var rng = new SplittableRandom(seed);
        int[] tokens = TinyModels.randomTokens(rng, N, TinyModels.VOCAB), targets = TinyModels.randomTokens(rng, N, TinyModels.VOCAB);
        try (var m = model(b, seed)) {
            double before = m.evaluate(tokens, targets);
            float[] w1Before = b.toHost(w(m, 0, "w1"));
            m.enterSparsePhase(cfg(8, false, "latent"), seed, List.of());
            assertNotEquals(java.util.Arrays.toString(w1Before), java.util.Arrays.toString(b.toHost(w(m, 0, "w1"))),
                    "the clustering should move some neurons, seed " + seed);
            m.enterDensePhase(cfg(8, false, "latent"));
            assertEquals(SparseState.Phase.DENSE_FINISH, m.ffnPhase());
            // Not bit for bit: the permuted neurons are summed in another order by the W2 GEMM.
            assertEquals(before, m.evaluate(tokens, targets), 1e-5 * Math.abs(before), "dense loss, " + device + ", seed " + seed);
        }
    }

    @Test
    void enterSparsePhasePermutesParametersGradientsAndMomentsAlike() {
        long seed = 0x3033;
        Backend b = new CpuBackend();
        try (var m = model(b, seed)) {
            var rng = new SplittableRandom(seed);
            int total = (int) m.layout().totalElements();
            Tensor moment1 = b.zeros(DType.F32, total), moment2 = b.zeros(DType.F32, total);
            b.upload(moment1, TinyModels.gaussian(rng, total), 0);
            b.upload(moment2, TinyModels.gaussian(rng, total), 0);
            b.upload(m.gradients(), TinyModels.gaussian(rng, total), 0);
            List<Tensor> buffers = List.of(m.parameters(), m.gradients(), moment1, moment2);
            List<float[]> before = buffers.stream().map(b::toHost).toList();

            m.enterSparsePhase(cfg(8, false, "latent"), seed, List.of(moment1, moment2));
            SparseState state = m.sparseState();
            for (int i = 0; i < buffers.size(); i++) {
                float[] expected = before.get(i).clone();
                for (int l = 0; l < TinyModels.LAYERS; l++) {
                    int[] p = state.layers().get(l).permutation();
                    int w1 = offset(m, l, "w1"), w2 = offset(m, l, "w2");
                    for (int q = 0; q < F; q++) {
                        System.arraycopy(before.get(i), w1 + p[q] * D, expected, w1 + q * D, D);
                        for (int k = 0; k < D; k++) expected[w2 + k * F + q] = before.get(i)[w2 + k * F + p[q]];
                    }
                }
                assertArrayEquals(expected, b.toHost(buffers.get(i)), "buffer " + i + " (params, grads, m, v), seed " + seed);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"cpu, false", "cpu, true", "reference, true"})
    void aRestoredStateReproducesLossAndGradientsBitForBit(String device, boolean mvue) {
        long seed = 0x5A7E + (mvue ? 1 : 0);
        Backend b = backend(device);
        var rng = new SplittableRandom(seed);
        int[] tokens = TinyModels.randomTokens(rng, N, TinyModels.VOCAB), targets = TinyModels.randomTokens(rng, N, TinyModels.VOCAB);
        SparsityConfig c = cfg(8, mvue, "latent");
        try (var original = model(b, seed); var resumed = model(b, seed + 99)) {
            original.enterSparsePhase(c, seed, List.of());
            original.zeroGradients();
            original.trainStep(tokens, targets, 1f);
            SparseState saved = SparseState.fromJson(JsonParser.parseString(original.sparseState().toJson().toString()));
            assertEquals(original.sparseState(), saved, "JSON round trip, seed " + seed);
            float[] params = b.toHost(original.parameters());

            original.zeroGradients();
            double expected = original.trainStep(tokens, targets, 1f);
            b.upload(resumed.parameters(), params, 0);
            resumed.restoreSparseState(saved, c);
            resumed.zeroGradients();
            double got = resumed.trainStep(tokens, targets, 1f);
            String at = device + ", mvue " + mvue + ", seed " + seed;
            assertEquals(expected, got, "loss after restore, " + at);
            assertArrayEquals(b.toHost(original.gradients()), b.toHost(resumed.gradients()), "gradients after restore, " + at);
            assertEquals(original.sparseState(), resumed.sparseState(), "state after one more step, " + at);
        }
    }

    @Test
    void denseFinishFromScaledWeightsWritesTwoFourWeights() {
        long seed = 0xF1A1;
        Backend b = new CpuBackend();
        try (var m = model(b, seed)) {
            var rng = new SplittableRandom(seed);
            int[] tokens = TinyModels.randomTokens(rng, N, TinyModels.VOCAB), targets = TinyModels.randomTokens(rng, N, TinyModels.VOCAB);
            m.enterSparsePhase(cfg(8, false, "scaled"), seed, List.of());
            double sparseLoss = m.evaluate(tokens, targets);
            m.enterDensePhase(cfg(8, false, "scaled"));
            for (int l = 0; l < TinyModels.LAYERS; l++) {
                assertTrue(TwoFour.isTwoFour(b.toHost(w(m, l, "w1")), F, D), "W1 of layer " + l + " is β·S(W1), seed " + seed);
                float[] w2t = SoftThresholdScales.transpose(b.toHost(w(m, l, "w2")), D, F);
                assertTrue(TwoFour.isTwoFour(w2t, F, D), "W2 of layer " + l + " is 2:4 along d, seed " + seed);
            }
            assertNotEquals(sparseLoss, m.evaluate(tokens, targets), "the dense finish drops the router and masks, seed " + seed);
            SparseState state = m.sparseState();
            assertEquals(SparseState.Phase.DENSE_FINISH, state.phase());
            try (var other = model(b, seed + 1)) {
                other.restoreSparseState(state, cfg(8, false, "scaled"));
                assertEquals(SparseState.Phase.DENSE_FINISH, other.ffnPhase());
                assertEquals(state, other.sparseState(), "a dense-finish state round trips, seed " + seed);
            }
        }
    }

    @Test
    void reclusteringComposesThePermutationAndKeepsTheScales() {
        long seed = 0xC1C1;
        Backend b = new ReferenceBackend();
        try (var m = model(b, seed)) {
            float[] w1 = b.toHost(w(m, 1, "w1"));
            m.enterSparsePhase(cfg(16, false, "latent"), seed, List.of());
            SparseState first = m.sparseState();
            m.recluster(cfg(16, false, "latent"), seed + 7, List.of());
            SparseState second = m.sparseState();
            int[] p = second.layers().get(1).permutation();
            float[] now = b.toHost(w(m, 1, "w1"));
            for (int q = 0; q < F; q++) {
                for (int k = 0; k < D; k++) assertEquals(w1[p[q] * D + k], now[q * D + k], "row " + q + " of W1, seed " + seed);
            }
            assertEquals(first.layers().get(1).beta1(), second.layers().get(1).beta1(), "β1 stays frozen, seed " + seed);
        }
    }

    @Test
    void statisticsAppearOnceTheSparseFfnRan() {
        long seed = 0x5747;
        Backend b = new CpuBackend();
        var rng = new SplittableRandom(seed);
        int[] tokens = TinyModels.randomTokens(rng, N, TinyModels.VOCAB), targets = TinyModels.randomTokens(rng, N, TinyModels.VOCAB);
        try (var m = model(b, seed)) {
            assertFalse(m.sparseStats().isPresent(), "no statistics in the dense warmup");
            m.enterSparsePhase(cfg(8, false, "latent"), seed, List.of());
            assertFalse(m.sparseStats().isPresent(), "no statistics before the first sparse forward");
            m.trainStep(tokens, targets, 1f);
            SparseStats s = m.sparseStats().orElseThrow();
            assertTrue(s.densityAfterTwoFour() > 0 && s.densityAfterTwoFour() <= 2.0 / 8, "density after 2:4 ≤ 2/M: " + s);
        }
    }

    @Test
    void misuseFailsWithClearMessages() {
        Backend b = new ReferenceBackend();
        try (var m = model(b, 1); var swiglu = new LlamaModel(b, TinyModels.config(FfnKind.SWIGLU, 1, 0.3f), 1)) {
            var dense = assertThrows(IllegalStateException.class, () -> m.enterDensePhase(cfg(8, false, "latent")));
            assertTrue(dense.getMessage().contains("enterSparsePhase"), dense.getMessage());
            var kind = assertThrows(IllegalArgumentException.class, () -> swiglu.enterSparsePhase(cfg(8, false, "latent"), 1, List.of()));
            assertTrue(kind.getMessage().contains("model.ffn=relu2"), kind.getMessage());
            var bad = assertThrows(IllegalArgumentException.class,
                    () -> SparseState.fromJson(JsonParser.parseString("{\"phase\": \"sparse\"}")));
            assertTrue(bad.getMessage().contains("malformed sparse FFN state"), bad.getMessage());
        }
    }

    private static Tensor w(LlamaModel m, int layer, String name) {
        return m.layout().view(m.parameters(), ParameterLayout.layerName(layer, name));
    }

    private static int offset(LlamaModel m, int layer, String name) {
        return (int) m.layout().spec(ParameterLayout.layerName(layer, name)).offset();
    }
}
