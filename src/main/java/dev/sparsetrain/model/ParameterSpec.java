package dev.sparsetrain.model;

import java.util.List;

/**
 * One named parameter tensor inside the flat parameter (and gradient) buffer.
 *
 * @param name   dotted name, e.g. {@code layers.3.wq}; see {@link ParameterLayout} for the full list
 * @param shape  row-major shape; matrices are stored [out, in] like PyTorch's {@code nn.Linear}
 * @param offset first element within the flat buffer
 * @param role   what the tensor does, which fixes its init and weight decay
 */
public record ParameterSpec(String name, List<Long> shape, long offset, ParameterRole role) {

    public ParameterSpec {
        shape = List.copyOf(shape);
    }

    /** Number of elements. */
    public long numel() {
        long n = 1;
        for (long s : shape) n = Math.multiplyExact(n, s);
        return n;
    }

    /** The shape as the varargs array {@link dev.sparsetrain.tensor.Tensor#view} takes. */
    public long[] dims() {
        return shape.stream().mapToLong(Long::longValue).toArray();
    }

    /** Whether AdamW decays this tensor: matrices yes; norms and the embedding no. */
    public boolean applyWeightDecay() { return role.applyWeightDecay(); }
}
