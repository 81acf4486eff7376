package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The descriptions of SparseMatmul's layouts, checked without a GPU: a naive product that reads B
 * and writes D exactly as cuSPARSELt's descriptors (order, rows, cols, ld, op) say must equal the
 * product of the layout the caller asked for, for every candidate of every B × D order.
 */
class SparseMatmulFormTest {
    private static final long SEED = 7_2024_0611L;

    @Test
    void everyCandidateComputesTheRequestedProduct() {
        var random = new SplittableRandom(SEED);
        for (int trial = 0; trial < 16; trial++) {
            int m = 1 + random.nextInt(6), n = 1 + random.nextInt(6), k = 1 + random.nextInt(6);
            boolean bColMajor = (trial & 1) != 0, dColMajor = (trial & 2) != 0;
            int ldb = (bColMajor ? k : n) + random.nextInt(3);
            double[] a = values(random, m * k), b = values(random, (bColMajor ? n : k) * ldb);
            double[] want = requested(a, b, m, n, k, bColMajor, ldb, dColMajor);
            List<SparseMatmulForm> forms = SparseMatmulForm.candidates(m, n, k, bColMajor, ldb, dColMajor);
            assertEquals(2, forms.size());
            for (SparseMatmulForm f : forms) {
                String where = "seed " + SEED + " trial " + trial + " m=" + m + " n=" + n + " k=" + k + " ldb=" + ldb + ", " + f.describe();
                assertTrue(fits(f, b.length), where + ": the B descriptor reaches outside the caller's buffer or has ld < its minor size");
                assertArrayEquals(want, asTheLibraryReads(f, a, b, m, n, k), 1e-12, where);
            }
        }
    }

    @Test
    void theFirstCandidatesAreTheFormsPyTorchRunsOnHopper() {
        // B row-major: row-major k×n, op N. B column-major: row-major n×k, op T. D column-major: column-major, ld m.
        assertEquals(new SparseMatmulForm(CusparseLt.OP_N, CusparseLt.ORDER_ROW, 256, 64, 72, CusparseLt.ORDER_ROW, 64),
                SparseMatmulForm.candidates(128, 64, 256, false, 72, false).getFirst());
        assertEquals(new SparseMatmulForm(CusparseLt.OP_T, CusparseLt.ORDER_ROW, 64, 256, 256, CusparseLt.ORDER_COL, 128),
                SparseMatmulForm.candidates(128, 64, 256, true, 256, true).getFirst());
    }

    @Test
    void theDescriptionNamesOrderShapeStrideAndOp() {
        assertEquals("B row-major 64x256 ld 264 op T, D column-major ld 128",
                SparseMatmulForm.candidates(128, 64, 256, true, 264, true).getFirst().describe());
    }

    /** D in the caller's layout: B(p,j) at p·ldb + j (row-major) or p + j·ldb; D(i,j) at i·n + j or i + j·m. */
    private static double[] requested(double[] a, double[] b, int m, int n, int k, boolean bColMajor, int ldb, boolean dColMajor) {
        double[] d = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) sum += a[i * k + p] * b[bColMajor ? p + j * ldb : p * ldb + j];
                d[dColMajor ? i + j * m : i * n + j] = sum;
            }
        }
        return d;
    }

    /** D = A·op(B) with B and D addressed as the descriptors of {@code f} say; A row-major m×k. */
    private static double[] asTheLibraryReads(SparseMatmulForm f, double[] a, double[] b, int m, int n, int k) {
        double[] d = new double[m * n];
        Arrays.fill(d, Double.NaN);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    long r = f.opB() == CusparseLt.OP_T ? j : p, c = f.opB() == CusparseLt.OP_T ? p : j;
                    sum += a[i * k + p] * b[(int) index(f.bOrder(), r, c, f.ldb())];
                }
                d[(int) index(f.dOrder(), i, j, f.ldd())] = sum;
            }
        }
        return d;
    }

    private static long index(int order, long row, long col, long ld) {
        return order == CusparseLt.ORDER_ROW ? row * ld + col : row + col * ld;
    }

    /** Whether the stored B of {@code f} has a legal ld and lies inside a buffer of {@code elements}. */
    private static boolean fits(SparseMatmulForm f, int elements) {
        boolean row = f.bOrder() == CusparseLt.ORDER_ROW;
        long minor = row ? f.bCols() : f.bRows(), major = row ? f.bRows() : f.bCols();
        return f.ldb() >= minor && (major - 1) * f.ldb() + minor <= elements;
    }

    private static double[] values(SplittableRandom random, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = random.nextDouble() * 2 - 1;
        return v;
    }
}
