package dev.sparsetrain.model;

import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;

/**
 * What a block (attention, FFN, LM head) needs to build itself: the backend, the shapes, the flat
 * parameter and gradient buffers it takes its views from, the allocator for its activation buffers,
 * and the most token rows one step processes.
 *
 * @param tokenCapacity batch rows × sequence length; activation buffers are sized for this many rows
 */
public record BlockResources(Backend backend, ParameterLayout layout, Tensor params, Tensor grads, Allocations alloc,
                             int tokenCapacity) {

    public BlockResources {
        if (tokenCapacity <= 0) throw new IllegalArgumentException("token capacity must be > 0, got " + tokenCapacity);
    }

    /** The model's shapes. */
    public ModelConfig config() { return layout.config(); }

    /** View of the named parameter. */
    public Tensor param(String name) { return layout.view(params, name); }

    /** View of the named parameter's gradient. */
    public Tensor grad(String name) { return layout.view(grads, name); }
}
