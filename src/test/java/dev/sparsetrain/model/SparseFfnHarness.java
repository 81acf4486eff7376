package dev.sparsetrain.model;

import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.config.SparsityConfig;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * One sparse FFN under test on a given backend: seeded weights (init std 0.3, so every weight moves
 * the output), zero gradients, frozen scales from the weights, a random input x [T,d] and a random
 * upstream gradient R [T,d] defining the scalar Σ out ⊙ R.
 */
final class SparseFfnHarness {
    static final int DIM = 16, FFN_HIDDEN = 64, LAYERS = 2;

    final Backend b;
    final ModelConfig config;
    final ParameterLayout layout;
    final BlockResources resources;
    final SparseFfn ffn;
    final Tensor x, r, out, dx;
    final int tokens;

    SparseFfnHarness(Backend b, SparsityConfig sparsity, int tokens, long seed) {
        this.b = b;
        this.tokens = tokens;
        config = new ModelConfig(11, DIM, LAYERS, 2, 1, FFN_HIDDEN, FfnKind.RELU2, 8, 10000f, 1e-5f, 0.3f);
        layout = ParameterLayout.of(config);
        var alloc = new Allocations(b);
        Tensor params = alloc.f32(layout.totalElements()), grads = alloc.f32(layout.totalElements());
        ParameterInit.initialize(b, layout, params, seed);
        resources = new BlockResources(b, layout, params, grads, alloc, tokens);
        ffn = new SparseFfn(resources, sparsity);
        for (int l = 0; l < LAYERS; l++) {
            ffn.setScales(l, SoftThresholdScales.betaOfW1(b.toHost(weight(l, "w1")), FFN_HIDDEN, DIM),
                    SoftThresholdScales.betaOfW2(b.toHost(weight(l, "w2")), DIM, FFN_HIDDEN));
        }
        var rng = new SplittableRandom(seed);
        x = alloc.f32(tokens, DIM);
        r = alloc.f32(tokens, DIM);
        out = alloc.f32(tokens, DIM);
        dx = alloc.f32(tokens, DIM);
        b.upload(x, TinyModels.gaussian(rng, tokens * DIM), 0);
        b.upload(r, TinyModels.gaussian(rng, tokens * DIM), 0);
    }

    Tensor weight(int layer, String name) { return resources.param(ParameterLayout.layerName(layer, name)); }

    Tensor grad(int layer, String name) { return resources.grad(ParameterLayout.layerName(layer, name)); }

    void poisonOutputs() {
        b.fill(out, Float.NaN);
        b.fill(dx, Float.NaN);
    }

    /** A sparsity section with M = {@code m}, V = {@code v}, the given router and MVUE switch. */
    static SparsityConfig sparsity(int m, int v, String router, boolean mvue) {
        return new SparsityConfig(true, 0.2, 0.8, m, v, router, "l2", 5, 0, mvue, "latent");
    }
}
