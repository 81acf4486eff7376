package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.SparseKernels;

/**
 * The CPU's packed activations: for every (tile of routed rows, expert neuron) pair, a 64-bit
 * pattern (bit t: the tile's row t kept that neuron with relu(z) ≠ 0) and the non-zero values in
 * row order, packed at the front of the pair's fixed slot of {@link SparseLanes#TILE} floats.
 *
 * <p>Why per neuron rather than per row: every kernel then walks only the set bits, so the work
 * is proportional to the non-zeros; GEMMs 1 and 3 produce a neuron's values for a whole tile at
 * once (vector lanes = rows), GEMMs 5 and 6 accumulate one neuron's weight-gradient row, and GEMMs
 * 2 and 4 turn a tile's patterns into per-row lists on the fly. The fixed slot size makes the
 * layout independent of the pattern, so no prefix sums are needed. Values of kept activations
 * whose relu(z) is 0 are dropped: they add nothing to any product.
 */
final class CpuPackedActivations implements SparseKernels.PackedActivations {
    final int capacity, neurons, experts, f;
    final SparseTiles tiles;
    /** [tile, neuron]: the pattern bits. */
    final long[] bits;
    /** [tile, neuron, TILE]: relu(z), A = relu(z)² and dZ on the pattern, packed. */
    final float[] relu, a, dz;
    /** [tile, 4]: positive count, kept count, relu² mass, kept mass. */
    final double[] tileStats;
    /** Routed row → token of the latest up-projection (−1: padding); its first P entries are in use. */
    final int[] perm;

    CpuPackedActivations(int capacity, int neurons, int experts) {
        SparseShapes.requireExperts(neurons, experts);
        this.capacity = capacity;
        this.neurons = neurons;
        this.experts = experts;
        this.f = neurons / experts;
        this.tiles = new SparseTiles(capacity, experts);
        this.bits = new long[Math.multiplyExact(tiles.capacity, f)];
        int slots = Math.multiplyExact(bits.length, SparseLanes.TILE);
        this.relu = new float[slots];
        this.a = new float[slots];
        this.dz = new float[slots];
        this.tileStats = new double[tiles.capacity * 4];
        this.perm = new int[capacity];
    }

    /** The first float of the slot of (tile, expert-local neuron). */
    int slot(int tile, int neuron) { return (tile * f + neuron) * SparseLanes.TILE; }

    @Override public int capacityRows() { return capacity; }
    @Override public int neurons() { return neurons; }
    @Override public int experts() { return experts; }
    @Override public int[] rowOffsets() { return tiles.rowOffsets.clone(); }
    @Override public int[] perm() { return java.util.Arrays.copyOf(perm, rows()); }

    /** Routed rows of the latest up-projection. */
    int rows() { return tiles.rowOffsets[experts]; }

    static CpuPackedActivations of(SparseKernels.PackedActivations a) {
        if (a instanceof CpuPackedActivations c) return c;
        throw new IllegalArgumentException("these packed activations were allocated by another backend's sparse kernels ("
                + a.getClass().getSimpleName() + "); allocate them with CpuSparseKernels.allocateActivations");
    }
}
