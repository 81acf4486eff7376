package dev.sparsetrain.cpu;

import java.util.Arrays;

/**
 * Copies GEMM operands into the layouts the micro-kernel streams through: op(A) into slivers of
 * {@link MatmulKernel#MR} rows stored k-step by k-step, op(B) into slivers of nr columns stored the
 * same way. Slivers that run past the matrix edge are padded with zeros, so the kernel always
 * computes whole tiles and the caller keeps only the valid part.
 */
final class MatmulPacking {
    /** k steps per block of a transposing B copy: 64 steps × nr floats fill a quarter of L1. */
    private static final int P_BLOCK = 64;

    private MatmulPacking() {}

    /**
     * Packs alpha·op(A)[rows r0..r1, steps p0..p0+kc) into {@code dst}: sliver q (rows r0 + q·MR...)
     * starts at q·kc·MR, step p of it at + p·MR. Folding alpha in here makes it free in the kernel.
     * A is stored [m,k], or [k,m] when {@code transA}.
     */
    static void packA(float[] a, int aOff, boolean transA, int m, int k, int r0, int r1, int p0, int kc,
                      float alpha, float[] dst) {
        final int mr = MatmulKernel.MR;
        int slivers = Math.ceilDiv(r1 - r0, mr);
        if ((r1 - r0) % mr != 0) {
            int last = (slivers - 1) * kc * mr;
            Arrays.fill(dst, last, last + kc * mr, 0f);
        }
        if (transA) {
            // Step by step: each step's r1 − r0 source floats are contiguous, dealt out to the slivers.
            for (int p = 0; p < kc; p++) {
                int src = aOff + (p0 + p) * m;
                for (int q = 0, r = r0; r < r1; q++, r += mr) {
                    int d = q * kc * mr + p * mr, rows = Math.min(mr, r1 - r);
                    for (int i = 0; i < rows; i++) dst[d + i] = alpha * a[src + r + i];
                }
            }
        } else {
            // Row by row: each row's kc source floats are contiguous, written MR apart.
            for (int q = 0, r = r0; r < r1; q++, r += mr) {
                int rows = Math.min(mr, r1 - r);
                for (int i = 0; i < rows; i++) {
                    int src = aOff + (r + i) * k + p0, d = q * kc * mr + i;
                    for (int p = 0; p < kc; p++) dst[d + p * mr] = alpha * a[src + p];
                }
            }
        }
    }

    /**
     * Packs sliver q of op(B)[all k steps, columns c0..c1) into {@code dst}: the sliver holds
     * columns c0 + q·nr... and starts at q·k·nr, step p of it at + p·nr. B is stored [k,n], or
     * [n,k] when {@code transB}.
     */
    static void packB(float[] b, int bOff, boolean transB, int n, int k, int c0, int c1, int nr, int q, float[] dst) {
        int col = c0 + q * nr, base = q * k * nr, cols = Math.min(nr, c1 - col);
        if (cols < nr) Arrays.fill(dst, base, base + k * nr, 0f);
        if (transB) {
            // Transposing copy in blocks of P_BLOCK steps, so the nr source lines and the
            // P_BLOCK destination rows being filled all stay in L1.
            for (int pb = 0; pb < k; pb += P_BLOCK) {
                int pe = Math.min(k, pb + P_BLOCK);
                for (int j = 0; j < cols; j++) {
                    int src = bOff + (col + j) * k;
                    for (int p = pb; p < pe; p++) dst[base + p * nr + j] = b[src + p];
                }
            }
        } else {
            for (int p = 0; p < k; p++) System.arraycopy(b, bOff + p * n + col, dst, base + p * nr, cols);
        }
    }
}
