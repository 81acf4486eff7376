package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.sparse.CusparseLtLayout;
import dev.sparsetrain.tensor.Bf16;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * cuSPARSELt through {@link SparseMatmul} on a real GPU: every B × D order against cuBLASLt on
 * random data, our packer's buffer as the compressed operand, the start-up layout check, and the
 * bf16 entry of {@link DenseMatmul} against a host product. Run with -Dgroups=gpu on a GPU machine;
 * skipped where there is no GPU.
 */
@Tag("gpu")
class SparseMatmulGpuTest {
    private static final long SEED = 5_0611L;
    private static final short NAN = 0x7FC0;
    private static CudaContext context;
    private static DenseMatmul dense;
    private static SparseMatmul sparse;

    /** (m, n, k, extra stride of B): a small shape with packed B, and a larger one whose B rows are padded. */
    private static final int[][] SHAPES = {{128, 96, 256, 0}, {320, 136, 1024, 8}};

    @BeforeAll
    static void open() {
        LibrarySearchPath path = LibrarySearchPath.standard();
        try {
            context = CudaContext.open(Driver.load(path), 0);
        } catch (CudaUnavailableException e) {
            Assumptions.abort("no GPU: " + e.getMessage());
        }
        dense = new DenseMatmul(CublasLt.load(path), context, GemmPrecision.FP32, (kernel, gx, gy, gz, bx, by, shared, args) -> {
            throw new AssertionError("runBf16 converts nothing, yet " + kernel + " was launched");
        });
        sparse = new SparseMatmul(CusparseLt.load(path), context, dense, true);
    }

    @AfterAll
    static void close() {
        if (sparse != null) sparse.close();
        if (dense != null) dense.close();
        if (context != null) context.close();
    }

    @Test
    void everyOrderCombinationMatchesCuBlasLt() {
        var random = new SplittableRandom(SEED);
        for (int[] s : SHAPES) {
            for (int orders = 0; orders < 4; orders++) {
                boolean bColMajor = (orders & 1) != 0, dColMajor = (orders & 2) != 0;
                var p = Problem.random(s[0], s[1], s[2], bColMajor, (bColMajor ? s[2] : s[1]) + s[3], dColMajor, random);
                try (var device = p.upload()) {
                    sparse.compressWithLibrary(device.compressed.pointer(), device.denseA.pointer(), p.m, p.k);
                    String where = "seed " + SEED + " " + p.key().describe();
                    assertProductMatches(p, device, 0.75f, 0.5f, where + " alpha 0.75 beta 0.5");
                    assertProductMatches(p, device, 1f, 0f, where + " alpha 1 beta 0 over NaN");
                }
            }
        }
        sparse.planChoices().forEach(line -> System.out.println("cuSPARSELt plan " + line));
    }

    @Test
    void ourPackersBufferIsAWorkingCompressedOperand() {
        var p = Problem.random(192, 64, 512, true, 512, true, new SplittableRandom(SEED + 1));
        try (var device = p.upload()) {
            byte[] packed = SparseLayoutCheck.pack(p.denseA, p.m, p.k);
            context.driver.copyHostToDevice(device.compressed.pointer(), MemorySegment.ofArray(packed), packed.length);
            assertProductMatches(p, device, 1f, 0f, "seed " + (SEED + 1) + " packer buffer, " + p.key().describe());
        }
    }

    @Test
    void theStartUpLayoutCheckPasses() {
        var result = SparseLayoutCheck.run(sparse, context);
        assertTrue(result.matches(), "cuSPARSELt " + result.libraryVersion() + ": " + result.firstMismatch());
        assertEquals("", result.firstMismatch());
        assertTrue(result.libraryVersion() >= 800, "version " + result.libraryVersion());
    }

    @Test
    void theLibrarysCompressedSizeIsOurPackers() {
        for (int[] mk : new int[][] {{64, 32}, {128, 256}, {8192, 2048}, {2048, 8192}}) {
            assertEquals(CusparseLtLayout.bufferBytes(mk[0], mk[1]), sparse.compressedBytes(mk[0], mk[1]), mk[0] + "x" + mk[1]);
        }
    }

    @Test
    void withoutTheSearchAlgorithmZeroIsCheckedAndUsed() {
        try (var plain = new SparseMatmul(CusparseLt.load(LibrarySearchPath.standard()), context, dense, false)) {
            var p = Problem.random(128, 64, 256, false, 64, false, new SplittableRandom(SEED + 2));
            try (var device = p.upload()) {
                plain.compressWithLibrary(device.compressed.pointer(), device.denseA.pointer(), p.m, p.k);
                assertProductMatchesWith(plain, p, device, 1f, 0f, "seed " + (SEED + 2) + " search off");
            }
            assertEquals(1, plain.planChoices().size());
            assertTrue(plain.planChoices().getFirst().contains("algorithm 0 (") && plain.planChoices().getFirst().contains("search off"),
                    plain.planChoices().getFirst());
        }
    }

    @Test
    void badShapesStridesAndPointersAreRefusedBeforeTheLibrarySeesThem() {
        long p = 0x7f00_0000_0000L;
        var shape = assertThrows(IllegalArgumentException.class, () -> sparse.run(p, false, p, p, false, 96, 96, 96, 256, 1f, 0f));
        assertTrue(shape.getMessage().contains("m % 64 == 0") && shape.getMessage().contains("cuBLASLt"), shape.getMessage());
        var stride = assertThrows(IllegalArgumentException.class, () -> sparse.run(p, false, p, p, true, 200, 128, 64, 256, 1f, 0f));
        assertTrue(stride.getMessage().contains("ldb=200") && stride.getMessage().contains("at least 256"), stride.getMessage());
        var aligned = assertThrows(IllegalArgumentException.class, () -> sparse.run(p + 8, false, p, p, false, 64, 128, 64, 256, 1f, 0f));
        assertTrue(aligned.getMessage().startsWith("D at 0x7f0000000008 is not 16-byte aligned"), aligned.getMessage());
    }

    @Test
    void aPreparedPlanIsCachedWithItsChoice() {
        sparse.prepare(true, false, 264, 256, 264, 512);
        String key = new SparseMatmul.PlanKey(256, 264, 512, false, 264, true).describe();
        assertTrue(sparse.planChoices().stream().anyMatch(line -> line.startsWith(key + ": ") && line.contains("algorithm")),
                String.join("\n", sparse.planChoices()));
    }

    @Test
    void theBf16EntryHonoursStridesAndTransposes() {
        var random = new SplittableRandom(SEED + 3);
        int m = 40, n = 24, k = 72;
        for (int t = 0; t < 4; t++) {
            boolean transA = (t & 1) != 0, transB = (t & 2) != 0;
            int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
            int lda = aCols + 8, ldb = bCols + 16, ldc = n + 4;
            short[] a = new short[aRows * lda], b = new short[bRows * ldb];
            RandomBf16.fill(a, a.length, random);
            RandomBf16.fill(b, b.length, random);
            float[] c = new float[m * ldc];
            for (int i = 0; i < c.length; i++) c[i] = (float) random.nextGaussian();
            try (var da = DeviceScratch.sized(context, "test A", a.length * 2L); var db = DeviceScratch.sized(context, "test B", b.length * 2L);
                 var dc = DeviceScratch.sized(context, "test C", c.length * 4L)) {
                context.driver.copyHostToDevice(da.pointer(), MemorySegment.ofArray(a), a.length * 2L);
                context.driver.copyHostToDevice(db.pointer(), MemorySegment.ofArray(b), b.length * 2L);
                context.driver.copyHostToDevice(dc.pointer(), MemorySegment.ofArray(c), c.length * 4L);
                dense.runBf16(dc.pointer(), ldc, da.pointer(), lda, transA, db.pointer(), ldb, transB, m, n, k, 1.5f, -0.5f);
                context.synchronize();
                float[] got = new float[c.length];
                context.driver.copyDeviceToHost(MemorySegment.ofArray(got), dc.pointer(), got.length * 4L);
                String where = "seed " + (SEED + 3) + " transA=" + transA + " transB=" + transB;
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < ldc; j++) {
                        if (j >= n) {
                            assertEquals(c[i * ldc + j], got[i * ldc + j], where + ": padding of C row " + i + " changed");
                            continue;
                        }
                        double sum = 0;
                        for (int p = 0; p < k; p++) {
                            sum += (double) Bf16.toFloat(transA ? a[p * lda + i] : a[i * lda + p]) * Bf16.toFloat(transB ? b[j * ldb + p] : b[p * ldb + j]);
                        }
                        assertEquals(1.5 * sum - 0.5 * c[i * ldc + j], got[i * ldc + j], 1e-3, where + " element (" + i + "," + j + ")");
                    }
                }
            }
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    private static void assertProductMatches(Problem p, DeviceProblem device, float alpha, float beta, String where) {
        assertProductMatchesWith(sparse, p, device, alpha, beta, where);
    }

    /**
     * Runs D = alpha·A·B + beta·D0 through {@code runner} (over NaN when beta is 0, which must not be read)
     * and through cuBLASLt, and compares max|Δ| / max|ref| with bf16 output rounding's budget.
     */
    private static void assertProductMatchesWith(SparseMatmul runner, Problem p, DeviceProblem device, float alpha, float beta, String where) {
        short[] d0 = beta == 0 ? p.nanD() : p.d0;
        float[] reference = new float[p.m * p.n];
        for (int i = 0; i < p.m; i++) for (int j = 0; j < p.n; j++) reference[i * p.n + j] = beta == 0 ? 0f : Bf16.toFloat(d0[p.dIndex(i, j)]);
        context.driver.copyHostToDevice(device.d.pointer(), MemorySegment.ofArray(d0), d0.length * 2L);
        context.driver.copyHostToDevice(device.reference.pointer(), MemorySegment.ofArray(reference), reference.length * 4L);
        runner.run(device.d.pointer(), p.dColMajor, device.compressed.pointer(), device.b.pointer(), p.bColMajor, p.ldb, p.m, p.n, p.k, alpha, beta);
        dense.runBf16(device.reference.pointer(), p.n, device.denseA.pointer(), p.k, false, device.b.pointer(), p.ldb, p.bColMajor,
                p.m, p.n, p.k, alpha, beta);
        context.synchronize();
        short[] got = new short[p.m * p.n];
        float[] want = new float[p.m * p.n];
        context.driver.copyDeviceToHost(MemorySegment.ofArray(got), device.d.pointer(), got.length * 2L);
        context.driver.copyDeviceToHost(MemorySegment.ofArray(want), device.reference.pointer(), want.length * 4L);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < p.m; i++) {
            for (int j = 0; j < p.n; j++) {
                float g = Bf16.toFloat(got[p.dIndex(i, j)]), w = want[i * p.n + j];
                assertTrue(Float.isFinite(g), where + ": D(" + i + "," + j + ") = " + g);
                maxDiff = Math.max(maxDiff, Math.abs(g - (double) w));
                maxRef = Math.max(maxRef, Math.abs(w));
            }
        }
        assertTrue(maxRef > 0, where + ": an all-zero reference tests nothing");
        assertTrue(maxDiff / maxRef <= SparseMatmul.TOLERANCE, where + ": relative error " + maxDiff / maxRef);
    }

    /** Host operands of one sparse product: exactly-2:4 A (row-major), B and D0 in their requested orders. */
    private record Problem(int m, int n, int k, boolean bColMajor, int ldb, boolean dColMajor, short[] denseA, short[] b, short[] d0) {
        static Problem random(int m, int n, int k, boolean bColMajor, int ldb, boolean dColMajor, SplittableRandom random) {
            short[] a = new short[m * k], b = new short[(bColMajor ? n : k) * ldb], d0 = new short[m * n];
            RandomBf16.fillTwoFour(a, a.length, random);
            RandomBf16.fill(b, b.length, random);
            RandomBf16.fill(d0, d0.length, random);
            return new Problem(m, n, k, bColMajor, ldb, dColMajor, a, b, d0);
        }

        int dIndex(int i, int j) { return dColMajor ? i + j * m : i * n + j; }

        short[] nanD() {
            short[] d = new short[m * n];
            Arrays.fill(d, NAN);
            return d;
        }

        SparseMatmul.PlanKey key() { return new SparseMatmul.PlanKey(m, n, k, bColMajor, ldb, dColMajor); }

        DeviceProblem upload() {
            var device = new DeviceProblem(DeviceScratch.sized(context, "test dense A", denseA.length * 2L),
                    DeviceScratch.sized(context, "test compressed A", CusparseLtLayout.bufferBytes(m, k)),
                    DeviceScratch.sized(context, "test B", b.length * 2L), DeviceScratch.sized(context, "test D", d0.length * 2L),
                    DeviceScratch.sized(context, "test reference", d0.length * 4L));
            context.driver.copyHostToDevice(device.denseA.pointer(), MemorySegment.ofArray(denseA), denseA.length * 2L);
            context.driver.copyHostToDevice(device.b.pointer(), MemorySegment.ofArray(b), b.length * 2L);
            assertFalse(Arrays.equals(b, new short[b.length]), "B must not be all zeros");
            return device;
        }
    }

    private record DeviceProblem(DeviceScratch denseA, DeviceScratch compressed, DeviceScratch b, DeviceScratch d, DeviceScratch reference)
            implements AutoCloseable {
        @Override
        public void close() {
            for (DeviceScratch s : new DeviceScratch[] {reference, d, b, compressed, denseA}) s.close();
        }
    }
}
