package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.DType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The operand swap that runs row-major GEMMs on a column-major library, checked without a GPU: a
 * naive column-major GEMM driven by {@link ColumnMajorGemm}'s layouts must reproduce
 * {@code ReferenceBackend.matmul} for every transpose combination.
 */
class ColumnMajorGemmTest {
    private static final long SEED = 20240611L;

    @Test
    void theColumnMajorFormComputesTheRowMajorProduct() {
        var random = new SplittableRandom(SEED);
        try (var reference = new ReferenceBackend()) {
            for (int trial = 0; trial < 12; trial++) {
                int m = 1 + random.nextInt(9), n = 1 + random.nextInt(9), k = 1 + random.nextInt(9);
                boolean transA = (trial & 1) != 0, transB = (trial & 2) != 0;
                float[] a = gaussian(random, m * k), b = gaussian(random, k * n), c = gaussian(random, m * n);
                float alpha = 0.75f, beta = -0.5f;

                var ta = reference.zeros(DType.F32, m * k);
                var tb = reference.zeros(DType.F32, k * n);
                var tc = reference.zeros(DType.F32, m * n);
                reference.upload(ta, a, 0);
                reference.upload(tb, b, 0);
                reference.upload(tc, c, 0);
                reference.matmul(tc, ta, transA, tb, transB, m, n, k, alpha, beta);
                float[] want = reference.toHost(tc);

                float[] got = c.clone();
                columnMajorGemm(ColumnMajorGemm.of(m, n, k, transA, transB), b, a, got, alpha, beta);
                String where = "seed " + SEED + " trial " + trial + " m=" + m + " n=" + n + " k=" + k + " transA=" + transA + " transB=" + transB;
                for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-5, where + " element " + i);
            }
        }
    }

    @Test
    void strideOperandsComputeTheProductOfTheirRowsAndLeavePaddingAlone() {
        var random = new SplittableRandom(SEED + 1);
        for (int trial = 0; trial < 12; trial++) {
            int m = 1 + random.nextInt(7), n = 1 + random.nextInt(7), k = 1 + random.nextInt(7);
            boolean transA = (trial & 1) != 0, transB = (trial & 2) != 0;
            int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
            int lda = aCols + random.nextInt(4), ldb = bCols + random.nextInt(4), ldc = n + 1 + random.nextInt(3);
            float[] a = gaussian(random, aRows * lda), b = gaussian(random, bRows * ldb), c = gaussian(random, m * ldc);
            float alpha = 1.25f, beta = 0.5f;
            float[] got = c.clone();
            columnMajorGemm(ColumnMajorGemm.of(m, n, k, transA, transB, lda, ldb, ldc), b, a, got, alpha, beta);
            String where = "seed " + (SEED + 1) + " trial " + trial + " m=" + m + " n=" + n + " k=" + k + " lda=" + lda + " ldb=" + ldb + " ldc=" + ldc;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < ldc; j++) {
                    if (j >= n) {
                        assertEquals(c[i * ldc + j], got[i * ldc + j], where + ": padding of row " + i + " changed");
                        continue;
                    }
                    double sum = 0;
                    for (int p = 0; p < k; p++) {
                        double x = transA ? a[p * lda + i] : a[i * lda + p];
                        double y = transB ? b[j * ldb + p] : b[p * ldb + j];
                        sum += x * y;
                    }
                    assertEquals(alpha * sum + beta * c[i * ldc + j], got[i * ldc + j], 1e-4, where + " element (" + i + "," + j + ")");
                }
            }
        }
    }

    @Test
    void aStrideShorterThanTheStoredRowIsRejectedByName() {
        var e = assertThrows(IllegalArgumentException.class, () -> ColumnMajorGemm.of(4, 6, 8, true, false, 3, 6, 6));
        assertTrue(e.getMessage().contains("lda=3") && e.getMessage().contains("[k,m]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ColumnMajorGemm.of(4, 6, 8, false, true, 8, 7, 6));
        assertTrue(e.getMessage().contains("ldb=7") && e.getMessage().contains("[n,k]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ColumnMajorGemm.of(4, 6, 8, false, false, 8, 6, 5));
        assertTrue(e.getMessage().contains("ldc=5"), e.getMessage());
    }

    @Test
    void theDefaultStridesAreThePackedOnes() {
        for (int t = 0; t < 4; t++) {
            boolean transA = (t & 1) != 0, transB = (t & 2) != 0;
            assertEquals(ColumnMajorGemm.of(5, 7, 3, transA, transB, transA ? 5 : 3, transB ? 3 : 7, 7), ColumnMajorGemm.of(5, 7, 3, transA, transB));
        }
    }

    @Test
    void theLibrarysDimensionsAreSwappedAndLeadingDimensionsArePacked() {
        var g = ColumnMajorGemm.of(5, 7, 3, false, true);
        assertEquals(new ColumnMajorGemm(7, 5, 3, new ColumnMajorGemm.Operand(true, 3, 7, 3), new ColumnMajorGemm.Operand(false, 3, 5, 3), 7), g);
    }

    @Test
    void alignmentIsTheLargestPowerOfTwoUpTo256() {
        assertEquals(256, DenseMatmul.alignment(0x7f00_0000_0000L));
        assertEquals(256, DenseMatmul.alignment(0x7f00_0000_0200L));
        assertEquals(128, DenseMatmul.alignment(0x7f00_0000_0080L));
        assertEquals(16, DenseMatmul.alignment(0x7f00_0000_0010L));
        assertEquals(4, DenseMatmul.alignment(0x7f00_0000_0004L));
    }

    /** D = alpha·op(X)·op(Y) + beta·D, all column-major, with X = first, Y = second as the library would see them. */
    private static void columnMajorGemm(ColumnMajorGemm g, float[] x, float[] y, float[] d, float alpha, float beta) {
        for (int i = 0; i < g.rows(); i++) {
            for (int j = 0; j < g.cols(); j++) {
                double sum = 0;
                for (int p = 0; p < g.depth(); p++) sum += element(g.first(), x, i, p) * element(g.second(), y, p, j);
                int at = (int) (i + j * g.ldResult());
                d[at] = (float) (alpha * sum + beta * d[at]);
            }
        }
    }

    /** Element (row, col) of op(stored), stored column-major. */
    private static double element(ColumnMajorGemm.Operand o, float[] stored, int row, int col) {
        return o.transposed() ? stored[(int) (col + row * o.ld())] : stored[(int) (row + col * o.ld())];
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }
}
