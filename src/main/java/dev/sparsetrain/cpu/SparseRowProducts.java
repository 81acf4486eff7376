package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * GEMMs 2 and 4: out[r,:] = Σ_j V[r,j]·W[e·f + j, :] with V the packed A (GEMM 2, W = W2eᵀ) or dZ
 * (GEMM 4, W = W1e), V 2:4 along K = f. Per tile and neuron, a chunk of the neuron's dense weight row
 * stays in registers while it is added, scaled, into the rows the pattern's set bits name; so only
 * the stored non-zeros cost work. The tile's output rows stay in L1 across its neurons.
 */
final class SparseRowProducts {
    private static final VectorSpecies<Float> S = SparseLanes.F;
    private static final int L = SparseLanes.L;

    private SparseRowProducts() {}

    /** Overwrites out [P, d] with the product of the packed {@code values} (act.a or act.dz) and {@code w}'s dense rows. */
    static void run(Tensor out, CpuPackedActivations act, float[] values, CpuPackedWeight w) {
        if (w.rows != act.neurons) {
            throw new IllegalArgumentException("the weight has " + w.rows + " rows but the activations have " + act.neurons + " neurons");
        }
        int d = w.cols;
        SparseShapes.requireMatrix(out, act.tiles.rowOffsets[act.experts], d, "routed output");
        float[] o = f(out);
        int oo = off(out);
        Parallel.forRange(act.tiles.count, 1, (from, to) -> {
            for (int tile = from; tile < to; tile++) tile(act, tile, values, w, o, oo, d);
        });
    }

    private static void tile(CpuPackedActivations act, int tile, float[] values, CpuPackedWeight w, float[] o, int oo, int d) {
        int f = act.f, e = act.tiles.expert[tile];
        int rowBase = oo + act.tiles.firstRow[tile] * d;
        java.util.Arrays.fill(o, rowBase, rowBase + act.tiles.rows[tile] * d, 0f);
        for (int n = 0; n < f; n++) {
            long bits = act.bits[tile * f + n];
            if (bits == 0) continue;
            int wRow = (e * f + n) * d, at = act.slot(tile, n);
            int c = 0;
            for (; c + 4 * L <= d; c += 4 * L) addFourVectors(bits, values, at, w.dense, wRow + c, o, rowBase + c, d);
            for (; c + L <= d; c += L) addOneVector(bits, values, at, w.dense, wRow + c, o, rowBase + c, d);
            if (c < d) addScalars(bits, values, at, w.dense, wRow + c, o, rowBase + c, d, d - c);
        }
    }

    private static void addFourVectors(long bits, float[] values, int at, float[] w, int wOff, float[] o, int oOff, int d) {
        FloatVector w0 = FloatVector.fromArray(S, w, wOff), w1 = FloatVector.fromArray(S, w, wOff + L);
        FloatVector w2 = FloatVector.fromArray(S, w, wOff + 2 * L), w3 = FloatVector.fromArray(S, w, wOff + 3 * L);
        for (long b = bits; b != 0; b &= b - 1) {
            FloatVector v = FloatVector.broadcast(S, values[at++]);
            int y = oOff + Long.numberOfTrailingZeros(b) * d;
            w0.fma(v, FloatVector.fromArray(S, o, y)).intoArray(o, y);
            w1.fma(v, FloatVector.fromArray(S, o, y + L)).intoArray(o, y + L);
            w2.fma(v, FloatVector.fromArray(S, o, y + 2 * L)).intoArray(o, y + 2 * L);
            w3.fma(v, FloatVector.fromArray(S, o, y + 3 * L)).intoArray(o, y + 3 * L);
        }
    }

    private static void addOneVector(long bits, float[] values, int at, float[] w, int wOff, float[] o, int oOff, int d) {
        FloatVector w0 = FloatVector.fromArray(S, w, wOff);
        for (long b = bits; b != 0; b &= b - 1) {
            int y = oOff + Long.numberOfTrailingZeros(b) * d;
            w0.fma(FloatVector.broadcast(S, values[at++]), FloatVector.fromArray(S, o, y)).intoArray(o, y);
        }
    }

    private static void addScalars(long bits, float[] values, int at, float[] w, int wOff, float[] o, int oOff, int d, int width) {
        for (long b = bits; b != 0; b &= b - 1) {
            float v = values[at++];
            int y = oOff + Long.numberOfTrailingZeros(b) * d;
            for (int c = 0; c < width; c++) o[y + c] = Math.fma(w[wOff + c], v, o[y + c]);
        }
    }
}
