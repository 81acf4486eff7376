package dev.sparsetrain.model;

import static dev.sparsetrain.model.TestArrays.assertAllFinite;
import static dev.sparsetrain.model.TestArrays.assertClose;
import static dev.sparsetrain.model.TestArrays.maxAbs;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.config.FfnKind;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The dense FFN backward in isolation, against finite differences of Σ FFN(x) ⊙ R. */
class FeedForwardGradientTest {
    private static final int LAYER = 1; // not 0, so per-layer indexing is exercised
    private static final int TOKENS = 7;

    @ParameterizedTest
    @EnumSource(FfnKind.class)
    void backwardMatchesFiniteDifferences(FfnKind kind) {
        long seed = 0xF0F0L + kind.ordinal();
        var h = new BlockHarness(TinyModels.config(kind, 1, 0.3f), TOKENS, seed);
        FeedForward ffn = FeedForward.create(h.resources);
        h.poisonOutputs();
        ffn.forward(LAYER, h.out, h.x);
        ffn.backward(LAYER, h.dx, h.r, h.x);
        assertAllFinite(h.b.toHost(h.dx), "dx, seed " + seed);

        var rng = new SplittableRandom(seed);
        DoubleSupplier loss = () -> {
            ffn.forward(LAYER, h.out, h.x);
            return h.projectedOutput();
        };
        for (int trial = 0; trial < 3; trial++) {
            GradientCheck.check(h.b, h.x, h.dx, loss, rng, kind + " dx, trial " + trial + ", seed " + seed);
            for (String w : weights(kind)) {
                String name = ParameterLayout.layerName(LAYER, w);
                GradientCheck.check(h.b, h.resources.param(name), h.resources.grad(name), loss, rng,
                        kind + " " + name + ", trial " + trial + ", seed " + seed);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(FfnKind.class)
    void backwardAddsWeightGradientsAndOverwritesDx(FfnKind kind) {
        long seed = 0xADDL + kind.ordinal();
        var h = new BlockHarness(TinyModels.config(kind, 1, 0.3f), TOKENS, seed);
        FeedForward ffn = FeedForward.create(h.resources);
        ffn.forward(LAYER, h.out, h.x);
        ffn.backward(LAYER, h.dx, h.r, h.x);
        float[] dxOnce = h.b.toHost(h.dx), gradOnce = h.b.toHost(h.resources.grads());
        ffn.backward(LAYER, h.dx, h.r, h.x);
        float[] dxTwice = h.b.toHost(h.dx), gradTwice = h.b.toHost(h.resources.grads());
        assertEquals(dxOnce.length, dxTwice.length);
        for (int j = 0; j < dxOnce.length; j++) assertEquals(dxOnce[j], dxTwice[j], "dx[" + j + "], seed " + seed);
        float[] doubled = gradOnce.clone();
        for (int j = 0; j < doubled.length; j++) doubled[j] *= 2;
        assertTrue(maxAbs(gradOnce) > 0, "the FFN produced no weight gradient, seed " + seed);
        assertClose(doubled, gradTwice, 1e-6, "weight gradients after two backwards, seed " + seed);
    }

    private static List<String> weights(FfnKind kind) {
        return switch (kind) {
            case RELU2 -> List.of("w1", "w2");
            case SWIGLU -> List.of("w_gate", "w_up", "w2");
        };
    }
}
