package dev.sparsetrain.model;

import dev.sparsetrain.tensor.Tensor;

/**
 * The feed-forward sub-block of every layer, as one object for the whole model: it owns each layer's
 * saved activations and one scratch area shared by all layers. Kept behind this interface so the
 * sparse FFN of SPEC.md §3 can replace the dense ones without touching the rest of the model.
 *
 * <p>Both methods take the rows of the current step: x, out, dx and dOut are [T, d] with T at most
 * the token capacity the FFN was built for.
 */
public interface FeedForward {

    /** out = FFN_layer(x), overwriting out; keeps what {@link #backward} of this layer needs. */
    void forward(int layer, Tensor out, Tensor x);

    /**
     * Overwrites dx with ∂L/∂x and ADDS the layer's weight gradients, given dOut = ∂L/∂out. {@code x}
     * must be the input of this layer's latest {@link #forward}, which must have run on the same rows.
     */
    void backward(int layer, Tensor dx, Tensor dOut, Tensor x);

    /** The dense FFN the configuration asks for. */
    static FeedForward create(BlockResources r) {
        return switch (r.config().ffn()) {
            case RELU2 -> new Relu2Ffn(r);
            case SWIGLU -> new SwiGluFfn(r);
        };
    }
}
