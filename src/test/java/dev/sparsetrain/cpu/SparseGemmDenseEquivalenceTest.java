package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.SparseAsserts.assertRelClose;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparsetrain.sparse.ActivationTopK;
import dev.sparsetrain.tensor.Backend;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SPEC §5: every sparse GEMM equals the dense GEMM of its masked operands (fp32: relative error
 * ≤ 1e-5), expert by expert, with the masked operands read back from the kernels' packed forms and
 * the dense products computed by plain double loops.
 */
class SparseGemmDenseEquivalenceTest {
    private static final double TOL = 1e-5;

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("cpu", new SparseScenario(31, 128, 128, 2, new int[] {90, 60}, 16)),
                Arguments.of("cpu", new SparseScenario(32, 24, 48, 3, new int[] {7, 30, 12}, 4)),
                Arguments.of("reference", new SparseScenario(33, 16, 32, 2, new int[] {9, 14}, 4)));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void eachSparseGemmIsTheDenseGemmOfItsMaskedOperands(String device, SparseScenario s) {
        Backend backend = device.equals("cpu") ? new CpuBackend() : new ReferenceBackend();
        var p = new SparsePipeline(backend, s);
        // The kernels read and write token rows through the routing; the dense GEMMs below work on routed rows.
        float[] xgAll = s.routed(s.x), dyg = s.routed(s.dOut), yAll = s.routed(p.y), dxAll = s.routed(p.dx);
        int d = s.d, f = s.neurons / s.experts, n = s.neurons;
        String at = " (" + device + ", " + s + ")";
        for (int e = 0; e < s.experts; e++) {
            int r0 = s.routing.offset(e), rows = s.routing.paddedCount(e);
            if (rows == 0) continue;
            String ex = ", expert " + e + at;
            float[] xg = slice(xgAll, r0, rows, d), dy = slice(dyg, r0, rows, d);
            float[] w1 = slice(p.w1Dense, e * f, f, d), w2t = slice(p.w2tDense, e * f, f, d);
            float[] a = slice(p.a, r0, rows, f), dz = slice(p.dz, r0, rows, f);

            float[] z = product(xg, false, w1, true, rows, f, d);
            float[] expectedA = new float[rows * f], keptA = new float[rows * f];
            ActivationTopK.apply(z, rows, f, keptA, new byte[rows * f / 4]);
            for (int j = 0; j < rows * f; j++) {
                float r = Math.max(z[j], 0f);
                expectedA[j] = a[j] != 0 ? r * r : 0f;
                assertEquals(keptA[j] != 0, a[j] != 0, "A's pattern is the top-2-of-4 of dense Z at " + j + ex);
            }
            assertRelClose(expectedA, a, TOL, "GEMM 1: A = mask ⊙ relu(X·W1eᵀ)²" + ex);

            assertRelClose(realRows(s, r0, product(a, false, w2t, false, rows, d, f)), slice(yAll, r0, rows, d), TOL, "GEMM 2: Y = A·W2e" + ex);

            float[] dA = product(dy, false, w2t, true, rows, f, d), expectedDz = new float[rows * f];
            for (int j = 0; j < rows * f; j++) expectedDz[j] = a[j] != 0 ? dA[j] * 2 * Math.max(z[j], 0f) : 0f;
            assertRelClose(expectedDz, dz, TOL, "GEMM 3: dZ = mask ⊙ (dY·W2eᵀᵀ) ⊙ 2relu(Z)" + ex);

            assertRelClose(realRows(s, r0, product(dz, false, w1, false, rows, d, f)), slice(dxAll, r0, rows, d), TOL, "GEMM 4: dX = dZ·W1e" + ex);

            float[] dW2 = product(dy, true, a, false, d, f, rows), gotDw2 = new float[d * f];
            for (int k = 0; k < d; k++) {
                for (int j = 0; j < f; j++) gotDw2[k * f + j] = p.dW2[k * n + e * f + j] - s.dW2Start[k * n + e * f + j];
            }
            assertRelClose(dW2, gotDw2, TOL, "GEMM 5: dW2[:, slice] = dYᵀ·A" + ex);

            float[] dW1 = product(dz, true, xg, false, f, d, rows), gotDw1 = slice(p.dW1, e * f, f, d);
            for (int j = 0; j < f * d; j++) gotDw1[j] -= s.dW1Start[e * f * d + j];
            assertRelClose(dW1, gotDw1, TOL, "GEMM 6: dW1[slice, :] = dZᵀ·X" + ex);
        }
    }

    /** The product's rows with the padding rows zeroed: only token rows are written back. */
    private static float[] realRows(SparseScenario s, int r0, float[] m) {
        int[] perm = s.routing.perm();
        for (int r = 0; r < m.length / s.d; r++) if (perm[r0 + r] < 0) java.util.Arrays.fill(m, r * s.d, (r + 1) * s.d, 0f);
        return m;
    }

    /** Rows [first, first+count) of a row-major matrix with {@code cols} columns. */
    private static float[] slice(float[] m, int first, int count, int cols) {
        return java.util.Arrays.copyOfRange(m, first * cols, (first + count) * cols);
    }

    /** op(A)[m,k]·op(B)[k,n] in double; A stored [m,k] or [k,m] (transA), B [k,n] or [n,k] (transB). */
    private static float[] product(float[] a, boolean transA, float[] b, boolean transB, int m, int n, int k) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) s += (double) (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
                c[i * n + j] = (float) s;
            }
        }
        return c;
    }
}
