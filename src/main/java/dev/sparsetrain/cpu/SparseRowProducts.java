package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * GEMMs 2 and 4: out[perm[r],:] = Σ_j V[r,j]·W[e·f + j, :] with V the packed A (GEMM 2, W = W2eᵀ) or
 * dZ (GEMM 4, W = W1e), V 2:4 along K = f, written straight into the token rows (the scatter back
 * is part of the store). Per tile and neuron, a chunk of the neuron's dense weight row stays in
 * registers while it is added, scaled, into the rows the pattern's set bits name; so only the
 * stored non-zeros cost work.
 */
final class SparseRowProducts {
    private static final VectorSpecies<Float> S = SparseLanes.F;
    private static final int L = SparseLanes.L, TILE = SparseLanes.TILE;

    private SparseRowProducts() {}

    /** Overwrites out [T, d] with the product of the packed {@code values} (act.a or act.dz) and {@code w}'s dense rows. */
    static void run(Tensor out, CpuPackedActivations act, float[] values, CpuPackedWeight w) {
        if (w.rows != act.neurons) {
            throw new IllegalArgumentException("the weight has " + w.rows + " rows but the activations have " + act.neurons + " neurons");
        }
        int d = w.cols;
        SparseShapes.requireMatrix(out, (int) out.dim(0), d, "output");
        float[] o = f(out);
        int oo = off(out);
        Parallel.forRange(act.tiles.count, 1, (from, to) -> {
            int[] rowAt = SparseScratch.ints(SparseScratch.ROW_OFFSETS, TILE);
            for (int tile = from; tile < to; tile++) tile(act, tile, values, w, o, oo, d, rowAt);
        });
    }

    private static void tile(CpuPackedActivations act, int tile, float[] values, CpuPackedWeight w, float[] o, int oo, int d,
                             int[] rowAt) {
        int f = act.f, e = act.tiles.expert[tile], bitsBase = tile * f, first = act.tiles.firstRow[tile];
        for (int j = 0; j < act.tiles.rows[tile]; j++) {
            int t = act.perm[first + j];
            // Padding rows have no pattern bits, so their -1 is never used as an offset.
            rowAt[j] = t < 0 ? -1 : oo + t * d;
            if (t >= 0) java.util.Arrays.fill(o, rowAt[j], rowAt[j] + d, 0f);
        }
        // Column chunks outermost: the live output block is TILE rows × one chunk, which stays in L1.
        int c = 0;
        for (; c + 4 * L <= d; c += 4 * L) {
            for (int n = 0; n < f; n++) {
                long bits = act.bits[bitsBase + n];
                if (bits != 0) addFourVectors(bits, values, act.slot(tile, n), w.dense, (e * f + n) * d + c, o, rowAt, c);
            }
        }
        for (; c + L <= d; c += L) {
            for (int n = 0; n < f; n++) {
                long bits = act.bits[bitsBase + n];
                if (bits != 0) addOneVector(bits, values, act.slot(tile, n), w.dense, (e * f + n) * d + c, o, rowAt, c);
            }
        }
        if (c < d) {
            for (int n = 0; n < f; n++) {
                long bits = act.bits[bitsBase + n];
                if (bits != 0) addScalars(bits, values, act.slot(tile, n), w.dense, (e * f + n) * d + c, o, rowAt, c, d - c);
            }
        }
    }

    private static void addFourVectors(long bits, float[] values, int at, float[] w, int wOff, float[] o, int[] rowAt, int c) {
        FloatVector w0 = FloatVector.fromArray(S, w, wOff), w1 = FloatVector.fromArray(S, w, wOff + L);
        FloatVector w2 = FloatVector.fromArray(S, w, wOff + 2 * L), w3 = FloatVector.fromArray(S, w, wOff + 3 * L);
        for (long b = bits; b != 0; b &= b - 1) {
            FloatVector v = FloatVector.broadcast(S, values[at++]);
            int y = rowAt[Long.numberOfTrailingZeros(b)] + c;
            w0.fma(v, FloatVector.fromArray(S, o, y)).intoArray(o, y);
            w1.fma(v, FloatVector.fromArray(S, o, y + L)).intoArray(o, y + L);
            w2.fma(v, FloatVector.fromArray(S, o, y + 2 * L)).intoArray(o, y + 2 * L);
            w3.fma(v, FloatVector.fromArray(S, o, y + 3 * L)).intoArray(o, y + 3 * L);
        }
    }

    private static void addOneVector(long bits, float[] values, int at, float[] w, int wOff, float[] o, int[] rowAt, int c) {
        FloatVector w0 = FloatVector.fromArray(S, w, wOff);
        for (long b = bits; b != 0; b &= b - 1) {
            int y = rowAt[Long.numberOfTrailingZeros(b)] + c;
            w0.fma(FloatVector.broadcast(S, values[at++]), FloatVector.fromArray(S, o, y)).intoArray(o, y);
        }
    }

    private static void addScalars(long bits, float[] values, int at, float[] w, int wOff, float[] o, int[] rowAt, int c, int width) {
        for (long b = bits; b != 0; b &= b - 1) {
            float v = values[at++];
            int y = rowAt[Long.numberOfTrailingZeros(b)] + c;
            for (int k = 0; k < width; k++) o[y + k] = Math.fma(w[wOff + k], v, o[y + k]);
        }
    }
}
