package dev.sparsetrain.model;

import static dev.sparsetrain.model.TestArrays.assertAllFinite;

import dev.sparsetrain.config.FfnKind;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The attention block backward (projections, RoPE, causal GQA attention) in isolation, against finite differences. */
class AttentionBlockGradientTest {
    private static final int LAYER = 1;
    private static final int BATCH = 2;

    @ParameterizedTest(name = "kvHeads={0}")
    @ValueSource(ints = {1, 2}) // 1: grouped-query (2 query heads share a kv head); 2: multi-head
    void backwardMatchesFiniteDifferences(int kvHeads) {
        long seed = 0xA77L + kvHeads;
        int seqLen = TinyModels.SEQ_LEN;
        var h = new BlockHarness(TinyModels.config(FfnKind.RELU2, kvHeads, 0.3f), BATCH * seqLen, seed);
        var attention = new AttentionBlock(h.resources);
        h.poisonOutputs();
        attention.forward(LAYER, h.out, h.x, BATCH, seqLen);
        attention.backward(LAYER, h.dx, h.r, h.x, BATCH, seqLen);
        assertAllFinite(h.b.toHost(h.out), "out, seed " + seed);
        assertAllFinite(h.b.toHost(h.dx), "dx, seed " + seed);

        var rng = new SplittableRandom(seed);
        DoubleSupplier loss = () -> {
            attention.forward(LAYER, h.out, h.x, BATCH, seqLen);
            return h.projectedOutput();
        };
        for (int trial = 0; trial < 3; trial++) {
            GradientCheck.check(h.b, h.x, h.dx, loss, rng, "dx, kvHeads " + kvHeads + ", trial " + trial + ", seed " + seed);
            for (String w : new String[] {"wq", "wk", "wv", "wo"}) {
                String name = ParameterLayout.layerName(LAYER, w);
                GradientCheck.check(h.b, h.resources.param(name), h.resources.grad(name), loss, rng,
                        name + ", kvHeads " + kvHeads + ", trial " + trial + ", seed " + seed);
            }
        }
    }
}
