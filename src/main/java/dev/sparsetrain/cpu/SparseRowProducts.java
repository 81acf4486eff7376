package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * GEMMs 2 and 4: out[perm[r],:] = Σ_j V[r,j]·W[e·f + j, :] with V the packed A (GEMM 2, W = W2eᵀ) or
 * dZ (GEMM 4, W = W1e), V 2:4 along K = f, written straight into the token rows (the scatter back
 * is part of the store).
 *
 * <p>Per tile, the per-neuron patterns are first turned into per-row lists of (neuron, value), the
 * row-major 2:4 operand with its zeros dropped; then each output row accumulates in registers over
 * its list and is stored once. Why not add each neuron's weight row into the output rows directly:
 * that loads and stores the output row once per non-zero, and the stores, not the FMAs, would set
 * the pace (a core stores half as many bytes per cycle as it loads).
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
        int d = w.cols, f = act.f;
        SparseShapes.requireMatrix(out, (int) out.dim(0), d, "output");
        float[] o = f(out);
        int oo = off(out);
        // A row keeps at most 2 of every 4 neurons of its expert.
        int cap = f / 2;
        Parallel.forRange(act.tiles.count, 1, (from, to) -> {
            int[] lists = SparseScratch.ints(SparseScratch.ROW_LISTS, TILE * (cap + 1));
            float[] listValues = SparseScratch.floats(SparseScratch.TILE_OUTPUT, TILE * cap);
            for (int tile = from; tile < to; tile++) tile(act, tile, values, w, o, oo, d, cap, lists, listValues);
        });
    }

    /** lists: [TILE] counts, then [TILE][cap] weight-row offsets; listValues [TILE][cap]. */
    private static void tile(CpuPackedActivations act, int tile, float[] values, CpuPackedWeight w, float[] o, int oo, int d,
                             int cap, int[] lists, float[] listValues) {
        int f = act.f, e = act.tiles.expert[tile], first = act.tiles.firstRow[tile], rows = act.tiles.rows[tile];
        java.util.Arrays.fill(lists, 0, TILE, 0);
        for (int n = 0; n < f; n++) {
            int at = act.slot(tile, n), wRow = (e * f + n) * d;
            for (long b = act.bits[tile * f + n]; b != 0; b &= b - 1) {
                int t = Long.numberOfTrailingZeros(b), slot = t * cap + lists[t]++;
                lists[TILE + slot] = wRow;
                listValues[slot] = values[at++];
            }
        }
        for (int t = 0; t < rows; t++) {
            int token = act.perm[first + t];
            if (token < 0) continue; // a padding row: no token to write, and no pattern bits
            int y = oo + token * d, count = lists[t], list = t * cap;
            int c = 0;
            for (; c + 8 * L <= d; c += 8 * L) rowEightVectors(w.dense, lists, listValues, list, count, c, o, y + c);
            for (; c + 4 * L <= d; c += 4 * L) rowFourVectors(w.dense, lists, listValues, list, count, c, o, y + c);
            for (; c + L <= d; c += L) rowOneVector(w.dense, lists, listValues, list, count, c, o, y + c);
            for (; c < d; c++) {
                float acc = 0f;
                for (int j = list; j < list + count; j++) acc = Math.fma(w.dense[lists[TILE + j] + c], listValues[j], acc);
                o[y + c] = acc;
            }
        }
    }

    /** o[y .. y+8L) = Σ_j listValues[j]·w[offset_j + c ..] over the row's list. */
    private static void rowEightVectors(float[] w, int[] lists, float[] listValues, int list, int count, int c, float[] o, int y) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        for (int j = list, end = list + count; j < end; j++) {
            FloatVector v = FloatVector.broadcast(S, listValues[j]);
            int r = lists[TILE + j] + c;
            a0 = FloatVector.fromArray(S, w, r).fma(v, a0);
            a1 = FloatVector.fromArray(S, w, r + L).fma(v, a1);
            a2 = FloatVector.fromArray(S, w, r + 2 * L).fma(v, a2);
            a3 = FloatVector.fromArray(S, w, r + 3 * L).fma(v, a3);
            a4 = FloatVector.fromArray(S, w, r + 4 * L).fma(v, a4);
            a5 = FloatVector.fromArray(S, w, r + 5 * L).fma(v, a5);
            a6 = FloatVector.fromArray(S, w, r + 6 * L).fma(v, a6);
            a7 = FloatVector.fromArray(S, w, r + 7 * L).fma(v, a7);
        }
        a0.intoArray(o, y);
        a1.intoArray(o, y + L);
        a2.intoArray(o, y + 2 * L);
        a3.intoArray(o, y + 3 * L);
        a4.intoArray(o, y + 4 * L);
        a5.intoArray(o, y + 5 * L);
        a6.intoArray(o, y + 6 * L);
        a7.intoArray(o, y + 7 * L);
    }

    private static void rowFourVectors(float[] w, int[] lists, float[] listValues, int list, int count, int c, float[] o, int y) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        for (int j = list, end = list + count; j < end; j++) {
            FloatVector v = FloatVector.broadcast(S, listValues[j]);
            int r = lists[TILE + j] + c;
            a0 = FloatVector.fromArray(S, w, r).fma(v, a0);
            a1 = FloatVector.fromArray(S, w, r + L).fma(v, a1);
            a2 = FloatVector.fromArray(S, w, r + 2 * L).fma(v, a2);
            a3 = FloatVector.fromArray(S, w, r + 3 * L).fma(v, a3);
        }
        a0.intoArray(o, y);
        a1.intoArray(o, y + L);
        a2.intoArray(o, y + 2 * L);
        a3.intoArray(o, y + 3 * L);
    }

    private static void rowOneVector(float[] w, int[] lists, float[] listValues, int list, int count, int c, float[] o, int y) {
        FloatVector a0 = FloatVector.zero(S);
        for (int j = list, end = list + count; j < end; j++) {
            a0 = FloatVector.fromArray(S, w, lists[TILE + j] + c).fma(FloatVector.broadcast(S, listValues[j]), a0);
        }
        a0.intoArray(o, y);
    }
}
