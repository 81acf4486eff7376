package dev.sparsetrain.io.safetensors;

import java.util.List;

/**
 * One tensor of a safetensors header: its type, shape and byte range, relative to the first byte after
 * the header.
 */
public record TensorInfo(String name, SafeTensorsDType dtype, List<Long> shape, long begin, long end) {
    public TensorInfo {
        shape = List.copyOf(shape);
    }

    /** Number of elements: the product of the shape (1 for a scalar). */
    public long numel() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Size of the data in bytes. */
    public long byteSize() { return end - begin; }
}
