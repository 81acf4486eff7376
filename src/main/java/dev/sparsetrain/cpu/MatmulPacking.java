package dev.sparsetrain.cpu;

import java.util.Arrays;

/**
 * Copies GEMM operands into the layouts the micro-kernel streams through: op(A) into slivers of
 * {@link MatmulKernel#MR} rows stored k-step by k-step, op(B) into slivers of nr columns stored the
 * same way. Slivers that run past the matrix edge are padded with zeros, so the kernel always
 * computes whole tiles and the caller keeps only the valid part.
 */
final class MatmulPacking {
    private MatmulPacking() {}

    /**
     * Packs alpha·op(A)[rows r0..r1, steps p0..p0+kc) into {@code dst}: sliver q (rows r0 + q·MR...)
     * starts at q·kc·MR, step p of it at + p·MR. Folding alpha in here makes it free in the kernel.
     * A is stored [m,k], or [k,m] when {@code transA}.
     */
    static void packA(float[] a, int aOff, boolean transA, int m, int k, int r0, int r1, int p0, int kc,
                      float alpha, float[] dst) {
        final int mr = MatmulKernel.MR;
        for (int q = 0, r = r0; r < r1; q++, r += mr) {
            int base = q * kc * mr, rows = Math.min(mr, r1 - r);
            if (rows < mr) Arrays.fill(dst, base, base + kc * mr, 0f);
            if (transA) {
                for (int p = 0; p < kc; p++) {
                    int src = aOff + (p0 + p) * m + r, d = base + p * mr;
                    for (int i = 0; i < rows; i++) dst[d + i] = alpha * a[src + i];
                }
            } else {
                for (int i = 0; i < rows; i++) {
                    int src = aOff + (r + i) * k + p0, d = base + i;
                    for (int p = 0; p < kc; p++) dst[d + p * mr] = alpha * a[src + p];
                }
            }
        }
    }

    /**
     * Packs op(B)[all k steps, columns c0..c1) into {@code dst}: sliver q (columns c0 + q·nr...)
     * starts at q·k·nr, step p of it at + p·nr. B is stored [k,n], or [n,k] when {@code transB}.
     * Packs slivers {@code q0..q1) only, so several threads can share one panel.
     */
    static void packB(float[] b, int bOff, boolean transB, int n, int k, int c0, int c1, int nr, int q0, int q1,
                      float[] dst) {
        for (int q = q0; q < q1; q++) {
            int col = c0 + q * nr, base = q * k * nr, cols = Math.min(nr, c1 - col);
            if (cols < nr) Arrays.fill(dst, base, base + k * nr, 0f);
            if (transB) {
                for (int j = 0; j < cols; j++) {
                    int src = bOff + (col + j) * k, d = base + j;
                    for (int p = 0; p < k; p++) dst[d + p * nr] = b[src + p];
                }
            } else {
                for (int p = 0; p < k; p++) System.arraycopy(b, bOff + p * n + col, dst, base + p * nr, cols);
            }
        }
    }
}
