package dev.sparsetrain.cuda.selftest;

import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.SparseKernels;
import dev.sparsetrain.tensor.Tensor;

/**
 * The CPU backend with one op deliberately wrong: after {@code relu2Forward} or {@code matmul} it adds
 * 1e-2 to every output element, or {@code scale} throws as a missing kernel would. The selftest must catch it.
 */
final class PerturbedBackend implements Backend {
    static final float ERROR = 1e-2f;

    enum Op { RELU2_FORWARD, MATMUL, SCALE_THROWS }

    private final CpuBackend cpu = new CpuBackend();
    private final Op perturbed;

    PerturbedBackend(Op perturbed) { this.perturbed = perturbed; }

    private void perturb(Tensor t, long elements) {
        Tensor view = t.view(0, elements);
        float[] v = cpu.toHost(view);
        for (int i = 0; i < v.length; i++) v[i] += ERROR;
        cpu.upload(view, v, 0);
    }

    @Override public String name() { return "cpu with " + perturbed + " off by " + ERROR; }
    @Override public Tensor zeros(DType dtype, long... shape) { return cpu.zeros(dtype, shape); }
    @Override public void upload(Tensor dst, float[] src, int srcOff) { cpu.upload(dst, src, srcOff); }
    @Override public void uploadInts(Tensor dst, int[] src, int srcOff) { cpu.uploadInts(dst, src, srcOff); }
    @Override public void download(Tensor src, float[] dst, int dstOff) { cpu.download(src, dst, dstOff); }
    @Override public void fill(Tensor t, float value) { cpu.fill(t, value); }
    @Override public void copy(Tensor dst, Tensor src) { cpu.copy(dst, src); }
    @Override
    public void scale(Tensor t, float s) {
        if (perturbed == Op.SCALE_THROWS) throw new IllegalStateException("no scale kernel");
        cpu.scale(t, s);
    }

    @Override public void add(Tensor out, Tensor a, Tensor b) { cpu.add(out, a, b); }
    /** The CPU's own sparse kernels, unperturbed: the sparse rows must pass while another op is wrong. */
    @Override public SparseKernels sparse() { return cpu.sparse(); }
    @Override public double sumSquares(Tensor t) { return cpu.sumSquares(t); }

    @Override
    public void matmul(Tensor c, Tensor a, boolean transA, Tensor b, boolean transB, int m, int n, int k, float alpha, float beta) {
        cpu.matmul(c, a, transA, b, transB, m, n, k, alpha, beta);
        if (perturbed == Op.MATMUL) perturb(c, (long) m * n);
    }

    @Override public void embeddingForward(Tensor out, Tensor tokens, Tensor table) { cpu.embeddingForward(out, tokens, table); }
    @Override public void embeddingBackward(Tensor dTable, Tensor tokens, Tensor dOut) { cpu.embeddingBackward(dTable, tokens, dOut); }
    @Override public void rmsNormForward(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) { cpu.rmsNormForward(out, rstd, x, weight, eps); }
    @Override public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) {
        cpu.rmsNormBackward(dx, dWeight, dOut, x, weight, rstd);
    }
    @Override public void ropeForward(Tensor x, int seqLen, int nHeads, int headDim, float theta) { cpu.ropeForward(x, seqLen, nHeads, headDim, theta); }
    @Override public void ropeBackward(Tensor dx, int seqLen, int nHeads, int headDim, float theta) { cpu.ropeBackward(dx, seqLen, nHeads, headDim, theta); }

    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        cpu.attentionForward(out, lse, q, k, v, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                  int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        cpu.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    @Override
    public void relu2Forward(Tensor a, Tensor z) {
        cpu.relu2Forward(a, z);
        if (perturbed == Op.RELU2_FORWARD) perturb(a, a.numel());
    }

    @Override public void relu2Backward(Tensor dz, Tensor da, Tensor z) { cpu.relu2Backward(dz, da, z); }
    @Override public void swigluForward(Tensor h, Tensor gate, Tensor up) { cpu.swigluForward(h, gate, up); }
    @Override public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up) { cpu.swigluBackward(dGate, dUp, dh, gate, up); }
    @Override public double crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale) { return cpu.crossEntropy(logits, targets, losses, gradScale); }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale) {
        cpu.adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, gradScale);
    }
}
