package dev.sparsetrain.train;

import dev.sparsetrain.config.TrainConfig;
import dev.sparsetrain.model.ParameterLayout;
import dev.sparsetrain.model.ParameterSpec;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;

/**
 * AdamW over the model's flat parameter buffer with global-norm gradient clipping. The first and
 * second moments are two flat buffers of the same layout, so a checkpoint saves them by parameter name.
 * Weight decay applies only to the entries the layout marks (matrices), as in nanoGPT and Llama recipes.
 * Closing releases the moments (device memory on a GPU backend) before the backend itself closes, so
 * one process can train one model after another.
 */
public final class AdamW implements AutoCloseable {
    private final Backend backend;
    private final ParameterLayout layout;
    private final Tensor m;
    private final Tensor v;

    public AdamW(Backend backend, ParameterLayout layout) {
        this.backend = backend;
        this.layout = layout;
        this.m = backend.zeros(DType.F32, layout.totalElements());
        this.v = backend.zeros(DType.F32, layout.totalElements());
    }

    public Tensor firstMoment() { return m; }

    public Tensor secondMoment() { return v; }

    /** The global L2 norm of the gradient buffer. */
    public double gradNorm(Tensor grads) {
        return Math.sqrt(backend.sumSquares(grads));
    }

    /**
     * One update at optimizer step {@code step} (1-based) with learning rate {@code lr}; the
     * gradients are scaled by {@code min(1, clip/norm)} inside the update, not in place.
     */
    public void step(Tensor params, Tensor grads, int step, float lr, double gradNorm, TrainConfig cfg) {
        float clipScale = cfg.gradClip() > 0 && gradNorm > cfg.gradClip() ? (float) (cfg.gradClip() / (gradNorm + 1e-6)) : 1f;
        for (ParameterSpec p : layout.parameters()) {
            String n = p.name();
            backend.adamw(layout.view(params, n), layout.view(grads, n), layout.view(m, n), layout.view(v, n), lr,
                    cfg.beta1(), cfg.beta2(), cfg.eps(), p.applyWeightDecay() ? cfg.weightDecay() : 0f, step, clipScale);
        }
    }

    /** Releases both moment buffers. */
    @Override
    public void close() {
        for (Tensor t : new Tensor[] {m, v}) {
            if (t.storage() instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException("could not release an AdamW moment buffer " + t, e);
                }
            }
        }
    }
}
