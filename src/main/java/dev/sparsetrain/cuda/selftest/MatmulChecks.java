package dev.sparsetrain.cuda.selftest;

import static dev.sparsetrain.cuda.selftest.OpSuite.TOLERANCE;

import java.util.ArrayList;
import java.util.List;

/**
 * GEMMs: all four transpose combinations with beta = 0 (over a NaN-poisoned C, which must be ignored)
 * and with beta ≠ 0 (accumulating into a random C), sizes that fit no tile; operands that start one
 * float into their buffer (4-byte aligned pointers); and the three GEMMs of a linear layer.
 */
final class MatmulChecks {
    private MatmulChecks() {}

    static List<OpCheck.Named> all() {
        List<OpCheck.Named> checks = new ArrayList<>();
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                checks.add(gemm(transA, transB, 67, 45, 129, 1f, 0f, 0));
                checks.add(gemm(transA, transB, 67, 45, 129, 0.5f, 1.5f, 0));
            }
        }
        checks.add(gemm(false, false, 64, 96, 128, 1f, 0f, 1));
        checks.add(gemm(true, true, 33, 17, 65, 2f, -1f, 1));
        // A linear layer with T=256 tokens, 128 in, 384 out: Y = X·Wᵀ, dX = dY·W, dW += dYᵀ·X.
        checks.add(gemm(false, true, 256, 384, 128, 1f, 0f, 0));
        checks.add(gemm(false, false, 256, 128, 384, 1f, 0f, 0));
        checks.add(gemm(true, false, 384, 128, 256, 1f, 1f, 0));
        return checks;
    }

    /** C[m,n] = alpha·op(A)·op(B) + beta·C, every operand starting {@code offset} floats into its buffer. */
    private static OpCheck.Named gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float beta, int offset) {
        String op = "matmul " + (transA ? "T" : "N") + (transB ? "T" : "N") + (offset > 0 ? " +" + offset : "");
        String shape = "m=" + m + " n=" + n + " k=" + k + " a=" + alpha + " b=" + beta;
        return new OpCheck.Named(op + " " + shape, (t, out) -> {
            var a = view(t.gaussian(offset + (long) m * k), offset, transA ? new long[] {k, m} : new long[] {m, k});
            var b = view(t.gaussian(offset + (long) k * n), offset, transB ? new long[] {n, k} : new long[] {k, n});
            var c = view(beta == 0 ? t.poisoned(offset + (long) m * n) : t.gaussian(offset + (long) m * n), offset, new long[] {m, n});
            t.run((be, s) -> be.matmul(s.of(c), s.of(a), transA, s.of(b), transB, m, n, k, alpha, beta));
            out.accept(t.compare(op, shape, c, TOLERANCE));
        });
    }

    private static Twins.Pair view(Twins.Pair flat, int offset, long[] shape) {
        return new Twins.Pair(flat.candidate().view(offset, shape), flat.reference().view(offset, shape));
    }
}
