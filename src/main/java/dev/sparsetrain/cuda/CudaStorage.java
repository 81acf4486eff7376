package dev.sparsetrain.cuda;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Storage;
import dev.sparsetrain.tensor.Tensor;

/**
 * Device memory behind CUDA tensors: one allocation's base address and its size in elements of
 * one dtype. The allocation is owned (and freed) by the backend that made it, never by a cleaner:
 * {@link #close()} hands it back to that backend early (a model releasing its buffers), and the
 * backend frees whatever is still held when it closes. Closing twice, or after the backend, is harmless.
 */
public final class CudaStorage implements Storage, AutoCloseable {
    /** Gives an allocation back to its owner. */
    @FunctionalInterface
    public interface Owner {
        void release(CudaStorage storage);
    }

    private final long address;
    private final long capacity;
    private final DType dtype;
    private final Owner owner;

    /** Storage over memory this object does not own (tests, views of external buffers): close does not free it. */
    public CudaStorage(long address, long capacity, DType dtype) {
        this(address, capacity, dtype, null);
    }

    /** Storage whose {@link #close()} returns the allocation to {@code owner}. */
    public CudaStorage(long address, long capacity, DType dtype, Owner owner) {
        this.address = address;
        this.capacity = capacity;
        this.dtype = dtype;
        this.owner = owner;
    }

    @Override
    public long capacity() { return capacity; }

    public long address() { return address; }

    public DType dtype() { return dtype; }

    /** The device address of a tensor's first element. */
    public static long ptr(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s)) {
            throw new IllegalArgumentException("expected a CUDA tensor, got " + t + " on " + t.storage().getClass().getSimpleName());
        }
        return s.address + t.offset() * t.dtype().bytes();
    }

    @Override
    public void close() {
        if (owner != null) owner.release(this);
    }
}
