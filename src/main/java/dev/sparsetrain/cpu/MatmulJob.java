package dev.sparsetrain.cpu;

/**
 * One GEMM call of {@link CpuMatmul}: the operands, the blocking plan and the parallel loop.
 * For each column panel of op(B), the tasks of a row-block × column-group grid compute their
 * parts of C, packing the panel's slivers as they first need them ({@link MatmulPanel}). Tasks
 * own disjoint parts of C, so beyond the shared panel they need no synchronisation.
 */
final class MatmulJob {
    private static final int MR = MatmulKernel.MR;

    private final MatmulMicroKernel kernel;
    private final int threads;
    private final float[] c, a, b;
    private final int cOff, aOff, bOff;
    private final boolean transA, transB;
    private final int m, n, k;
    private final float alpha, beta;
    private final int nr, kcMax, mcMax;

    MatmulJob(MatmulMicroKernel kernel, int threads, float[] c, int cOff, float[] a, int aOff, boolean transA,
              float[] b, int bOff, boolean transB, int m, int n, int k, float alpha, float beta,
              int kcMax, int mcMax) {
        this.kernel = kernel;
        this.threads = threads;
        this.c = c;
        this.cOff = cOff;
        this.a = a;
        this.aOff = aOff;
        this.transA = transA;
        this.b = b;
        this.bOff = bOff;
        this.transB = transB;
        this.m = m;
        this.n = n;
        this.k = k;
        this.alpha = alpha;
        this.beta = beta;
        this.nr = kernel.nr();
        this.kcMax = kcMax;
        this.mcMax = Math.max(MR, mcMax / MR * MR);
    }

    /** C[:, c0..c1) for all of k, over op(B)[:, c0..c1) packed once into a shared panel. */
    void runPanel(int c0, int c1) {
        int slivers = Math.ceilDiv(c1 - c0, nr);
        long panelFloats = (long) slivers * nr * k;
        if (panelFloats > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("matmul: k=" + k + " is too long for the CPU GEMM's packed panel of "
                    + nr + "-column slivers; split the product along k and accumulate with beta=1");
        }
        var panel = new MatmulPanel(MatmulScratch.panel().packed((int) panelFloats), slivers,
                b, bOff, transB, n, k, c0, c1, nr);

        // Row blocks: as few as keep an A block in L2, rounded up to a multiple of the thread
        // count so equal blocks spread evenly; when there are fewer blocks than threads, the
        // columns are split too (e.g. the single row of a matrix-vector product).
        int rowTiles = Math.ceilDiv(m, MR);
        int blocks = Math.ceilDiv(m, mcMax);
        if (threads > 1) blocks = Math.min(rowTiles, Math.ceilDiv(blocks, threads) * threads);
        int mc = Math.ceilDiv(rowTiles, blocks) * MR;
        int rowBlocks = Math.ceilDiv(m, mc);
        int colGroups = rowBlocks >= threads ? 1 : Math.min(slivers, Math.ceilDiv(threads, rowBlocks));
        forLanes(rowBlocks * colGroups, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int rb = t / colGroups, cg = t % colGroups;
                int q0 = slivers * cg / colGroups, q1 = slivers * (cg + 1) / colGroups;
                // Row blocks start at different slivers, so threads pack different ones at first.
                int firstSliver = (int) ((long) (q1 - q0) * rb / rowBlocks);
                computeTask(panel, c0, c1, rb * mc, Math.min(m, (rb + 1) * mc), q0, q1, firstSliver);
            }
        });
    }

    /**
     * C[r0..r1, columns of panel slivers q0..q1] over all of k, visiting the slivers from
     * q0 + firstSliver round to q0 + firstSliver − 1.
     */
    private void computeTask(MatmulPanel panel, int c0, int c1, int r0, int r1, int q0, int q1, int firstSliver) {
        MatmulScratch w = MatmulScratch.worker();
        float[] block = w.packed(Math.ceilDiv(r1 - r0, MR) * MR * kcMax);
        float[] tile = w.tile(MR * nr);
        int count = q1 - q0;
        for (int p0 = 0; p0 < k; p0 += kcMax) {
            int kc = Math.min(kcMax, k - p0);
            // Later k steps add onto what the first one wrote.
            float stepBeta = p0 == 0 ? beta : 1f;
            MatmulPacking.packA(a, aOff, transA, m, k, r0, r1, p0, kc, alpha, block);
            for (int i = 0; i < count; i++) {
                int q = q0 + (firstSliver + i) % count;
                panel.ensurePacked(q);
                int col = c0 + q * nr, cols = Math.min(nr, c1 - col), bSliver = q * k * nr + p0 * nr;
                for (int r = r0, aSliver = 0; r < r1; r += MR, aSliver += kc * MR) {
                    int rows = Math.min(MR, r1 - r), dst = cOff + r * n + col;
                    if (rows == MR && cols == nr) {
                        kernel.run(kc, block, aSliver, panel.floats, bSliver, c, dst, n, stepBeta);
                    } else {
                        kernel.run(kc, block, aSliver, panel.floats, bSliver, tile, 0, nr, 0f);
                        mergeEdge(tile, rows, cols, dst, stepBeta);
                    }
                }
            }
        }
    }

    /** C edge tile (rows × cols valid of the MR × nr tile) = tile + stepBeta·C. */
    private void mergeEdge(float[] tile, int rows, int cols, int dst, float stepBeta) {
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                int ci = dst + i * n + j;
                float t = tile[i * nr + j];
                c[ci] = stepBeta == 0 ? t : t + stepBeta * c[ci];
            }
        }
    }

    /**
     * Runs body over [0, count) split into contiguous ranges across {@code threads} lanes. With
     * the whole pool it lets {@link Parallel} balance chunks; with fewer threads each lane gets one
     * fixed range, so no more than {@code threads} cores work at once.
     */
    private void forLanes(int count, Parallel.RangeBody body) {
        if (threads == 1 || count == 1) {
            body.run(0, count);
        } else if (threads >= Parallel.threads()) {
            Parallel.forRange(count, 1, body);
        } else {
            int lanes = Math.min(threads, count);
            Parallel.forRange(lanes, 1, (l0, l1) -> {
                for (int l = l0; l < l1; l++) body.run((int) ((long) count * l / lanes), (int) ((long) count * (l + 1) / lanes));
            });
        }
    }
}
