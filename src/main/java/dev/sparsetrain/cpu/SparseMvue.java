package dev.sparsetrain.cpu;

import dev.sparsetrain.sparse.Mvue;

/**
 * MVUE (SPEC §3.5) of the weight-gradient GEMMs' left operands, whose groups of 4 run along the
 * routed rows (K = tokens). Both CPU implementations call this one routine so they agree bit for bit.
 */
final class SparseMvue {
    private SparseMvue() {}

    /** {@code Mvue.apply} of the row-major rows×cols matrix x (groups along a row), as a new array. */
    static float[] rowGroups(float[] x, int rows, int cols, long seed) {
        if (cols % 4 != 0) {
            throw new IllegalArgumentException("MVUE groups 4 consecutive routed rows, but a block has " + cols
                    + " rows; every expert's padded row count must be a multiple of 4: set sparsity.v to a multiple of 4");
        }
        float[] out = new float[x.length];
        Mvue.apply(x, rows, cols, seed, out);
        return out;
    }
}
