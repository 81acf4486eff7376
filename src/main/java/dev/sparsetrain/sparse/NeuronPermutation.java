package dev.sparsetrain.sparse;

import java.util.Arrays;

/**
 * A reordering of the F hidden neurons of an FFN: {@code oldIndex(p)} is the neuron that moves to
 * position p. Applied jointly to the rows of W1 [F,d] and the columns of W2 [d,F] it leaves the FFN's
 * function unchanged; gradients and optimizer moments have the same shapes, so the same two methods
 * move them too.
 */
public final class NeuronPermutation {
    private final int[] order;

    private NeuronPermutation(int[] order) {
        this.order = order;
    }

    /** The permutation with {@code oldIndex(p) = order[p]} (copied; must be a permutation of 0..n−1). */
    public static NeuronPermutation of(int[] order) {
        boolean[] seen = new boolean[order.length];
        for (int p = 0; p < order.length; p++) {
            int i = order[p];
            if (i < 0 || i >= order.length || seen[i]) {
                throw new IllegalArgumentException("not a permutation of 0.." + (order.length - 1) + ": position " + p
                        + " holds " + i + (i >= 0 && i < order.length ? ", which appears twice" : ", out of range"));
            }
            seen[i] = true;
        }
        return new NeuronPermutation(order.clone());
    }

    /**
     * The expert-contiguous order of a clustering: expert 0's neurons first, then expert 1's, ...,
     * each expert's neurons in increasing old index.
     */
    public static NeuronPermutation expertContiguous(int[] expertOf, int experts) {
        int[] order = new int[expertOf.length];
        int p = 0;
        for (int e = 0; e < experts; e++) {
            for (int i = 0; i < expertOf.length; i++) {
                if (expertOf[i] == e) order[p++] = i;
            }
        }
        if (p != order.length) {
            throw new IllegalArgumentException("expertOf holds values outside [0, " + experts + ")");
        }
        return new NeuronPermutation(order);
    }

    /** Number of neurons. */
    public int size() {
        return order.length;
    }

    /** The old index of the neuron at new position p. */
    public int oldIndex(int p) {
        return order[p];
    }

    /** The order as an array (a copy). */
    public int[] order() {
        return order.clone();
    }

    /** The permutation that undoes this one. */
    public NeuronPermutation inverse() {
        int[] inv = new int[order.length];
        for (int p = 0; p < order.length; p++) inv[order[p]] = p;
        return new NeuronPermutation(inv);
    }

    /** {@code dst[p,:] = src[oldIndex(p),:]} for a row-major [size(), cols] matrix such as W1. */
    public void permuteRows(float[] src, int cols, float[] dst) {
        check(src, dst, cols);
        for (int p = 0; p < order.length; p++) {
            System.arraycopy(src, order[p] * cols, dst, p * cols, cols);
        }
    }

    /** {@code dst[:,p] = src[:,oldIndex(p)]} for a row-major [rows, size()] matrix such as W2. */
    public void permuteColumns(float[] src, int rows, float[] dst) {
        check(src, dst, rows);
        int f = order.length;
        for (int r = 0; r < rows; r++) {
            for (int p = 0; p < f; p++) dst[r * f + p] = src[r * f + order[p]];
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NeuronPermutation other && Arrays.equals(order, other.order);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(order);
    }

    @Override
    public String toString() {
        return "NeuronPermutation" + (order.length <= 16 ? Arrays.toString(order) : "[" + order.length + " neurons]");
    }

    private void check(float[] src, float[] dst, int other) {
        int n = Checks.elements(order.length, other);
        Checks.length(src, n, "src");
        Checks.length(dst, n, "dst");
        Checks.distinct(dst, src, "dst", "src");
    }
}
