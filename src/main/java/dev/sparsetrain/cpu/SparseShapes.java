package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Tensor;

/** Argument checks shared by the two CPU implementations of the sparse kernels. */
final class SparseShapes {
    private SparseShapes() {}

    static void requireGroupsOf4(int cols, String what) {
        if (cols <= 0 || cols % 4 != 0) {
            throw new IllegalArgumentException(what + " must be a positive multiple of 4 (2:4 groups), got " + cols);
        }
    }

    static void requireExperts(int neurons, int experts) {
        if (experts <= 0 || neurons % (4 * experts) != 0) {
            throw new IllegalArgumentException(neurons + " neurons cannot be split into " + experts
                    + " experts of a multiple of 4 neurons each; F must be a multiple of M = 4·experts");
        }
    }

    static void requireElements(Tensor t, long elements, String what) {
        if (t.numel() != elements) {
            throw new IllegalArgumentException(what + " has " + t.numel() + " elements (" + t + "), expected " + elements);
        }
    }

    /** Row offsets [experts+1]: non-decreasing from 0, at most {@code capacity} rows. */
    static void requireRowOffsets(int[] rowOffsets, int experts, int capacity) {
        if (rowOffsets.length != experts + 1 || rowOffsets[0] != 0) {
            throw new IllegalArgumentException("row offsets must hold " + (experts + 1) + " values starting at 0, got "
                    + java.util.Arrays.toString(rowOffsets));
        }
        for (int e = 0; e < experts; e++) {
            if (rowOffsets[e + 1] < rowOffsets[e]) {
                throw new IllegalArgumentException("row offsets decrease at expert " + e + ": " + java.util.Arrays.toString(rowOffsets));
            }
        }
        if (rowOffsets[experts] > capacity) {
            throw new IllegalArgumentException(rowOffsets[experts] + " routed rows exceed the capacity of " + capacity
                    + " the activations were allocated for");
        }
    }

    /**
     * A routing of {@code tokens} tokens: row offsets as {@link #requireRowOffsets}, and perm (I32, at
     * least P = rowOffsets[E] entries) naming every token exactly once among its first P entries,
     * −1 for padding.
     */
    static void requireRouting(int[] rowOffsets, Tensor perm, int tokens, int experts, int capacity) {
        requireRowOffsets(rowOffsets, experts, capacity);
        int rows = rowOffsets[experts];
        if (perm.numel() < rows) {
            throw new IllegalArgumentException("perm " + perm + " holds fewer than the " + rows + " routed rows");
        }
        int[] p = HeapStorage.i(perm);
        int po = HeapStorage.off(perm), real = 0;
        boolean[] seen = new boolean[tokens];
        for (int r = 0; r < rows; r++) {
            int t = p[po + r];
            if (t < 0) continue;
            if (t >= tokens || seen[t]) {
                throw new IllegalArgumentException("perm[" + r + "] = " + t + (t >= tokens ? " is not one of the " + tokens + " tokens"
                        : " routes a token twice") + "; each token must take exactly one routed row");
            }
            seen[t] = true;
            real++;
        }
        if (real != tokens) throw new IllegalArgumentException("perm routes " + real + " of the " + tokens + " tokens; it must route all");
    }

    /** A [rows, cols] tensor check: the element count and, when it is 2-D, the column count. */
    static void requireMatrix(Tensor t, int rows, int cols, String what) {
        requireElements(t, (long) rows * cols, what);
        if (t.rank() == 2 && t.dim(1) != cols) {
            throw new IllegalArgumentException(what + " " + t + " must have " + cols + " columns");
        }
    }
}
