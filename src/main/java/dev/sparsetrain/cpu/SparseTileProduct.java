package dev.sparsetrain.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner product of GEMMs 1 and 3: one compressed 2:4 weight row times a transposed tile of
 * routed rows. The left operand is sparse along K, so each kept weight broadcasts into four FMAs
 * over the tile's {@link SparseLanes#TILE} rows (one row of the tile transpose); the pruned half of
 * the weights is never touched.
 */
final class SparseTileProduct {
    private static final VectorSpecies<Float> S = SparseLanes.F;
    private static final int L = SparseLanes.L, TILE = SparseLanes.TILE;

    private SparseTileProduct() {}

    /**
     * The tile's routed rows gathered and transposed: {@code xt[k·TILE + j] = src[srcOff + t·d + k]}
     * with t = perm[firstRow + j] the token of tile row j; zero for padding rows and for the lanes
     * past {@code rows}.
     */
    static void transposeTile(float[] src, int srcOff, int d, int[] perm, int firstRow, int rows, float[] xt) {
        for (int j = 0; j < TILE; j++) {
            int t = j < rows ? perm[firstRow + j] : -1;
            if (t < 0) {
                for (int k = 0; k < d; k++) xt[k * TILE + j] = 0f;
                continue;
            }
            int s = srcOff + t * d;
            for (int k = 0; k < d; k++) xt[k * TILE + j] = src[s + k];
        }
    }

    /**
     * {@code out[outOff + j] = Σ_p values[base+p]·xt[columns[base+p]·TILE + j]} for p &lt; count and
     * the tile's TILE lanes j.
     */
    static void rowTimesTile(float[] values, int[] columns, int base, int count, float[] xt, float[] out, int outOff) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int p = base, end = base + count; p < end; p++) {
            FloatVector w = FloatVector.broadcast(S, values[p]);
            int x = columns[p] * TILE;
            a0 = w.fma(FloatVector.fromArray(S, xt, x), a0);
            a1 = w.fma(FloatVector.fromArray(S, xt, x + L), a1);
            a2 = w.fma(FloatVector.fromArray(S, xt, x + 2 * L), a2);
            a3 = w.fma(FloatVector.fromArray(S, xt, x + 3 * L), a3);
        }
        a0.intoArray(out, outOff);
        a1.intoArray(out, outOff + L);
        a2.intoArray(out, outOff + 2 * L);
        a3.intoArray(out, outOff + 3 * L);
    }
}
