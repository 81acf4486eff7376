package dev.sparsetrain.cpu;

import dev.sparsetrain.sparse.SoftThreshold;
import dev.sparsetrain.tensor.SparseKernels.WeightStats;

/**
 * S-STE pruning of a latent weight into a {@link CpuPackedWeight}, in one pass: the dense effective
 * matrix, the compressed rows and the magnitude sums. The selection and the arithmetic are those of
 * {@link SoftThreshold}, so the dense result equals {@code SoftThreshold.apply} bit for bit.
 */
final class SparseWeightPruning {
    /** Output rows per parallel block: with a transposed source, 16 rows share each 64-byte line read. */
    private static final int BLOCK = 16;

    private SparseWeightPruning() {}

    /**
     * Prunes W = w[wOff..] [rows, cols], or with {@code transposed} the transpose of w[wOff..]
     * [cols, rows], with groups of 4 along cols, scaled by beta.
     */
    static void prune(CpuPackedWeight out, float[] w, int wOff, boolean transposed, float beta) {
        int rows = out.rows, cols = out.cols, blocks = (rows + BLOCK - 1) / BLOCK;
        double[] sums = new double[2 * blocks];
        Parallel.forRange(blocks, Math.max(1, 4096 / (BLOCK * cols)), (from, to) -> {
            float[] group = new float[4];
            for (int b = from; b < to; b++) {
                double abs = 0, pruned = 0;
                for (int g = 0; g < cols / 4; g++) {
                    for (int r = b * BLOCK, end = Math.min(rows, r + BLOCK); r < end; r++) {
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
                sums[2 * b] = abs;
                sums[2 * b + 1] = pruned;
            }
        });
        double abs = 0, pruned = 0;
        for (int b = 0; b < blocks; b++) {
            abs += sums[2 * b];
            pruned += sums[2 * b + 1];
        }
        out.stats = new WeightStats(abs, pruned);
    }
}
