package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Tensor;

/**
 * The fast CPU backend: multi-threaded Vector API kernels over heap arrays, one kernel class per
 * job (CpuElementwise, CpuActivations, CpuEmbedding, CpuRmsNorm, CpuRope, CpuCrossEntropy,
 * CpuAdamW, CpuMatmul, CpuAttention). Every op is tested against {@link ReferenceBackend} on
 * random data.
 */
public final class CpuBackend extends HeapBackend {
    /** Holds the cached cos/sin tables, so it lives as long as the backend. */
    private final CpuRope rope = new CpuRope();
    private final CpuSparseKernels sparse = new CpuSparseKernels();

    @Override
    public String name() { return "cpu"; }

    @Override
    public CpuSparseKernels sparse() { return sparse; }

    @Override public void scale(Tensor t, float s) { CpuElementwise.scale(t, s); }
    @Override public void add(Tensor out, Tensor a, Tensor b) { CpuElementwise.add(out, a, b); }
    @Override public double sumSquares(Tensor t) { return CpuElementwise.sumSquares(t); }

    @Override
    public void matmul(Tensor c, Tensor a, boolean transA, Tensor b, boolean transB, int m, int n, int k, float alpha, float beta) {
        CpuMatmul.matmul(c, a, transA, b, transB, m, n, k, alpha, beta);
    }

    @Override public void embeddingForward(Tensor out, Tensor tokens, Tensor table) { CpuEmbedding.forward(out, tokens, table); }
    @Override public void embeddingBackward(Tensor dTable, Tensor tokens, Tensor dOut) { CpuEmbedding.backward(dTable, tokens, dOut); }
    @Override public void rmsNormForward(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) { CpuRmsNorm.forward(out, rstd, x, weight, eps); }
    @Override public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) { CpuRmsNorm.backward(dx, dWeight, dOut, x, weight, rstd); }
    @Override public void ropeForward(Tensor x, int seqLen, int nHeads, int headDim, float theta) { rope.rotate(x, seqLen, nHeads, headDim, theta, false); }
    @Override public void ropeBackward(Tensor dx, int seqLen, int nHeads, int headDim, float theta) { rope.rotate(dx, seqLen, nHeads, headDim, theta, true); }

    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        CpuAttention.forward(out, lse, q, k, v, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                  int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        CpuAttention.backward(dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    @Override public void relu2Forward(Tensor a, Tensor z) { CpuActivations.relu2Forward(a, z); }
    @Override public void relu2Backward(Tensor dz, Tensor da, Tensor z) { CpuActivations.relu2Backward(dz, da, z); }
    @Override public void swigluForward(Tensor h, Tensor gate, Tensor up) { CpuActivations.swigluForward(h, gate, up); }
    @Override public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up) { CpuActivations.swigluBackward(dGate, dUp, dh, gate, up); }
    @Override public double crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale) { return CpuCrossEntropy.crossEntropy(logits, targets, losses, gradScale); }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale) {
        CpuAdamW.step(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, gradScale);
    }
}
