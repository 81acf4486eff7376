package dev.sparsetrain.cuda;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.SparseKernels.PackedActivations;
import dev.sparsetrain.tensor.Tensor;
import java.util.function.Function;

/**
 * One layer's routed activations on the GPU, everything its backward needs: the gathered input X
 * (bf16, for GEMM 6), A packed per expert (cuSPARSELt left operands of GEMM 2) and dense (bf16, for
 * GEMM 5), relu(z) of the kept entries and the kept pairs (for dZ = dA ⊙ 2relu(z)), and dZ packed
 * (GEMM 4) and dense (GEMM 6). Expert e's routed rows are [off_e, off_{e+1}); its packed block (values
 * then metadata of a P_e × f operand) starts at {@link #packedOffsets}[e].
 */
final class CudaPackedActivations implements PackedActivations {
    final int capacityRows, neurons, experts, f;
    final Tensor rowOffsetsOnDevice, packedA, denseA, keptRelu, nibbles, packedDz, denseDz, partials;
    /** bf16 [capacity, d], allocated by the first forward, when d is known. */
    Tensor gatheredX;
    int[] rowOffsets;
    Tensor perm;

    private final Function<Tensor, int[]> permDownloader;

    /** Byte capacity of {@link #packedA} and {@link #packedDz}. */
    final long packedCapacityBytes;
    /** Byte offset of each expert's block in {@link #packedA} and {@link #packedDz}, set with the routing. */
    long[] packedOffsets;

    CudaPackedActivations(CudaMemory memory, Function<Tensor, int[]> permDownloader, int capacityRows, int neurons, int experts,
                          long packedCapacityBytes, int partialsCount) {
        this.packedCapacityBytes = packedCapacityBytes;
        this.permDownloader = permDownloader;
        this.capacityRows = capacityRows;
        this.neurons = neurons;
        this.experts = experts;
        this.f = neurons / experts;
        long cells = (long) capacityRows * f;
        rowOffsetsOnDevice = memory.allocate(DType.I32, experts + 1);
        packedA = bytes(memory, packedCapacityBytes);
        denseA = memory.allocate(DType.BF16, capacityRows, f);
        keptRelu = memory.allocate(DType.BF16, capacityRows, f / 2);
        nibbles = bytes(memory, cells / 4);
        packedDz = bytes(memory, packedCapacityBytes);
        denseDz = memory.allocate(DType.BF16, capacityRows, f);
        partials = memory.allocate(DType.F32, partialsCount);
    }

    /** A buffer of at least {@code n} bytes (bf16 elements, two bytes each). */
    private static Tensor bytes(CudaMemory memory, long n) {
        return memory.allocate(DType.BF16, (n + 1) / 2);
    }

    /** Values (2 bytes for each of cells/2) plus metadata (cells/8 bytes) of a packed 2:4 operand. */
    static long packedBytes(long cells) { return cells + cells / 8; }

    int rows() { return rowOffsets[experts]; }

    int expertRows(int e) { return rowOffsets[e + 1] - rowOffsets[e]; }

    @Override
    public int capacityRows() { return capacityRows; }

    @Override
    public int neurons() { return neurons; }

    @Override
    public int experts() { return experts; }

    @Override
    public int[] rowOffsets() {
        requireForward();
        return rowOffsets.clone();
    }

    /** Downloads the routing's perm (synchronises): an inspection call, never on the training path. */
    @Override
    public int[] perm() {
        requireForward();
        return permDownloader.apply(perm.view(0, rows()));
    }

    void requireForward() {
        if (rowOffsets == null) throw new IllegalStateException("these activations have not been through upProject yet");
    }

    static CudaPackedActivations of(PackedActivations a) {
        if (a instanceof CudaPackedActivations c) return c;
        throw new IllegalArgumentException("expected activations of the CUDA sparse kernels, got " + a.getClass().getSimpleName()
                + "; allocate them with the CUDA backend's sparse().allocateActivations");
    }

    @Override
    public void close() {
        for (Tensor t : new Tensor[] {rowOffsetsOnDevice, packedA, denseA, keptRelu, nibbles, packedDz, denseDz, partials, gatheredX}) {
            if (t != null) ((CudaStorage) t.storage()).close();
        }
        gatheredX = null;
    }
}
