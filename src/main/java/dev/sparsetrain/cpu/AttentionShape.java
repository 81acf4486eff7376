package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Tensor;

/**
 * The dimensions of one causal grouped-query attention call and the index arithmetic of its
 * layouts: q, out, dq, dOut [batch·seqLen, nHeads·headDim]; k, v, dk, dv [batch·seqLen,
 * nKvHeads·headDim]; lse [batch, nHeads, seqLen]. Indices are relative to each tensor's offset.
 */
record AttentionShape(int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {

    AttentionShape {
        if (batch < 0 || seqLen < 0) {
            throw new IllegalArgumentException("attention batch and seqLen must be >= 0, got batch=" + batch + ", seqLen=" + seqLen);
        }
        if (headDim <= 0) throw new IllegalArgumentException("attention headDim must be > 0, got " + headDim);
        if (nHeads <= 0 || nKvHeads <= 0 || nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException("attention needs nKvHeads > 0 dividing nHeads, got nHeads=" + nHeads
                    + ", nKvHeads=" + nKvHeads);
        }
    }

    /** Query heads that share one kv head. */
    int group() { return nHeads / nKvHeads; }

    /** Row width of q, out, dq and dOut. */
    int queryWidth() { return nHeads * headDim; }

    /** Row width of k, v, dk and dv. */
    int kvWidth() { return nKvHeads * headDim; }

    /** The softmax temperature 1/sqrt(headDim). */
    float scale() { return (float) (1.0 / Math.sqrt(headDim)); }

    /** Tiles of {@link AttentionVectors#TILE} positions covering one sequence. */
    int tiles() { return Math.ceilDiv(seqLen, AttentionVectors.TILE); }

    /** First element of query head {@code h} at position {@code i} of batch row {@code b}. */
    int queryAt(int b, int i, int h) { return (b * seqLen + i) * queryWidth() + h * headDim; }

    /** First element of kv head {@code kvh} at position {@code j} of batch row {@code b}. */
    int kvAt(int b, int j, int kvh) { return (b * seqLen + j) * kvWidth() + kvh * headDim; }

    /** The lse (and per-row scalar) element of head {@code h} at position {@code i} of batch row {@code b}. */
    int rowAt(int b, int h, int i) { return (b * nHeads + h) * seqLen + i; }

    /** First element of tile {@code tile} of kv head {@code kvh} of batch row {@code b} in a transposed tile copy. */
    int tileAt(int b, int kvh, int tile) { return ((b * nKvHeads + kvh) * tiles() + tile) * headDim * AttentionVectors.TILE; }

    /** Floats in a transposed tile copy of k or v: k's size with the sequence rounded up to whole tiles. */
    int transposedTilesSize() {
        long size = (long) batch * nKvHeads * tiles() * headDim * AttentionVectors.TILE;
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("attention " + this + " needs a tile copy of k of " + size
                    + " floats, more than a Java array holds; use a smaller batch or sequence per call");
        }
        return (int) size;
    }

    /** Throws unless {@code t} holds exactly the elements the layout above gives it. */
    void requireQueryShaped(Tensor t, String name) { requireSize(t, name, (long) batch * seqLen * queryWidth()); }

    void requireKvShaped(Tensor t, String name) { requireSize(t, name, (long) batch * seqLen * kvWidth()); }

    void requireRowShaped(Tensor t, String name) { requireSize(t, name, (long) batch * nHeads * seqLen); }

    private void requireSize(Tensor t, String name, long expected) {
        if (t.numel() != expected) {
            throw new IllegalArgumentException("attention " + name + " is " + t + " with " + t.numel() + " elements, but "
                    + this + " needs " + expected);
        }
    }
}
