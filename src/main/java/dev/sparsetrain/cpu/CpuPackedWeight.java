package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.SparseKernels;

/**
 * The CPU's packed effective weight [rows, cols]: the dense matrix (the right operand of GEMMs 2
 * and 4) and the 2:4 compressed rows (the left operand of GEMMs 1 and 3): per row, the two kept
 * values of each group of 4 in column order, and their column indices.
 */
final class CpuPackedWeight implements SparseKernels.PackedWeight {
    final int rows, cols, half;
    /** [rows, cols], zeros where pruned. */
    final float[] dense;
    /** [rows, cols/2]: kept values and their columns. */
    final float[] values;
    final int[] columns;
    SparseKernels.WeightStats stats = new SparseKernels.WeightStats(0, 0);

    CpuPackedWeight(int rows, int cols) {
        SparseShapes.requireGroupsOf4(cols, "weight columns");
        this.rows = rows;
        this.cols = cols;
        this.half = cols / 2;
        this.dense = new float[Math.multiplyExact(rows, cols)];
        this.values = new float[rows * half];
        this.columns = new int[rows * half];
    }

    @Override public int rows() { return rows; }
    @Override public int cols() { return cols; }

    static CpuPackedWeight of(SparseKernels.PackedWeight w) {
        if (w instanceof CpuPackedWeight c) return c;
        throw new IllegalArgumentException("this packed weight was allocated by another backend's sparse kernels ("
                + w.getClass().getSimpleName() + "); allocate it with CpuSparseKernels.allocateWeight");
    }
}
