package dev.sparsetrain.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector species and tile size of the attention kernels, and their row-wise Vector API steps:
 * the softmax pieces on score rows and the small reductions over headDim. Score rows are computed
 * against key tiles stored transposed ({@code [headDim][TILE]}), so their vectors run along the
 * keys and need no horizontal sum per key; see {@link AttentionProduct}.
 */
final class AttentionVectors {
    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();
    /** Positions per tile, for queries and keys alike: 64 rounded up to whole vectors. */
    static final int TILE = Math.ceilDiv(64, LANES) * LANES;

    private AttentionVectors() {}

    /** {@code count} rounded up to whole vectors: the width a score row is computed over. */
    static int paddedWidth(int count) { return Math.ceilDiv(count, LANES) * LANES; }

    /**
     * Every key (or value) tile of {@code src}, laid out transposed: tile (b, kvh, t) starts at
     * {@link AttentionShape#tileAt} and holds element e of position t·TILE + c at [e·TILE + c], with
     * zeros past the sequence end. One copy per call, shared by every task that reads the tile.
     */
    static float[] transposedTiles(float[] src, int srcAt, AttentionShape shape) {
        int d = shape.headDim(), tiles = shape.tiles(), kvHeads = shape.nKvHeads(), stride = shape.kvWidth();
        float[] dst = new float[shape.transposedTilesSize()];
        Parallel.forRange(shape.batch() * kvHeads * tiles, 4, (from, to) -> {
            for (int task = from; task < to; task++) {
                int b = task / (kvHeads * tiles), kvh = task / tiles % kvHeads, j0 = task % tiles * TILE;
                int base = shape.tileAt(b, kvh, task % tiles), keys = Math.min(TILE, shape.seqLen() - j0);
                for (int c = 0; c < keys; c++) {
                    int row = srcAt + shape.kvAt(b, j0 + c, kvh);
                    for (int e = 0; e < d; e++) dst[base + e * TILE + c] = src[row + e];
                }
            }
        });
        return dst;
    }

    /** max of row[at..at + count), count &gt;= 1. */
    static float max(float[] row, int at, int count) {
        FloatVector m = FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY);
        int c = 0;
        for (; c + LANES <= count; c += LANES) m = m.max(FloatVector.fromArray(SPECIES, row, at + c));
        if (c < count) {
            m = m.max(FloatVector.broadcast(SPECIES, Float.NEGATIVE_INFINITY)
                    .blend(FloatVector.fromArray(SPECIES, row, at + c), SPECIES.indexInRange(c, count)));
        }
        return m.reduceLanes(VectorOperators.MAX);
    }

    /**
     * row[at + c] = exp(row[at + c]·scale − shift) for c &lt; count, and 0 for the padding up to
     * paddedWidth(count). Returns the sum of the exponentials.
     */
    static float expScaledShifted(float[] row, int at, int count, float scale, float shift) {
        // Whole vectors over the padded width, so the vector loop runs on every call whatever the
        // count: a loop that small shapes never enter gets compiled as a trap, and after enough
        // deoptimisations C2 stops compiling it and every vector is boxed from then on.
        VectorMath.exp(row, at, row, at, paddedWidth(count), scale, shift);
        // The padding lanes hold scores of masked or stale keys: zero them for the tile products.
        java.util.Arrays.fill(row, at + count, at + paddedWidth(count), 0f);
        // A scalar sum in index order: the same rounding in interpreted and compiled code (a vector
        // reduceLanes is not), and cheap next to the tile products.
        float sum = 0;
        for (int j = 0; j < count; j++) sum += row[at + j];
        return sum;
    }

    /**
     * ds[dsAt + c] = p[pAt + c]·(ds[dsAt + c] − delta)·scale for c &lt; count, and 0 for the padding up
     * to paddedWidth(count): turns a row of dP into dS in place.
     */
    static void scoreGradients(float[] ds, int dsAt, float[] p, int pAt, int count, float delta, float scale) {
        FloatVector d = FloatVector.broadcast(SPECIES, delta);
        for (int c = 0; c < count; c += LANES) {
            FloatVector g = FloatVector.fromArray(SPECIES, ds, dsAt + c).sub(d).mul(FloatVector.fromArray(SPECIES, p, pAt + c)).mul(scale);
            if (c + LANES > count) g = FloatVector.zero(SPECIES).blend(g, SPECIES.indexInRange(c, count));
            g.intoArray(ds, dsAt + c);
        }
    }

    /** Σ_e a[aAt + e]·b[bAt + e] for e &lt; depth. */
    static float dot(float[] a, int aAt, float[] b, int bAt, int depth) {
        // Scalar and in index order, for the same rounding in every execution mode; once per row.
        float s = 0;
        for (int e = 0; e < depth; e++) s = Math.fma(a[aAt + e], b[bAt + e], s);
        return s;
    }

    /** row[at + e] *= factor for e &lt; depth. */
    static void scale(float[] row, int at, int depth, float factor) {
        int e = 0;
        for (; e + LANES <= depth; e += LANES) FloatVector.fromArray(SPECIES, row, at + e).mul(factor).intoArray(row, at + e);
        for (; e < depth; e++) row[at + e] *= factor;
    }
}
