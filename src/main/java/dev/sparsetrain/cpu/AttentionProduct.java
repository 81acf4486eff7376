package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.AttentionVectors.LANES;
import static dev.sparsetrain.cpu.AttentionVectors.SPECIES;

import jdk.incubator.vector.FloatVector;

/**
 * The one matrix-product kernel behind all six tile products of attention (S = Q·Kᵀ, dP = dO·Vᵀ,
 * O += P·V, dQ += dS·K, dV += Pᵀ·dO, dK += dSᵀ·Q): a block of up to {@link #ROWS} output rows,
 * C[r][n] (+)= Σ_{kk ∈ [kFrom, kTo)} A[r][kk] · B[kk][n], with A read through a row and a column
 * stride so that a transposed operand (Pᵀ, dSᵀ) needs no copy. The kk range is per block so that
 * callers can skip the masked triangle of a diagonal tile block by block.
 *
 * <p>Why this shape: four rows times two vectors of C stay in eight registers while kk runs, so
 * each step loads two vectors of B and four scalars of A for eight fmas, instead of one load per
 * fma; eight accumulators also leave room on 16-register AVX2 machines.
 */
final class AttentionProduct {
    /** Output rows per block. */
    static final int ROWS = 4;

    private AttentionProduct() {}

    /**
     * C[cAt + r·cStride + n] = (accumulate ? C : 0) + Σ_kk a[aAt + r·aRowStride + kk·aColStride] · b[bAt + kk·bStride + n]
     * for r &lt; rows (at most {@link #ROWS}), n &lt; width, kk in [kFrom, kTo).
     */
    static void block(float[] c, int cAt, int cStride, int rows, boolean accumulate,
                      float[] a, int aAt, int aRowStride, int aColStride,
                      float[] b, int bAt, int bStride, int kFrom, int kTo, int width) {
        if (rows == ROWS) {
            fourRows(c, cAt, cStride, accumulate, a, aAt, aRowStride, aColStride, b, bAt, bStride, kFrom, kTo, width);
        } else {
            for (int r = 0; r < rows; r++) {
                oneRow(c, cAt + r * cStride, accumulate, a, aAt + r * aRowStride, aColStride, b, bAt, bStride, kFrom, kTo, width);
            }
        }
    }

    private static void fourRows(float[] c, int cAt, int cStride, boolean accumulate,
                                 float[] a, int aAt, int aRowStride, int aColStride,
                                 float[] b, int bAt, int bStride, int kFrom, int kTo, int width) {
        int c1 = cAt + cStride, c2 = c1 + cStride, c3 = c2 + cStride;
        int n = 0;
        for (; n + 2 * LANES <= width; n += 2 * LANES) {
            FloatVector x00 = start(c, cAt + n, accumulate), x01 = start(c, cAt + n + LANES, accumulate);
            FloatVector x10 = start(c, c1 + n, accumulate), x11 = start(c, c1 + n + LANES, accumulate);
            FloatVector x20 = start(c, c2 + n, accumulate), x21 = start(c, c2 + n + LANES, accumulate);
            FloatVector x30 = start(c, c3 + n, accumulate), x31 = start(c, c3 + n + LANES, accumulate);
            for (int kk = kFrom; kk < kTo; kk++) {
                int bk = bAt + kk * bStride + n, ak = aAt + kk * aColStride;
                FloatVector b0 = FloatVector.fromArray(SPECIES, b, bk), b1 = FloatVector.fromArray(SPECIES, b, bk + LANES);
                FloatVector a0 = FloatVector.broadcast(SPECIES, a[ak]);
                x00 = b0.fma(a0, x00);
                x01 = b1.fma(a0, x01);
                FloatVector a1 = FloatVector.broadcast(SPECIES, a[ak + aRowStride]);
                x10 = b0.fma(a1, x10);
                x11 = b1.fma(a1, x11);
                FloatVector a2 = FloatVector.broadcast(SPECIES, a[ak + 2 * aRowStride]);
                x20 = b0.fma(a2, x20);
                x21 = b1.fma(a2, x21);
                FloatVector a3 = FloatVector.broadcast(SPECIES, a[ak + 3 * aRowStride]);
                x30 = b0.fma(a3, x30);
                x31 = b1.fma(a3, x31);
            }
            x00.intoArray(c, cAt + n);
            x01.intoArray(c, cAt + n + LANES);
            x10.intoArray(c, c1 + n);
            x11.intoArray(c, c1 + n + LANES);
            x20.intoArray(c, c2 + n);
            x21.intoArray(c, c2 + n + LANES);
            x30.intoArray(c, c3 + n);
            x31.intoArray(c, c3 + n + LANES);
        }
        for (; n + LANES <= width; n += LANES) {
            FloatVector x0 = start(c, cAt + n, accumulate), x1 = start(c, c1 + n, accumulate);
            FloatVector x2 = start(c, c2 + n, accumulate), x3 = start(c, c3 + n, accumulate);
            for (int kk = kFrom; kk < kTo; kk++) {
                int ak = aAt + kk * aColStride;
                FloatVector bv = FloatVector.fromArray(SPECIES, b, bAt + kk * bStride + n);
                x0 = bv.fma(FloatVector.broadcast(SPECIES, a[ak]), x0);
                x1 = bv.fma(FloatVector.broadcast(SPECIES, a[ak + aRowStride]), x1);
                x2 = bv.fma(FloatVector.broadcast(SPECIES, a[ak + 2 * aRowStride]), x2);
                x3 = bv.fma(FloatVector.broadcast(SPECIES, a[ak + 3 * aRowStride]), x3);
            }
            x0.intoArray(c, cAt + n);
            x1.intoArray(c, c1 + n);
            x2.intoArray(c, c2 + n);
            x3.intoArray(c, c3 + n);
        }
        // Widths that are not whole vectors (headDim 40 on 16 lanes): finish column by column.
        for (; n < width; n++) {
            for (int r = 0; r < ROWS; r++) {
                scalarColumn(c, cAt + r * cStride + n, accumulate, a, aAt + r * aRowStride, aColStride, b, bAt + n, bStride, kFrom, kTo);
            }
        }
    }

    private static void oneRow(float[] c, int cAt, boolean accumulate, float[] a, int aAt, int aColStride,
                               float[] b, int bAt, int bStride, int kFrom, int kTo, int width) {
        int n = 0;
        for (; n + 2 * LANES <= width; n += 2 * LANES) {
            FloatVector x0 = start(c, cAt + n, accumulate), x1 = start(c, cAt + n + LANES, accumulate);
            for (int kk = kFrom; kk < kTo; kk++) {
                int bk = bAt + kk * bStride + n;
                FloatVector av = FloatVector.broadcast(SPECIES, a[aAt + kk * aColStride]);
                x0 = FloatVector.fromArray(SPECIES, b, bk).fma(av, x0);
                x1 = FloatVector.fromArray(SPECIES, b, bk + LANES).fma(av, x1);
            }
            x0.intoArray(c, cAt + n);
            x1.intoArray(c, cAt + n + LANES);
        }
        for (; n + LANES <= width; n += LANES) {
            FloatVector x = start(c, cAt + n, accumulate);
            for (int kk = kFrom; kk < kTo; kk++) {
                x = FloatVector.fromArray(SPECIES, b, bAt + kk * bStride + n).fma(FloatVector.broadcast(SPECIES, a[aAt + kk * aColStride]), x);
            }
            x.intoArray(c, cAt + n);
        }
        for (; n < width; n++) scalarColumn(c, cAt + n, accumulate, a, aAt, aColStride, b, bAt + n, bStride, kFrom, kTo);
    }

    private static void scalarColumn(float[] c, int cAt, boolean accumulate, float[] a, int aAt, int aColStride,
                                     float[] b, int bAt, int bStride, int kFrom, int kTo) {
        float x = accumulate ? c[cAt] : 0f;
        for (int kk = kFrom; kk < kTo; kk++) x = Math.fma(a[aAt + kk * aColStride], b[bAt + kk * bStride], x);
        c[cAt] = x;
    }

    private static FloatVector start(float[] c, int at, boolean accumulate) {
        return accumulate ? FloatVector.fromArray(SPECIES, c, at) : FloatVector.zero(SPECIES);
    }
}
