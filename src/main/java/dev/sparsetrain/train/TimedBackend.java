package dev.sparsetrain.train;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.SparseKernels;
import dev.sparsetrain.tensor.Tensor;

/**
 * A {@link Backend} that forwards every call to another one and, while profiling, attributes the
 * wall time of each call to an {@link OpCategory}. A GPU queues work asynchronously, so a profiled
 * call synchronises before (to exclude earlier work) and after (to include its own); those syncs
 * slow the step down, which is why a benchmark times throughput with profiling off. With profiling
 * off each call costs one boolean check. Closing it closes the wrapped backend.
 */
public final class TimedBackend implements Backend {
    private final Backend inner;
    private final OpTimes times = new OpTimes();
    private boolean profiling;
    private SparseKernels sparse;

    public TimedBackend(Backend inner) {
        this.inner = inner;
    }

    /** The wrapped backend. */
    public Backend inner() { return inner; }

    /** Clears the accumulated times and starts attributing calls. */
    public void startProfiling() {
        times.clear();
        profiling = true;
    }

    /** Stops attributing calls; the times so far stay readable. */
    public void stopProfiling() { profiling = false; }

    public boolean profiling() { return profiling; }

    /** A snapshot of the times accumulated since {@link #startProfiling()}. */
    public OpTimes times() { return times.copy(); }

    /** Synchronises and returns the start time of a profiled call. */
    long begin() {
        inner.synchronize();
        return System.nanoTime();
    }

    /** Synchronises and books the call that began at {@code start}. */
    void end(OpCategory category, long start) {
        inner.synchronize();
        times.add(category, System.nanoTime() - start);
    }

    @Override
    public String name() { return inner.name(); }

    // ---- memory -------------------------------------------------------------------------------

    @Override
    public Tensor zeros(DType dtype, long... shape) {
        if (!profiling) return inner.zeros(dtype, shape);
        long t = begin();
        Tensor z = inner.zeros(dtype, shape);
        end(OpCategory.MEMORY, t);
        return z;
    }

    @Override
    public void upload(Tensor dst, float[] src, int srcOff) {
        if (!profiling) { inner.upload(dst, src, srcOff); return; }
        long t = begin();
        inner.upload(dst, src, srcOff);
        end(OpCategory.MEMORY, t);
    }

    @Override
    public void uploadInts(Tensor dst, int[] src, int srcOff) {
        if (!profiling) { inner.uploadInts(dst, src, srcOff); return; }
        long t = begin();
        inner.uploadInts(dst, src, srcOff);
        end(OpCategory.MEMORY, t);
    }

    @Override
    public void download(Tensor src, float[] dst, int dstOff) {
        if (!profiling) { inner.download(src, dst, dstOff); return; }
        long t = begin();
        inner.download(src, dst, dstOff);
        end(OpCategory.MEMORY, t);
    }

    // ---- elementwise and reductions -------------------------------------------------------------

    @Override
    public void fill(Tensor tensor, float value) {
        if (!profiling) { inner.fill(tensor, value); return; }
        long t = begin();
        inner.fill(tensor, value);
        end(OpCategory.MEMORY, t);
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        if (!profiling) { inner.copy(dst, src); return; }
        long t = begin();
        inner.copy(dst, src);
        end(OpCategory.MEMORY, t);
    }

    @Override
    public void scale(Tensor tensor, float s) {
        if (!profiling) { inner.scale(tensor, s); return; }
        long t = begin();
        inner.scale(tensor, s);
        end(OpCategory.MEMORY, t);
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        if (!profiling) { inner.add(out, a, b); return; }
        long t = begin();
        inner.add(out, a, b);
        end(OpCategory.MEMORY, t);
    }

    @Override
    public double sumSquares(Tensor tensor) {
        if (!profiling) return inner.sumSquares(tensor);
        long t = begin();
        double s = inner.sumSquares(tensor);
        end(OpCategory.OPTIMIZER, t);
        return s;
    }

    // ---- GEMM -------------------------------------------------------------------------------------

    @Override
    public void matmul(Tensor c, Tensor a, boolean transA, Tensor b, boolean transB, int m, int n, int k, float alpha, float beta) {
        if (!profiling) { inner.matmul(c, a, transA, b, transB, m, n, k, alpha, beta); return; }
        long t = begin();
        inner.matmul(c, a, transA, b, transB, m, n, k, alpha, beta);
        end(OpCategory.GEMM, t);
    }

    // ---- embedding --------------------------------------------------------------------------------

    @Override
    public void embeddingForward(Tensor out, Tensor tokens, Tensor table) {
        if (!profiling) { inner.embeddingForward(out, tokens, table); return; }
        long t = begin();
        inner.embeddingForward(out, tokens, table);
        end(OpCategory.EMBEDDING, t);
    }

    @Override
    public void embeddingBackward(Tensor dTable, Tensor tokens, Tensor dOut) {
        if (!profiling) { inner.embeddingBackward(dTable, tokens, dOut); return; }
        long t = begin();
        inner.embeddingBackward(dTable, tokens, dOut);
        end(OpCategory.EMBEDDING, t);
    }

    // ---- RMSNorm ----------------------------------------------------------------------------------

    @Override
    public void rmsNormForward(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) {
        if (!profiling) { inner.rmsNormForward(out, rstd, x, weight, eps); return; }
        long t = begin();
        inner.rmsNormForward(out, rstd, x, weight, eps);
        end(OpCategory.NORMS, t);
    }

    @Override
    public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) {
        if (!profiling) { inner.rmsNormBackward(dx, dWeight, dOut, x, weight, rstd); return; }
        long t = begin();
        inner.rmsNormBackward(dx, dWeight, dOut, x, weight, rstd);
        end(OpCategory.NORMS, t);
    }

    // ---- RoPE -------------------------------------------------------------------------------------

    @Override
    public void ropeForward(Tensor x, int seqLen, int nHeads, int headDim, float theta) {
        if (!profiling) { inner.ropeForward(x, seqLen, nHeads, headDim, theta); return; }
        long t = begin();
        inner.ropeForward(x, seqLen, nHeads, headDim, theta);
        end(OpCategory.ROPE, t);
    }

    @Override
    public void ropeBackward(Tensor dx, int seqLen, int nHeads, int headDim, float theta) {
        if (!profiling) { inner.ropeBackward(dx, seqLen, nHeads, headDim, theta); return; }
        long t = begin();
        inner.ropeBackward(dx, seqLen, nHeads, headDim, theta);
        end(OpCategory.ROPE, t);
    }

    // ---- attention --------------------------------------------------------------------------------

    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                                 int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        if (!profiling) { inner.attentionForward(out, lse, q, k, v, batch, seqLen, nHeads, nKvHeads, headDim); return; }
        long t = begin();
        inner.attentionForward(out, lse, q, k, v, batch, seqLen, nHeads, nKvHeads, headDim);
        end(OpCategory.ATTENTION, t);
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                  int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        if (!profiling) { inner.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKvHeads, headDim); return; }
        long t = begin();
        inner.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKvHeads, headDim);
        end(OpCategory.ATTENTION, t);
    }

    // ---- FFN activations --------------------------------------------------------------------------

    @Override
    public void relu2Forward(Tensor a, Tensor z) {
        if (!profiling) { inner.relu2Forward(a, z); return; }
        long t = begin();
        inner.relu2Forward(a, z);
        end(OpCategory.ACTIVATIONS, t);
    }

    @Override
    public void relu2Backward(Tensor dz, Tensor da, Tensor z) {
        if (!profiling) { inner.relu2Backward(dz, da, z); return; }
        long t = begin();
        inner.relu2Backward(dz, da, z);
        end(OpCategory.ACTIVATIONS, t);
    }

    @Override
    public void swigluForward(Tensor h, Tensor gate, Tensor up) {
        if (!profiling) { inner.swigluForward(h, gate, up); return; }
        long t = begin();
        inner.swigluForward(h, gate, up);
        end(OpCategory.ACTIVATIONS, t);
    }

    @Override
    public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up) {
        if (!profiling) { inner.swigluBackward(dGate, dUp, dh, gate, up); return; }
        long t = begin();
        inner.swigluBackward(dGate, dUp, dh, gate, up);
        end(OpCategory.ACTIVATIONS, t);
    }

    // ---- loss ---------------------------------------------------------------------------------------

    @Override
    public double crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale) {
        if (!profiling) return inner.crossEntropy(logits, targets, losses, gradScale);
        long t = begin();
        double sum = inner.crossEntropy(logits, targets, losses, gradScale);
        end(OpCategory.LOSS, t);
        return sum;
    }

    // ---- optimizer ----------------------------------------------------------------------------------

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2,
                      float eps, float weightDecay, int step, float gradScale) {
        if (!profiling) { inner.adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, gradScale); return; }
        long t = begin();
        inner.adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, gradScale);
        end(OpCategory.OPTIMIZER, t);
    }

    // ---- sparse FFN --------------------------------------------------------------------------------

    /**
     * The inner backend's sparse kernels behind a timing wrapper. Created once: layers keep the
     * object they were handed, so it has to honour profiling switched on later.
     */
    @Override
    public synchronized SparseKernels sparse() {
        if (sparse == null) sparse = new TimedSparseKernels(inner.sparse(), this);
        return sparse;
    }

    @Override
    public void synchronize() { inner.synchronize(); }

    @Override
    public void close() { inner.close(); }
}
