package dev.sparsetrain.model;

import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * One block under test on the reference backend: seeded parameters, zero gradients, a random input
 * x [T,d] and a random upstream gradient R [T,d] defining the scalar loss Σ out ⊙ R.
 */
final class BlockHarness {
    final Backend b = new ReferenceBackend();
    final ModelConfig config;
    final ParameterLayout layout;
    final Allocations alloc;
    final BlockResources resources;
    final Tensor x, r, out, dx;
    final int tokens;

    BlockHarness(ModelConfig config, int tokens, long seed) {
        this.config = config;
        this.tokens = tokens;
        layout = ParameterLayout.of(config);
        alloc = new Allocations(b);
        Tensor params = alloc.f32(layout.totalElements()), grads = alloc.f32(layout.totalElements());
        ParameterInit.initialize(b, layout, params, seed);
        resources = new BlockResources(b, layout, params, grads, alloc, tokens);
        var rng = new SplittableRandom(seed);
        x = alloc.f32(tokens, config.dim());
        r = alloc.f32(tokens, config.dim());
        out = alloc.f32(tokens, config.dim());
        dx = alloc.f32(tokens, config.dim());
        b.upload(x, TinyModels.gaussian(rng, tokens * config.dim()), 0);
        b.upload(r, TinyModels.gaussian(rng, tokens * config.dim()), 0);
    }

    /** Σ out ⊙ R in double, the scalar whose gradient w.r.t. out is R. */
    double projectedOutput() {
        float[] o = b.toHost(out), g = b.toHost(r);
        double s = 0;
        for (int j = 0; j < o.length; j++) s += (double) o[j] * g[j];
        return s;
    }

    void poisonOutputs() {
        b.fill(out, Float.NaN);
        b.fill(dx, Float.NaN);
    }
}
