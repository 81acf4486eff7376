package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * GEMM 3 fused with the activation backward: per tile of routed rows, dAᵀ for the tile's rows and
 * the expert's neurons from their compressed W2eᵀ rows (2:4 along K = d), then dZ = dA ⊙ 2·relu(z)
 * on A's pattern, packed like relu(z). Neurons with no kept row in the tile are skipped outright.
 */
final class SparseActivationGradient {
    private static final VectorSpecies<Float> S = SparseLanes.F;
    private static final int L = SparseLanes.L, TILE = SparseLanes.TILE;

    private SparseActivationGradient() {}

    static void run(CpuPackedActivations act, Tensor dY, CpuPackedWeight w2t) {
        if (w2t.rows != act.neurons) {
            throw new IllegalArgumentException("W2ᵀ has " + w2t.rows + " rows but the activations have " + act.neurons + " neurons");
        }
        int d = w2t.cols;
        SparseShapes.requireMatrix(dY, (int) dY.dim(0), d, "output gradient dY");
        float[] y = f(dY);
        int yo = off(dY);
        Parallel.forRange(act.tiles.count, 1, (from, to) -> {
            float[] yt = SparseScratch.floats(SparseScratch.TILE_INPUT, d * TILE);
            float[] dA = SparseScratch.floats(SparseScratch.TILE_OUTPUT, act.f * TILE);
            for (int tile = from; tile < to; tile++) tile(act, tile, y, yo, d, w2t, yt, dA);
        });
    }

    private static void tile(CpuPackedActivations act, int tile, float[] y, int yo, int d, CpuPackedWeight w2t,
                             float[] yt, float[] dA) {
        int f = act.f, e = act.tiles.expert[tile];
        SparseTileProduct.transposeTile(y, yo, d, act.perm, act.tiles.firstRow[tile], act.tiles.rows[tile], yt);
        SparseTileProduct.neuronsTimesTile(w2t, e * f, f, act.bits, tile * f, yt, d, dA);
        for (int n = 0; n < f; n++) {
            long bits = act.bits[tile * f + n];
            if (bits == 0) continue;
            int at = act.slot(tile, n);
            for (int v = 0; v < 4; v++) {
                long laneBits = SparseLanes.laneBits(bits, v);
                if (laneBits == 0) continue;
                VectorMask<Float> kept = VectorMask.fromLong(S, laneBits);
                // Packed dA lanes line up with the packed relu(z) of the same rows.
                FloatVector.fromArray(S, dA, n * TILE + v * L).compress(kept)
                        .mul(FloatVector.fromArray(S, act.relu, at)).mul(2f)
                        .intoArray(act.dz, at);
                at += Long.bitCount(laneBits);
            }
        }
    }
}
