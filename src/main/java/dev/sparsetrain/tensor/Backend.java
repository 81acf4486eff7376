package dev.sparsetrain.tensor;

/**
 * The one seam between the model and the kernels. Layers are written once against this interface;
 * every backend (the naive reference, the Vector API CPU backend, CUDA) implements the same
 * semantics, which are spelled out here and pinned down executably by {@code ReferenceBackend}.
 *
 * <p>Conventions: all tensors are row-major and contiguous. {@code T} is the number of token rows
 * (batch × sequence, sequence-major within a batch row: token {@code t} sits at position
 * {@code t % seqLen}). Outputs never alias inputs unless a method says so. Methods named
 * {@code ...Backward} that say "adds" accumulate into their gradient outputs; the others overwrite.
 * Reductions that return a value to the host ({@link #sumSquares}, {@link #crossEntropy}) synchronise.
 */
public interface Backend extends AutoCloseable {

    /** Short name for logs: "cpu", "reference", "cuda:0". */
    String name();

    // ---- memory -------------------------------------------------------------------------------

    /** A new zero-filled tensor. */
    Tensor zeros(DType dtype, long... shape);

    /** Copies {@code dst.numel()} floats from {@code src[srcOff...]} into {@code dst} (F32). */
    void upload(Tensor dst, float[] src, int srcOff);

    /** Copies {@code dst.numel()} ints from {@code src[srcOff...]} into {@code dst} (I32). */
    void uploadInts(Tensor dst, int[] src, int srcOff);

    /** Copies all of {@code src} (F32) into {@code dst[dstOff...]}. */
    void download(Tensor src, float[] dst, int dstOff);

    default float[] toHost(Tensor src) {
        float[] out = new float[Math.toIntExact(src.numel())];
        download(src, out, 0);
        return out;
    }

    // ---- elementwise and reductions -------------------------------------------------------------

    void fill(Tensor t, float value);

    /** dst = src (same element count). */
    void copy(Tensor dst, Tensor src);

    /** t *= s. */
    void scale(Tensor t, float s);

    /** out = a + b; out may alias a or b. */
    void add(Tensor out, Tensor a, Tensor b);

    /** Σ t², accumulated in double. */
    double sumSquares(Tensor t);

    // ---- GEMM -------------------------------------------------------------------------------------

    /**
     * C = alpha·op(A)·op(B) + beta·C with C [m,n]. op(A) is [m,k]: A is stored [m,k], or [k,m] when
     * {@code transA}. op(B) is [k,n]: B is stored [k,n], or [n,k] when {@code transB}. With
     * beta = 0 the old contents of C are ignored (even NaN). A linear layer with weight W[out,in]
     * computes Y = X·Wᵀ as {@code matmul(Y, X, false, W, true, T, out, in, 1, 0)}.
     */
    void matmul(Tensor c, Tensor a, boolean transA, Tensor b, boolean transB,
                int m, int n, int k, float alpha, float beta);

    // ---- embedding --------------------------------------------------------------------------------

    /** out[t,:] = table[tokens[t],:]; out [T,d], tokens I32 [T], table [V,d]. */
    void embeddingForward(Tensor out, Tensor tokens, Tensor table);

    /** Adds dOut[t,:] into dTable[tokens[t],:]. */
    void embeddingBackward(Tensor dTable, Tensor tokens, Tensor dOut);

    // ---- RMSNorm ----------------------------------------------------------------------------------

    /** rstd[t] = 1/sqrt(mean(x[t,:]²) + eps); out[t,i] = x[t,i]·rstd[t]·weight[i]. x, out [T,d]; rstd [T]. */
    void rmsNormForward(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps);

    /** Adds ∂L/∂x into dx and ∂L/∂weight into dWeight, given dOut and the forward's x and rstd. */
    void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd);

    // ---- RoPE -------------------------------------------------------------------------------------

    /**
     * Rotates x [T, nHeads·headDim] in place, Hugging Face Llama convention ("rotate half"): within
     * each head, element i < headDim/2 pairs with i + headDim/2, at angle pos·theta^(−2i/headDim)
     * with pos = t % seqLen: (a, b) → (a·cos − b·sin, b·cos + a·sin).
     */
    void ropeForward(Tensor x, int seqLen, int nHeads, int headDim, float theta);

    /** The transpose of {@link #ropeForward} (rotation by −angle), in place on the gradient. */
    void ropeBackward(Tensor dx, int seqLen, int nHeads, int headDim, float theta);

    // ---- attention --------------------------------------------------------------------------------

    /**
     * Causal grouped-query attention. q [T, nHeads·headDim], k and v [T, nKvHeads·headDim],
     * out [T, nHeads·headDim], lse [batch, nHeads, seqLen] with T = batch·seqLen. Query head h reads
     * kv head h / (nHeads/nKvHeads). Scores are q·k/sqrt(headDim); lse holds the natural log-sum-exp
     * of each query row's scaled scores, kept for the backward. Memory-efficient: never holds a
     * whole seqLen×seqLen score matrix per head.
     */
    void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                          int batch, int seqLen, int nHeads, int nKvHeads, int headDim);

    /** Writes (overwrites) dq, dk, dv from dOut and the forward's q, k, v, out and lse. */
    void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut,
                           Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                           int batch, int seqLen, int nHeads, int nKvHeads, int headDim);

    // ---- FFN activations --------------------------------------------------------------------------

    /** a = relu(z)². */
    void relu2Forward(Tensor a, Tensor z);

    /** dz = da · 2·relu(z). */
    void relu2Backward(Tensor dz, Tensor da, Tensor z);

    /** h = silu(gate) · up, silu(x) = x·sigmoid(x). */
    void swigluForward(Tensor h, Tensor gate, Tensor up);

    /** dGate, dUp (overwritten) from dh. */
    void swigluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up);

    // ---- loss ---------------------------------------------------------------------------------------

    /**
     * Fused softmax cross-entropy over logits [T,V] with I32 targets [T]. Writes each row's loss
     * (natural log) to losses [T] and REPLACES the logits by gradScale·(softmax − onehot(target)).
     * A negative target marks a row to ignore: loss 0, gradient 0. Returns the sum of the losses.
     */
    double crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale);

    // ---- optimizer ----------------------------------------------------------------------------------

    /**
     * One AdamW step, PyTorch semantics, on param/grad/m/v of equal size (F32):
     * g = grad·gradScale; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
     * param = param·(1 − lr·weightDecay) − lr·(m/(1−β1^step)) / (sqrt(v/(1−β2^step)) + eps).
     * {@code step} counts from 1.
     */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2,
               float eps, float weightDecay, int step, float gradScale);

    // ---- sparse FFN --------------------------------------------------------------------------------

    /** The sparse FFN kernels of SPEC.md §3 on this backend. */
    default SparseKernels sparse() {
        throw new UnsupportedOperationException("backend '" + name() + "' has no sparse FFN kernels; use the cpu or reference backend");
    }

    /** Waits for queued work (a no-op on CPU backends). */
    default void synchronize() {}

    @Override
    default void close() {}
}
