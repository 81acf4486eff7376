package dev.sparsetrain.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The inner product of GEMMs 1 and 3: compressed 2:4 weight rows times a transposed tile of routed
 * rows. The left operand is sparse along K, so each kept weight broadcasts into four FMAs over the
 * tile's {@link SparseLanes#TILE} rows (one row of the tile transpose); the pruned half of the
 * weights is never touched.
 */
final class SparseTileProduct {
    private static final VectorSpecies<Float> S = SparseLanes.F;
    private static final int L = SparseLanes.L, TILE = SparseLanes.TILE;
    /** K rows of the tile transpose per pass: 128 × TILE floats = 32 KB, an L1 data cache. */
    private static final int K_CHUNK = 128;

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
     * {@code out[(n − first)·TILE + j] = Σ_k W[n,k]·xt[k·TILE + j]} for the tile's lanes j and the
     * neurons n in [first, first + count) whose {@code bits} entry (from {@code bitsOff}) is non-zero,
     * or all of them when {@code bits} is null. K runs in chunks of {@link #K_CHUNK}, each chunk
     * outermost, so its slice of the tile transpose is reused by every neuron while it sits in L1.
     */
    static void neuronsTimesTile(CpuPackedWeight w, int first, int count, long[] bits, int bitsOff, float[] xt, int d, float[] out) {
        for (int k = 0; k < d; k += K_CHUNK) {
            // Each group of 4 columns keeps exactly 2 weights, so columns [k, k + K) are packed positions [k/2, (k + K)/2).
            int from = k / 2, kept = Math.min(K_CHUNK, d - k) / 2;
            for (int n = 0; n < count; n++) {
                if (bits != null && bits[bitsOff + n] == 0) continue;
                rowTimesTile(w.values, w.columns, (first + n) * w.half + from, kept, xt, out, n * TILE, k > 0);
            }
        }
    }

    /**
     * {@code out[outOff + j] (+)= Σ_p values[base+p]·xt[columns[base+p]·TILE + j]} for p &lt; count and
     * the tile's TILE lanes j, adding to out when {@code accumulate}.
     */
    static void rowTimesTile(float[] values, int[] columns, int base, int count, float[] xt, float[] out, int outOff,
                             boolean accumulate) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        if (accumulate) {
            a0 = FloatVector.fromArray(S, out, outOff);
            a1 = FloatVector.fromArray(S, out, outOff + L);
            a2 = FloatVector.fromArray(S, out, outOff + 2 * L);
            a3 = FloatVector.fromArray(S, out, outOff + 3 * L);
        }
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
