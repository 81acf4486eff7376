package dev.sparsetrain.cpu;

import jdk.incubator.vector.VectorSpecies;

/**
 * A GEMM micro-kernel for one vector species: computes an MR × {@link #nr()} tile of C from a
 * packed A sliver (kc steps of {@link MatmulKernel#MR} floats) and a packed B sliver (kc steps of
 * nr floats). Obtain one from {@link MatmulKernels#forSpecies}.
 */
interface MatmulMicroKernel {
    VectorSpecies<Float> species();

    /** Columns of C per micro-tile. */
    int nr();

    /**
     * dst tile = A sliver · B sliver + beta · dst tile, the tile being MR rows of nr floats at
     * {@code dst[dstOff + r·ldd ...]}. With beta = 0 the tile is written without being read.
     */
    void run(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] dst, int dstOff, int ldd, float beta);
}
