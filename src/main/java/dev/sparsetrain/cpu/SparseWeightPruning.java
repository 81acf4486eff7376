package dev.sparsetrain.cpu;

import dev.sparsetrain.sparse.SoftThreshold;
import dev.sparsetrain.tensor.SparseKernels.WeightStats;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * S-STE pruning of a latent weight into a {@link CpuPackedWeight}, in one pass: the dense effective
 * matrix, the compressed rows and the magnitude sums. The selection and the arithmetic are those of
 * {@link SoftThreshold} (keys = |w| bits, ties to the higher index, {@code β·copySign(|w| − t, w)}),
 * so the dense result equals {@code SoftThreshold.apply} bit for bit.
 *
 * <p>Vector lanes run over {@link SparseLanes#L} output rows (neurons) at once, each lane holding one
 * row's group of 4: blocks of rows are transposed into a column-major scratch (for W2 [d,F] that is
 * its own layout), pruned with lane-parallel compares and written back row-major. Rows past the last
 * full block take the scalar path.
 */
final class SparseWeightPruning {
    private static final VectorSpecies<Float> S = SparseLanes.F;
    private static final VectorSpecies<Integer> SI = S.withLanes(int.class);
    private static final int L = SparseLanes.L;

    private SparseWeightPruning() {}

    /**
     * Prunes W = w[wOff..] [rows, cols], or with {@code transposed} the transpose of w[wOff..]
     * [cols, rows], with groups of 4 along cols, scaled by beta.
     */
    static void prune(CpuPackedWeight out, float[] w, int wOff, boolean transposed, float beta) {
        int rows = out.rows, cols = out.cols, blocks = (rows + L - 1) / L;
        double[] sums = new double[2 * blocks];
        Parallel.forRange(blocks, Math.max(1, 4096 / (L * cols)), (from, to) -> {
            float[] scratch = SparseScratch.floats(SparseScratch.TILE_INPUT, (5 * cols / 2 + 2) * L);
            int[] columns = SparseScratch.ints(SparseScratch.COLUMNS, cols / 2 * L);
            for (int b = from; b < to; b++) {
                int r0 = b * L;
                if (r0 + L <= rows) vectorBlock(out, w, wOff, transposed, beta, r0, scratch, columns, sums, b);
                else scalarRows(out, w, wOff, transposed, beta, r0, rows, sums, b);
            }
        });
        double abs = 0, pruned = 0;
        for (int b = 0; b < blocks; b++) {
            abs += sums[2 * b];
            pruned += sums[2 * b + 1];
        }
        out.stats = new WeightStats(abs, pruned);
    }

    /**
     * Rows [r0, r0+L). The float scratch holds the block column-major: the input [cols][L], the dense
     * output [cols][L], the packed values [cols/2][L] and two sums; the int scratch the packed columns.
     */
    private static void vectorBlock(CpuPackedWeight out, float[] w, int wOff, boolean transposed, float beta, int r0,
                                    float[] scratch, int[] columns, double[] sums, int block) {
        int rows = out.rows, cols = out.cols, half = out.half;
        int dense = cols * L, values = 2 * cols * L, totals = values + half * L;
        for (int c = 0; c < cols; c++) {
            if (transposed) System.arraycopy(w, wOff + c * rows + r0, scratch, c * L, L);
            else for (int j = 0; j < L; j++) scratch[c * L + j] = w[wOff + (r0 + j) * cols + c];
        }
        java.util.Arrays.fill(scratch, totals, totals + 2 * L, 0f);
        for (int g = 0; g < cols / 4; g++) pruneGroup(scratch, g, dense, values, columns, totals, beta);
        for (int j = 0; j < L; j++) {
            int r = r0 + j;
            for (int c = 0; c < cols; c++) out.dense[r * cols + c] = scratch[dense + c * L + j];
            for (int p = 0; p < half; p++) {
                out.values[r * half + p] = scratch[values + p * L + j];
                out.columns[r * half + p] = columns[p * L + j];
            }
        }
        // Scalar sums in lane order, so the statistics do not depend on JIT timing (see VectorMath).
        float kept = 0, all = 0;
        for (int j = 0; j < L; j++) {
            kept += scratch[totals + j];
            all += scratch[totals + L + j];
        }
        sums[2 * block] = kept;
        sums[2 * block + 1] = all / Math.abs(beta);
    }

    /**
     * Group g of the L rows of a block, lanes = rows. Only arrays cross the call: a method that
     * passed vectors to a callee the JIT declined to inline would box them.
     */
    private static void pruneGroup(float[] scratch, int g, int dense, int values, int[] columns, int totals, float beta) {
        int at = 4 * g * L;
        FloatVector x0 = FloatVector.fromArray(S, scratch, at), x1 = FloatVector.fromArray(S, scratch, at + L);
        FloatVector x2 = FloatVector.fromArray(S, scratch, at + 2 * L), x3 = FloatVector.fromArray(S, scratch, at + 3 * L);
        IntVector k0 = x0.reinterpretAsInts().and(0x7fff_ffff), k1 = x1.reinterpretAsInts().and(0x7fff_ffff);
        IntVector k2 = x2.reinterpretAsInts().and(0x7fff_ffff), k3 = x3.reinterpretAsInts().and(0x7fff_ffff);
        // bJI: element J beats element I (J > I, ties to the higher index); kept = beaten at most once.
        VectorMask<Integer> b10 = k1.compare(VectorOperators.GE, k0), b20 = k2.compare(VectorOperators.GE, k0);
        VectorMask<Integer> b30 = k3.compare(VectorOperators.GE, k0), b21 = k2.compare(VectorOperators.GE, k1);
        VectorMask<Integer> b31 = k3.compare(VectorOperators.GE, k1), b32 = k3.compare(VectorOperators.GE, k2);
        VectorMask<Integer> a1 = b10.not(), a2 = b20.not(), a3 = b30.not(), c2 = b21.not(), c3 = b31.not(), d3 = b32.not();
        VectorMask<Integer> keep0 = b10.and(b20).or(b10.and(b30)).or(b20.and(b30)).not();
        VectorMask<Integer> keep1 = a1.and(b21).or(a1.and(b31)).or(b21.and(b31)).not();
        VectorMask<Integer> keep2 = a2.and(c2).or(a2.and(b32)).or(c2.and(b32)).not();
        VectorMask<Integer> keep3 = a3.and(c3).or(a3.and(d3)).or(c3.and(d3)).not();
        // t = the larger dropped magnitude (keys order as magnitudes); kept values become β·copySign(|x| − t, x).
        IntVector zero = IntVector.zero(SI);
        FloatVector t = k0.blend(zero, keep0).max(k1.blend(zero, keep1)).max(k2.blend(zero, keep2))
                .max(k3.blend(zero, keep3)).reinterpretAsFloats();
        IntVector sign = IntVector.broadcast(SI, 0x8000_0000);
        VectorMask<Float> f0 = keep0.cast(S), f1 = keep1.cast(S), f2 = keep2.cast(S), f3 = keep3.cast(S);
        FloatVector o0 = k0.reinterpretAsFloats().sub(t).reinterpretAsInts().or(x0.reinterpretAsInts().and(sign))
                .reinterpretAsFloats().mul(beta).blend(0f, f0.not());
        FloatVector o1 = k1.reinterpretAsFloats().sub(t).reinterpretAsInts().or(x1.reinterpretAsInts().and(sign))
                .reinterpretAsFloats().mul(beta).blend(0f, f1.not());
        FloatVector o2 = k2.reinterpretAsFloats().sub(t).reinterpretAsInts().or(x2.reinterpretAsInts().and(sign))
                .reinterpretAsFloats().mul(beta).blend(0f, f2.not());
        FloatVector o3 = k3.reinterpretAsFloats().sub(t).reinterpretAsInts().or(x3.reinterpretAsInts().and(sign))
                .reinterpretAsFloats().mul(beta).blend(0f, f3.not());
        o0.intoArray(scratch, dense + at);
        o1.intoArray(scratch, dense + at + L);
        o2.intoArray(scratch, dense + at + 2 * L);
        o3.intoArray(scratch, dense + at + 3 * L);
        // Packed slots: the first and the last kept element of each lane's group, with their columns.
        o2.blend(o1, f1).blend(o0, f0).intoArray(scratch, values + 2 * g * L);
        o1.blend(o2, f2).blend(o3, f3).intoArray(scratch, values + (2 * g + 1) * L);
        IntVector c0 = IntVector.broadcast(SI, 4 * g);
        c0.add(2).blend(c0.add(1), keep1).blend(c0, keep0).intoArray(columns, 2 * g * L);
        c0.add(1).blend(c0.add(2), keep2).blend(c0.add(3), keep3).intoArray(columns, (2 * g + 1) * L);
        FloatVector.fromArray(S, scratch, totals).add(k0.reinterpretAsFloats()).add(k1.reinterpretAsFloats())
                .add(k2.reinterpretAsFloats()).add(k3.reinterpretAsFloats()).intoArray(scratch, totals);
        FloatVector.fromArray(S, scratch, totals + L).add(o0.abs()).add(o1.abs()).add(o2.abs()).add(o3.abs())
                .intoArray(scratch, totals + L);
    }

    /** The scalar path for the rows [r0, end) that do not fill a vector. */
    private static void scalarRows(CpuPackedWeight out, float[] w, int wOff, boolean transposed, float beta, int r0, int end,
                                   double[] sums, int block) {
        int rows = out.rows, cols = out.cols;
        float[] group = new float[4];
        double abs = 0, pruned = 0;
        for (int r = r0; r < end; r++) {
            for (int g = 0; g < cols / 4; g++) {
                for (int i = 0; i < 4; i++) {
                    int c = 4 * g + i;
                    group[i] = w[wOff + (transposed ? c * rows + r : r * cols + c)];
                }
                int mask = SoftThreshold.groupMask(group, 0);
                float t = 0f; // the larger dropped magnitude, as SoftThreshold.groupThreshold
                for (int i = 0; i < 4; i++) {
                    if ((mask & (1 << i)) == 0) t = Math.max(t, Math.abs(group[i]));
                }
                int dense = r * cols + 4 * g, packed = r * out.half + 2 * g, slot = 0;
                for (int i = 0; i < 4; i++) {
                    float x = group[i];
                    abs += Math.abs(x);
                    if ((mask & (1 << i)) == 0) {
                        out.dense[dense + i] = 0f;
                        continue;
                    }
                    float shrunk = Math.copySign(Math.abs(x) - t, x);
                    pruned += Math.abs(shrunk);
                    float v = beta * shrunk;
                    out.dense[dense + i] = v;
                    out.values[packed + slot] = v;
                    out.columns[packed + slot] = 4 * g + i;
                    slot++;
                }
            }
        }
        sums[2 * block] = abs;
        sums[2 * block + 1] = pruned;
    }
}
