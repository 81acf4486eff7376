package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * GEMMs 5 and 6, the weight gradients: for neuron n of expert e, G[n,:] = Σ_r V[r,n]·src[r,:] over
 * e's routed rows, with V the packed A and src = dY (GEMM 5, G = dW2ᵀ) or V = dZ and src = X
 * (GEMM 6, G = dW1). The product is the dense one of the SPEC; walking the pattern's set bits simply
 * skips the terms whose V is zero.
 *
 * <p>Work is split over blocks of up to {@link #BLOCK} neurons of one expert; each block's rows of
 * G accumulate in a per-thread buffer while the expert's tiles stream by once, so each tile's
 * source rows are reused by the whole block. The block is wide because every block streams all of
 * its expert's source rows: at d = 512 that is megabytes per block.
 */
final class SparseWeightGradients {
    private static final VectorSpecies<Float> S = SparseLanes.F;
    private static final int L = SparseLanes.L, TILE = SparseLanes.TILE;
    private static final int BLOCK = 64;

    private SparseWeightGradients() {}

    /** GEMM 5: dW2[k, n] += Σ_r dY[perm[r],k]·A[r,n]; dW2 [d, F]. */
    static void down(Tensor dW2, Tensor dY, CpuPackedActivations act) {
        int d = (int) dY.dim(1);
        SparseShapes.requireMatrix(dW2, d, act.neurons, "dW2");
        run(act, act.a, dY, d, dW2, true);
    }

    /** GEMM 6: dW1[n, k] += Σ_r dZ[r,n]·x[perm[r],k]; dW1 [F, d]. */
    static void up(Tensor dW1, CpuPackedActivations act, Tensor x) {
        int d = (int) x.dim(1);
        SparseShapes.requireMatrix(dW1, act.neurons, d, "dW1");
        run(act, act.dz, x, d, dW1, false);
    }

    /** Adds the rows G[first .. first+count) (acc, [count, d]) into gradient g: as its columns (dW2 [d,F]) or its rows (dW1 [F,d]). */
    private static void addBlock(float[] acc, int first, int count, int d, float[] g, int go, int neurons, boolean columns) {
        if (columns) {
            for (int k = 0; k < d; k++) {
                int row = go + k * neurons + first;
                for (int j = 0; j < count; j++) g[row + j] += acc[j * d + k];
            }
            return;
        }
        int row = go + first * d, n = count * d, c = 0;
        for (; c + L <= n; c += L) {
            FloatVector.fromArray(S, g, row + c).add(FloatVector.fromArray(S, acc, c)).intoArray(g, row + c);
        }
        for (; c < n; c++) g[row + c] += acc[c];
    }

    private static void run(CpuPackedActivations act, float[] values, Tensor src, int d, Tensor grad, boolean columns) {
        SparseShapes.requireMatrix(src, (int) src.dim(0), d, "token rows");
        float[] x = f(src), g = f(grad);
        int xo = off(src), go = off(grad), f = act.f;
        Parallel.forRange(act.neurons / 4, 1, (from, to) -> {
            float[] acc = SparseScratch.floats(SparseScratch.ACCUMULATORS, BLOCK * d);
            int[] rowAt = SparseScratch.ints(SparseScratch.ROW_OFFSETS, TILE);
            for (int first = 4 * from, end = 4 * to; first < end; ) {
                int e = first / f, count = Math.min(Math.min(end, (e + 1) * f), first + BLOCK) - first;
                java.util.Arrays.fill(acc, 0, count * d, 0f);
                for (int tile = act.tiles.expertTiles[e]; tile < act.tiles.expertTiles[e + 1]; tile++) {
                    int local = first - e * f, firstRow = act.tiles.firstRow[tile];
                    // Padding rows have no pattern bits, so their -1 is never used as an offset.
                    for (int j = 0; j < act.tiles.rows[tile]; j++) rowAt[j] = act.perm[firstRow + j] < 0 ? -1 : xo + act.perm[firstRow + j] * d;
                    // Column chunks outside the neurons: the block reuses one L1-sized slab of the tile's rows.
                    int c = 0;
                    for (; c + 4 * L <= d; c += 4 * L) {
                        for (int j = 0; j < count; j++) {
                            long bits = act.bits[tile * f + local + j];
                            if (bits != 0) addFourVectors(acc, j * d + c, bits, values, act.slot(tile, local + j), x, rowAt, c);
                        }
                    }
                    for (; c + L <= d; c += L) {
                        for (int j = 0; j < count; j++) {
                            long bits = act.bits[tile * f + local + j];
                            if (bits != 0) addOneVector(acc, j * d + c, bits, values, act.slot(tile, local + j), x, rowAt, c);
                        }
                    }
                    if (c < d) {
                        for (int j = 0; j < count; j++) {
                            long bits = act.bits[tile * f + local + j];
                            if (bits != 0) addScalars(acc, j * d + c, bits, values, act.slot(tile, local + j), x, rowAt, c, d - c);
                        }
                    }
                }
                addBlock(acc, first, count, d, g, go, act.neurons, columns);
                first += count;
            }
        });
    }

    /** acc[accOff .. +4L) += Σ_{set bits t} values[at++]·x[rowAt[t] + c ..]. */
    private static void addFourVectors(float[] acc, int accOff, long bits, float[] values, int at, float[] x, int[] rowAt, int c) {
        FloatVector a0 = FloatVector.fromArray(S, acc, accOff), a1 = FloatVector.fromArray(S, acc, accOff + L);
        FloatVector a2 = FloatVector.fromArray(S, acc, accOff + 2 * L), a3 = FloatVector.fromArray(S, acc, accOff + 3 * L);
        for (long b = bits; b != 0; b &= b - 1) {
            FloatVector v = FloatVector.broadcast(S, values[at++]);
            int r = rowAt[Long.numberOfTrailingZeros(b)] + c;
            a0 = FloatVector.fromArray(S, x, r).fma(v, a0);
            a1 = FloatVector.fromArray(S, x, r + L).fma(v, a1);
            a2 = FloatVector.fromArray(S, x, r + 2 * L).fma(v, a2);
            a3 = FloatVector.fromArray(S, x, r + 3 * L).fma(v, a3);
        }
        a0.intoArray(acc, accOff);
        a1.intoArray(acc, accOff + L);
        a2.intoArray(acc, accOff + 2 * L);
        a3.intoArray(acc, accOff + 3 * L);
    }

    private static void addOneVector(float[] acc, int accOff, long bits, float[] values, int at, float[] x, int[] rowAt, int c) {
        FloatVector a0 = FloatVector.fromArray(S, acc, accOff);
        for (long b = bits; b != 0; b &= b - 1) {
            a0 = FloatVector.fromArray(S, x, rowAt[Long.numberOfTrailingZeros(b)] + c).fma(FloatVector.broadcast(S, values[at++]), a0);
        }
        a0.intoArray(acc, accOff);
    }

    private static void addScalars(float[] acc, int accOff, long bits, float[] values, int at, float[] x, int[] rowAt, int c, int width) {
        for (long b = bits; b != 0; b &= b - 1) {
            float v = values[at++];
            int r = rowAt[Long.numberOfTrailingZeros(b)] + c;
            for (int k = 0; k < width; k++) acc[accOff + k] = Math.fma(x[r + k], v, acc[accOff + k]);
        }
    }
}
