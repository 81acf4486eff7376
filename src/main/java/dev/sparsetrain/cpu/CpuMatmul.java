package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fast fp32 GEMM for the CPU backend, with exactly the semantics of {@code Backend.matmul}:
 * C = alpha·op(A)·op(B) + beta·C, C [m,n] row-major, beta = 0 ignoring C's old contents.
 *
 * <p>The classic blocked scheme (Goto/BLIS): op(B) is packed once per call into slivers of nr
 * columns shared by all threads ({@link MatmulPanel}); C is cut into a grid of row blocks × column
 * groups, one task each; a task walks k in steps of kc, packs its alpha-scaled rows of op(A) for
 * that step into a thread-local block that stays in L2, and for each B sliver runs the
 * {@link MatmulKernel} over every MR-row sliver of its block. Packing makes every transpose
 * combination run the same kernel over unit-stride memory.
 *
 * <p>Measure with {@code ./sparsetrain bench matmul}.
 */
public final class CpuMatmul {
    /**
     * k steps per pass over C. Long passes matter most: each pass reads and writes the C tiles,
     * whose rows lie n floats apart. A 1024-step B sliver (128 KiB at 512 bits) and A block
     * (512 KiB at 128 rows) stream from L2 fast enough to keep the kernel fed; measured on Zen 4,
     * 1024 steps beat 128 (B sliver in L1) by 5-10% at 1024³ and 2048³.
     */
    private static final int KC_MAX = 1024;
    /** Rows per task at most, so a task's packed A block (rows × kc) stays in L2. */
    private static final int MC_MAX = 128;
    /** Packed B panel at most (16 MiB); wider B is processed in column panels of this size. */
    private static final int PANEL_FLOATS = 1 << 22;
    /**
     * Below this many flops per thread (about 0.3 ms of work) waking another thread, 30-50 µs on
     * average in a VM, is not worth it: measured on 2 cores, two threads were no faster than one at
     * 256³ (17 Mflop each) and 1.4× faster at 512³.
     */
    private static final long MIN_FLOPS_PER_THREAD = 1L << 25;

    private CpuMatmul() {}

    /** {@code Backend.matmul} on all of {@link Parallel}'s threads with {@link MatmulSpecies#SELECTED}. */
    public static void matmul(Tensor c, Tensor a, boolean transA, Tensor b, boolean transB,
                              int m, int n, int k, float alpha, float beta) {
        matmul(Parallel.threads(), c, a, transA, b, transB, m, n, k, alpha, beta);
    }

    /**
     * {@code Backend.matmul} on at most {@code threads} threads (the pool has
     * {@link Parallel#threads()}), fewer when the product is too small to pay for forking.
     */
    public static void matmul(int threads, Tensor c, Tensor a, boolean transA, Tensor b, boolean transB,
                              int m, int n, int k, float alpha, float beta) {
        if (threads < 1) throw new IllegalArgumentException("matmul needs at least one thread, got " + threads);
        long flops = 2L * m * n * k;
        int useful = (int) Math.max(1, Math.min(threads, flops / MIN_FLOPS_PER_THREAD));
        matmul(MatmulSpecies.SELECTED, useful, c, a, transA, b, transB, m, n, k, alpha, beta);
    }

    /** The GEMM with an explicit species and exactly {@code threads} parallel lanes (tests use it). */
    static void matmul(VectorSpecies<Float> s, int threads, Tensor c, Tensor a, boolean transA, Tensor b, boolean transB,
                       int m, int n, int k, float alpha, float beta) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("matmul sizes must be >= 0, got m=" + m + " n=" + n + " k=" + k);
        }
        requireElements("C", c, (long) m * n);
        requireElements(transA ? "A (stored [k,m])" : "A (stored [m,k])", a, (long) m * k);
        requireElements(transB ? "B (stored [n,k])" : "B (stored [k,n])", b, (long) k * n);
        if (m == 0 || n == 0) return;
        float[] cArr = f(c);
        if (k == 0) {
            scale(cArr, off(c), m * n, beta);
            return;
        }
        MatmulMicroKernel kernel = MatmulKernels.forSpecies(s);
        var job = new MatmulJob(kernel, threads, cArr, off(c), f(a), off(a), transA, f(b), off(b), transB,
                m, n, k, alpha, beta, KC_MAX, MC_MAX);
        int nr = kernel.nr();
        int panelCols = Math.max(nr, PANEL_FLOATS / k / nr * nr);
        for (int c0 = 0; c0 < n; c0 += panelCols) job.runPanel(c0, Math.min(n, c0 + panelCols));
    }

    /** C = beta·C over {@code count} floats; beta = 0 writes zeros whatever C held. */
    private static void scale(float[] c, int from, int count, float beta) {
        for (int i = from; i < from + count; i++) c[i] = beta == 0 ? 0f : beta * c[i];
    }

    private static void requireElements(String what, Tensor t, long needed) {
        if (t.numel() < needed) {
            throw new IllegalArgumentException("matmul: " + what + " needs " + needed + " elements for the given m, n, k but "
                    + t + " has " + t.numel());
        }
    }
}
