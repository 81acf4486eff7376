package dev.sparsetrain.cuda;

import dev.sparsetrain.tensor.SparseKernels.PackedWeight;
import dev.sparsetrain.tensor.Tensor;

/**
 * An effective 2:4 weight β·S(W) [rows, cols] on the GPU in the two forms the sparse FFN's GEMMs
 * read: {@code packed}, one cuSPARSELt left operand per expert (rows/experts × cols each, every block
 * {@code blockStrideBytes} after the previous), and {@code dense}, the bf16 [rows, cols] matrix with
 * zeros where pruned, for the GEMMs that take the weight as their dense operand. {@code partials}
 * holds the pruning kernel's magnitude sums for {@link CudaSparseKernels#weightStats}.
 */
record CudaPackedWeight(int rows, int cols, int experts, long blockStrideBytes, Tensor packed, Tensor dense, Tensor partials)
        implements PackedWeight {

    /** Rows of one expert's block. */
    int blockRows() { return rows / experts; }

    /** The device address of expert e's packed block. */
    long block(int e) { return CudaStorage.ptr(packed) + e * blockStrideBytes; }

    /** The device address of expert e's first row in the dense bf16 form. */
    long denseBlock(int e) { return CudaStorage.ptr(dense) + (long) e * blockRows() * cols * 2; }

    static CudaPackedWeight of(PackedWeight w) {
        if (w instanceof CudaPackedWeight c) return c;
        throw new IllegalArgumentException("expected a packed weight of the CUDA sparse kernels, got " + w.getClass().getSimpleName()
                + "; allocate it with the CUDA backend's sparse().allocateWeight");
    }

    @Override
    public void close() {
        for (Tensor t : new Tensor[] {packed, dense, partials}) ((CudaStorage) t.storage()).close();
    }
}
