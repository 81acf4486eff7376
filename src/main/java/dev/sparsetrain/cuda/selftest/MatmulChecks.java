package dev.sparsetrain.cuda.selftest;

import static dev.sparsetrain.cuda.selftest.OpSuite.TOLERANCE;

import dev.sparsetrain.cuda.GemmPrecision;
import java.util.ArrayList;
import java.util.List;

/**
 * GEMMs: all four transpose combinations with beta = 0 (over a NaN-poisoned C, which must be ignored)
 * and with beta ≠ 0 (accumulating into a random C), sizes that fit no tile; operands that start one
 * float into their buffer (4-byte aligned pointers); and the three GEMMs of a linear layer.
 *
 * <p>Under bf16 GEMM precision the candidate gets the fp32 operands and rounds them itself, while the
 * reference multiplies the same operands rounded to bf16 on the host: a bf16·bf16 product is exact in
 * fp32, so what is left is accumulation order, far inside {@link #BF16_TOLERANCE}, and a conversion
 * that rounds differently (truncation, say) or an operand left unconverted still shows. A comparison
 * with the unrounded fp32 product would be dominated by the inputs' rounding instead.
 */
final class MatmulChecks {
    /** SPEC.md §5's tolerance for bf16 inputs with fp32 accumulation. */
    static final double BF16_TOLERANCE = 1e-2;

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
            boolean bf16 = t.candidateGemmPrecision() == GemmPrecision.BF16;
            var flatA = t.gaussian(offset + (long) m * k);
            var flatB = t.gaussian(offset + (long) k * n);
            if (bf16) {
                t.roundReferenceToBf16(flatA);
                t.roundReferenceToBf16(flatB);
            }
            var a = view(flatA, offset, transA ? new long[] {k, m} : new long[] {m, k});
            var b = view(flatB, offset, transB ? new long[] {n, k} : new long[] {k, n});
            var c = view(beta == 0 ? t.poisoned(offset + (long) m * n) : t.gaussian(offset + (long) m * n), offset, new long[] {m, n});
            t.run((be, s) -> be.matmul(s.of(c), s.of(a), transA, s.of(b), transB, m, n, k, alpha, beta));
            String label = bf16 ? op + " bf16" : op;
            out.accept(t.compare(label, shape, c, bf16 ? BF16_TOLERANCE : TOLERANCE));
        });
    }

    private static Twins.Pair view(Twins.Pair flat, int offset, long[] shape) {
        return new Twins.Pair(flat.candidate().view(offset, shape), flat.reference().view(offset, shape));
    }
}
