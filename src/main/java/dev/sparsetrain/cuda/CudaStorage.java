package dev.sparsetrain.cuda;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Storage;
import dev.sparsetrain.tensor.Tensor;

/**
 * Device memory behind CUDA tensors: one allocation's base address and its size in elements of
 * one dtype. The allocation is owned (and freed) by the backend that made it, never by a cleaner.
 */
public final class CudaStorage implements Storage {
    private final long address;
    private final long capacity;
    private final DType dtype;

    public CudaStorage(long address, long capacity, DType dtype) {
        this.address = address;
        this.capacity = capacity;
        this.dtype = dtype;
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
}
