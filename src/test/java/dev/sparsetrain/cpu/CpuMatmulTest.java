package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The fast GEMM against {@link ReferenceBackend#matmul} on random shapes, layouts and species. */
class CpuMatmulTest {
    private static final ReferenceBackend REF = new ReferenceBackend();
    /** Written around every view; must survive the call untouched. */
    private static final float SENTINEL = 777f;
    /** Sizes at and around the micro-tile edges (MR = 6, nr = 8·2, 16·2, 32·2 floats). */
    private static final int[] EDGE_SIZES = {1, 2, 5, 6, 7, 11, 13, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 97};
    /** Depths at and around the k blocks (kc = 1024 steps). */
    private static final int[] EDGE_DEPTHS = {1, 2, 3, 7, 16, 31, 129, 1023, 1024, 1025, 2049};

    @ParameterizedTest(name = "{0}-bit vectors")
    @ValueSource(ints = {128, 256, 512})
    void randomShapesMatchReference(int bits) {
        VectorSpecies<Float> s = MatmulSpecies.forBits(bits);
        MatmulMicroKernel kernel = MatmulKernels.forSpecies(s);
        assertEquals(s, kernel.species(), "the kernel copy for " + bits + " bits runs another species");
        assertEquals(2 * s.length(), kernel.nr());
        long seed = 1000 + bits;
        var rnd = new SplittableRandom(seed);
        float[] alphas = {1f, -0.5f, 2.25f};
        float[] betas = {0f, 1f, 0.75f};
        for (int i = 0; i < 48; i++) {
            int m = rnd.nextBoolean() ? pick(rnd, EDGE_SIZES) : 1 + rnd.nextInt(150);
            int n = rnd.nextBoolean() ? pick(rnd, EDGE_SIZES) : 1 + rnd.nextInt(150);
            int k = rnd.nextBoolean() ? pick(rnd, EDGE_DEPTHS) : 1 + rnd.nextInt(300);
            // Keep the double-precision reference cheap: shrink the output rather than the depth.
            while ((long) m * n * k > 2_000_000) m = Math.max(1, m / 2);
            int threads = 1 + rnd.nextInt(4);
            check(s, threads, m, n, k, i % 4 >= 2, i % 2 == 1, alphas[rnd.nextInt(3)], betas[rnd.nextInt(3)], rnd,
                    "seed " + seed + " case " + i);
        }
    }

    @Test
    void rowBlocksBeyondOneTaskAndAccumulation() {
        long seed = 7;
        var rnd = new SplittableRandom(seed);
        VectorSpecies<Float> s = MatmulSpecies.SELECTED;
        // m > 128 rows needs several row blocks even on one thread; beta = 1 is dW += dYᵀ·X.
        check(s, 1, 300, 70, 260, true, false, 1f, 1f, rnd, "seed " + seed + " dW accumulate");
        check(s, 2, 301, 67, 200, false, true, 1f, 0f, rnd, "seed " + seed + " Y = X·Wᵀ");
        check(s, 3, 299, 40, 131, false, false, 1f, 0f, rnd, "seed " + seed + " dX = dY·W");
    }

    @Test
    void deepProductsSplitBIntoColumnPanels() {
        long seed = 11;
        var rnd = new SplittableRandom(seed);
        // k = 40000 leaves room for fewer than 200 columns in one packed panel of B.
        check(MatmulSpecies.SELECTED, 2, 3, 200, 40_000, false, true, 1f, 0f, rnd, "seed " + seed + " deep");
        check(MatmulSpecies.SELECTED, 2, 2, 130, 40_000, true, false, 0.5f, 1f, rnd, "seed " + seed + " deep accumulate");
    }

    @Test
    void concurrentCallersKeepTheirOwnScratch() throws Exception {
        long seed = 13;
        // Each caller thread owns its packed B panel; two callers at once must not mix them up.
        var failures = new ConcurrentLinkedQueue<Throwable>();
        var callers = new ArrayList<Thread>();
        for (int t = 0; t < 2; t++) {
            long callerSeed = seed + t;
            callers.add(Thread.ofPlatform().start(() -> {
                try {
                    var rnd = new SplittableRandom(callerSeed);
                    for (int i = 0; i < 6; i++) {
                        check(MatmulSpecies.SELECTED, 2, 40 + rnd.nextInt(90), 40 + rnd.nextInt(90), 50 + rnd.nextInt(200),
                                rnd.nextBoolean(), rnd.nextBoolean(), 1f, 0f, rnd, "seed " + callerSeed + " caller case " + i);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread c : callers) c.join();
        if (!failures.isEmpty()) throw new AssertionError(failures.peek());
    }

    @Test
    void emptyDepthScalesC() {
        var rnd = new SplittableRandom(3);
        for (float beta : new float[] {0f, 1f, -2f}) {
            Tensor c = REF.zeros(DType.F32, 4, 5);
            float[] old = random(rnd, 20);
            if (beta == 0) Arrays.fill(old, Float.NaN);
            REF.upload(c, old, 0);
            Tensor a = REF.zeros(DType.F32, 4, 0), b = REF.zeros(DType.F32, 0, 5);
            CpuMatmul.matmul(c, a, false, b, false, 4, 5, 0, 1.5f, beta);
            float[] got = REF.toHost(c);
            for (int i = 0; i < 20; i++) assertEquals(beta == 0 ? 0f : beta * old[i], got[i], 0f, "k = 0, beta " + beta + " at " + i);
        }
    }

    @Test
    void emptyOutputTouchesNothing() {
        Tensor c = REF.zeros(DType.F32, 3);
        REF.fill(c, SENTINEL);
        Tensor a = REF.zeros(DType.F32, 3), b = REF.zeros(DType.F32, 3);
        CpuMatmul.matmul(c, a, false, b, false, 0, 3, 1, 1f, 0f);
        CpuMatmul.matmul(c, a, false, b, false, 3, 0, 1, 1f, 0f);
        for (float v : REF.toHost(c)) assertEquals(SENTINEL, v);
    }

    @Test
    void backendRunsTheFastGemm() {
        long seed = 5;
        var rnd = new SplittableRandom(seed);
        int m = 37, n = 45, k = 29;
        var cpu = new CpuBackend();
        Tensor a = cpu.zeros(DType.F32, m, k), b = cpu.zeros(DType.F32, n, k), c = cpu.zeros(DType.F32, m, n);
        cpu.upload(a, random(rnd, m * k), 0);
        cpu.upload(b, random(rnd, n * k), 0);
        cpu.fill(c, Float.NaN);
        Tensor want = REF.zeros(DType.F32, m, n);
        REF.matmul(want, a, false, b, true, m, n, k, 1f, 0f);
        cpu.matmul(c, a, false, b, true, m, n, k, 1f, 0f);
        float[] w = REF.toHost(want), g = cpu.toHost(c);
        for (int i = 0; i < w.length; i++) assertEquals(w[i], g[i], 1e-4f, "seed " + seed + " element " + i);
    }

    @Test
    void rejectsOperandsTooSmallForTheShape() {
        Tensor small = REF.zeros(DType.F32, 2, 2), c = REF.zeros(DType.F32, 3, 3);
        var e = assertThrows(IllegalArgumentException.class,
                () -> CpuMatmul.matmul(c, small, false, small, false, 3, 3, 2, 1f, 0f));
        assertTrue(e.getMessage().contains("A (stored [m,k]) needs 6 elements"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CpuMatmul.matmul(c, c, false, c, false, -1, 3, 3, 1f, 0f));
        assertThrows(IllegalArgumentException.class, () -> CpuMatmul.matmul(0, c, c, false, c, false, 3, 3, 3, 1f, 0f));
    }

    @Test
    void vectorBitsPropertyIsParsedAndChecked() {
        assertEquals(FloatVector.SPECIES_PREFERRED, MatmulSpecies.resolve(null));
        assertEquals(FloatVector.SPECIES_PREFERRED, MatmulSpecies.resolve(" "));
        assertEquals(FloatVector.SPECIES_128, MatmulSpecies.resolve("128"));
        assertThrows(IllegalArgumentException.class, () -> MatmulSpecies.resolve("wide"));
        assertThrows(IllegalArgumentException.class, () -> MatmulSpecies.resolve("96"));
        assertThrows(IllegalArgumentException.class, () -> MatmulSpecies.resolve("4096"));
    }

    /**
     * Runs one product on views placed at random offsets inside larger buffers and compares C with
     * the reference, within 1e-5·sqrt(k) of the magnitude |alpha|·|op(A)|·|op(B)| + |beta·C|.
     */
    private static void check(VectorSpecies<Float> s, int threads, int m, int n, int k, boolean transA, boolean transB,
                              float alpha, float beta, SplittableRandom rnd, String context) {
        String what = context + ": " + m + "x" + n + "x" + k + (transA ? " Aᵀ" : " A") + (transB ? "·Bᵀ" : "·B")
                + " alpha " + alpha + " beta " + beta + ", " + s.vectorBitSize() + "-bit, " + threads + " thread(s)";
        float[] aData = random(rnd, m * k), bData = random(rnd, k * n), cData = random(rnd, m * n);
        // With beta = 0 the old C must be ignored, so poison it: any element not overwritten stays NaN.
        if (beta == 0) Arrays.fill(cData, Float.NaN);
        Tensor a = placed(aData, rnd, transA ? new long[] {k, m} : new long[] {m, k});
        Tensor b = placed(bData, rnd, transB ? new long[] {n, k} : new long[] {k, n});
        Tensor c = placed(cData, rnd, m, n);

        Tensor want = REF.zeros(DType.F32, m, n);
        REF.upload(want, cData, 0);
        REF.matmul(want, a, transA, b, transB, m, n, k, alpha, beta);
        Tensor scale = REF.zeros(DType.F32, m, n);
        REF.matmul(scale, placed(abs(aData), rnd, a.shape()), transA, placed(abs(bData), rnd, b.shape()), transB,
                m, n, k, Math.abs(alpha), 0f);

        CpuMatmul.matmul(s, threads, c, a, transA, b, transB, m, n, k, alpha, beta);

        float[] w = REF.toHost(want), g = REF.toHost(c), mag = REF.toHost(scale);
        double rel = 1e-5 * Math.sqrt(k);
        for (int i = 0; i < w.length; i++) {
            double tol = rel * (mag[i] + (beta == 0 ? 0 : Math.abs(beta * cData[i]))) + 1e-30;
            if (!(Math.abs(g[i] - w[i]) <= tol)) {
                fail(what + ": C[" + i / n + "," + i % n + "] = " + g[i] + ", reference " + w[i] + ", tolerance " + tol);
            }
        }
        assertUntouchedAround(c, what + " (C)");
        assertUntouchedAround(a, what + " (A)");
        assertUntouchedAround(b, what + " (B)");
        assertTrue(Arrays.equals(aData, REF.toHost(a)) && Arrays.equals(bData, REF.toHost(b)), what + ": inputs were modified");
    }

    /** A view holding {@code data}, at a random offset in a buffer whose other elements are SENTINEL. */
    private static Tensor placed(float[] data, SplittableRandom rnd, long... shape) {
        int before = rnd.nextInt(40), after = rnd.nextInt(40);
        Tensor buffer = REF.zeros(DType.F32, before + data.length + after);
        REF.fill(buffer, SENTINEL);
        Tensor view = buffer.view(before, shape);
        REF.upload(view, data, 0);
        return view;
    }

    private static void assertUntouchedAround(Tensor view, String what) {
        float[] all = HeapStorage.f(view);
        int from = HeapStorage.off(view), to = from + HeapStorage.n(view);
        for (int i = 0; i < all.length; i++) {
            if ((i < from || i >= to) && all[i] != SENTINEL) fail(what + ": element " + i + " outside the view was written");
        }
    }

    private static float[] random(SplittableRandom rnd, int count) {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float) rnd.nextDouble(-1, 1);
        return x;
    }

    private static float[] abs(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = Math.abs(x[i]);
        return y;
    }

    private static int pick(SplittableRandom rnd, int[] values) { return values[rnd.nextInt(values.length)]; }
}
