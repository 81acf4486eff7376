package dev.sparsetrain.tensor;

import java.util.Arrays;

/**
 * A typed, row-major, contiguous view into a backend's {@link Storage}: the storage, an element
 * offset and a shape. Views are cheap and never copy, so one flat buffer (all parameters, all
 * gradients) can be sliced into per-layer tensors, llm.c style.
 */
public final class Tensor {
    private final Storage storage;
    private final DType dtype;
    private final long offset;
    private final long[] shape;
    private final long numel;

    public Tensor(Storage storage, DType dtype, long offset, long... shape) {
        this.storage = storage;
        this.dtype = dtype;
        this.offset = offset;
        this.shape = shape.clone();
        long n = 1;
        for (long s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n = Math.multiplyExact(n, s);
        }
        this.numel = n;
        if (offset < 0 || offset + n > storage.capacity()) {
            throw new IllegalArgumentException("view [" + offset + ", " + (offset + n) + ") outside storage of "
                    + storage.capacity() + " elements");
        }
    }

    public Storage storage() { return storage; }
    public DType dtype() { return dtype; }
    /** Offset of the first element within the storage, in elements. */
    public long offset() { return offset; }
    public long numel() { return numel; }
    public int rank() { return shape.length; }
    public long dim(int i) { return shape[i < 0 ? shape.length + i : i]; }
    public long[] shape() { return shape.clone(); }

    /** A view of {@code shape} starting {@code elementOffset} elements into this tensor. */
    public Tensor view(long elementOffset, long... newShape) {
        Tensor t = new Tensor(storage, dtype, offset + elementOffset, newShape);
        if (elementOffset < 0 || elementOffset + t.numel > numel) {
            throw new IllegalArgumentException("sub-view [" + elementOffset + ", " + (elementOffset + t.numel)
                    + ") outside tensor of " + numel + " elements");
        }
        return t;
    }

    /** The same elements under another shape with the same element count. */
    public Tensor reshape(long... newShape) {
        Tensor t = new Tensor(storage, dtype, offset, newShape);
        if (t.numel != numel) {
            throw new IllegalArgumentException("reshape " + Arrays.toString(shape) + " -> " + Arrays.toString(newShape));
        }
        return t;
    }

    /** Rows [from, to) of the leading dimension. */
    public Tensor rows(long from, long to) {
        long rowSize = shape.length == 0 ? 1 : numel / Math.max(1, shape[0]);
        long[] s = shape.clone();
        s[0] = to - from;
        return view(from * rowSize, s);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + " @" + offset;
    }
}
