package dev.sparsetrain.tensor;

/** The memory behind one or more tensors; each backend has its own kind (host arrays, device pointers). */
public interface Storage {
    /** Number of elements this storage holds. */
    long capacity();
}
