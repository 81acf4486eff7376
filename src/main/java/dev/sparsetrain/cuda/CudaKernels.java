package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.CudaStorage.ptr;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.List;

/**
 * The host side of the model ops' kernels in {@code src/main/resources/kernels/*.cu}: one method per
 * {@link dev.sparsetrain.tensor.Backend} op, taking the launcher and that op's parameters. Each
 * checks shapes and dtypes (a wrong shape must fail here with a message, never as a device
 * fault), picks the launch shape and launches with arguments in the kernel's parameter order:
 * {@code Long} device pointers and 64-bit counts, {@code Integer} ints, {@code Float} floats.
 *
 * <p>Ops that return a value on the CPU backends leave it on the device here: {@link #sumSquares}
 * writes {@link #SUM_BLOCKS} partial sums and {@link #crossEntropy} one loss per row, which the
 * caller downloads and adds in double. An empty tensor launches nothing. Launches must run in
 * order on one stream: the attention backward's launches depend on it.
 */
public final class CudaKernels {
    /** The kernel sources, resources under {@code /kernels/}; each kernel name occurs in exactly one. */
    public static final List<String> SOURCES = List.of(
            "adamw.cu", "attention.cu", "attention_fa2.cu", "cross_entropy.cu", "elementwise.cu", "embedding.cu", "reductions.cu", "rope.cu");

    /** Blocks of the sum-of-squares kernel, hence the entries of its partial-sums buffer. */
    public static final int SUM_BLOCKS = 1024;

    /** Largest head dimension the attention kernels support. */
    public static final int MAX_HEAD_DIM = 128;

    private static final int THREADS = 256;
    /** Grid-stride kernels stop growing the grid here: ~8 waves of a full H200 (132 SMs × 8 resident blocks of 256). */
    private static final int MAX_BLOCKS = 8192;
    /** What a launch may use without opting in to more (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES). */
    private static final int MAX_SHARED_BYTES = 48 * 1024;
    private static final int MAX_GRID_YZ = 65535;
    private static final int CROSS_ENTROPY_THREADS = 512;
    /** The H200's streaming multiprocessors: grids that must not exceed one resident wave are sized by it. */
    private static final int STREAMING_MULTIPROCESSORS = 132;
    /** Mirror RMSNORM_MAX_THREADS and RMSNORM_COLUMNS_PER_THREAD of reductions.cu. */
    private static final int RMSNORM_MAX_THREADS = 512, RMSNORM_COLUMNS_PER_THREAD = 16;
    /** Widest RMSNorm row: one block's columns. */
    static final int RMSNORM_MAX_WIDTH = RMSNORM_MAX_THREADS * RMSNORM_COLUMNS_PER_THREAD;
    /**
     * Threads of the RMSNorm backward a streaming multiprocessor runs at once (its registers hold
     * about 5 blocks of 128 at d = 2048): enough loads in flight for full bandwidth, and few blocks,
     * hence few dWeight atomics.
     */
    private static final int RMSNORM_RESIDENT_THREADS = 512;
    /** Mirror ACTIVATION_BLOCKS_PER_SM of elementwise.cu and ADAMW_BLOCKS_PER_SM of adamw.cu (their blocks are THREADS wide). */
    private static final int ACTIVATION_BLOCKS_PER_SM = 6, ADAMW_BLOCKS_PER_SM = 3;
    /** Mirrors ATTENTION_ROWS of attention.cu: queries (or keys) per block. */
    private static final int ATTENTION_ROWS = 64;
    /** Mirror FA2_THREADS, FA2_FWD_QUERIES, FA2_BWD_KEYS and FA2_PASS_THREADS of attention_fa2.cu. */
    private static final int FA2_THREADS = 256, FA2_FORWARD_QUERIES = 128, FA2_BACKWARD_KEYS = 128, FA2_PASS_THREADS = 256;

    private CudaKernels() {}

    // ---- elementwise and reductions -------------------------------------------------------------

    public static void fill(KernelLauncher l, Tensor t, float value) {
        requireF32("fill", "t", t);
        elementwise(l, "fill_f32", t.numel(), ptr(t), t.numel(), value);
    }

    public static void scale(KernelLauncher l, Tensor t, float s) {
        requireF32("scale", "t", t);
        elementwise(l, "scale_f32", t.numel(), ptr(t), t.numel(), s);
    }

    /** out = a + b; out may alias a or b. */
    public static void add(KernelLauncher l, Tensor out, Tensor a, Tensor b) {
        requireF32("add", "out, a, b", out, a, b);
        requireSameSize("add", out, a, b);
        elementwise(l, "add_f32", out.numel(), ptr(out), ptr(a), ptr(b), out.numel());
    }

    /** Writes into {@code partials} (F32, {@link #SUM_BLOCKS} elements) partial sums of t² whose total is Σ t². */
    public static void sumSquares(KernelLauncher l, Tensor t, Tensor partials) {
        requireF32("sumSquares", "t, partials", t, partials);
        requireSize("sumSquares", "partials", partials, SUM_BLOCKS);
        // Always launched, even for an empty t: every block writes its entry, so none is stale.
        l.launch("sum_squares_f32", SUM_BLOCKS, 1, 1, THREADS, 1, 0, ptr(t), t.numel(), ptr(partials));
    }

    // ---- FFN activations --------------------------------------------------------------------------

    public static void relu2Forward(KernelLauncher l, Tensor a, Tensor z) {
        requireF32("relu2Forward", "a, z", a, z);
        requireSameSize("relu2Forward", a, z);
        residentWave(l, "relu2_forward_f32", z.numel(), ACTIVATION_BLOCKS_PER_SM, ptr(a), ptr(z), z.numel());
    }

    public static void relu2Backward(KernelLauncher l, Tensor dz, Tensor da, Tensor z) {
        requireF32("relu2Backward", "dz, da, z", dz, da, z);
        requireSameSize("relu2Backward", dz, da, z);
        residentWave(l, "relu2_backward_f32", z.numel(), ACTIVATION_BLOCKS_PER_SM, ptr(dz), ptr(da), ptr(z), z.numel());
    }

    public static void swigluForward(KernelLauncher l, Tensor h, Tensor gate, Tensor up) {
        requireF32("swigluForward", "h, gate, up", h, gate, up);
        requireSameSize("swigluForward", h, gate, up);
        elementwise(l, "swiglu_forward_f32", h.numel(), ptr(h), ptr(gate), ptr(up), h.numel());
    }

    public static void swigluBackward(KernelLauncher l, Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up) {
        requireF32("swigluBackward", "dGate, dUp, dh, gate, up", dGate, dUp, dh, gate, up);
        requireSameSize("swigluBackward", dh, dGate, dUp, gate, up);
        elementwise(l, "swiglu_backward_f32", dh.numel(), ptr(dGate), ptr(dUp), ptr(dh), ptr(gate), ptr(up), dh.numel());
    }

    // ---- embedding --------------------------------------------------------------------------------

    /** out[t,:] = table[tokens[t],:]; a token outside the vocabulary gets a NaN row (the device cannot throw). */
    public static void embeddingForward(KernelLauncher l, Tensor out, Tensor tokens, Tensor table) {
        requireF32("embeddingForward", "out, table", out, table);
        requireI32("embeddingForward", "tokens", tokens);
        var e = EmbeddingShape.of("embeddingForward", tokens, table);
        requireSize("embeddingForward", "out", out, (long) e.count * e.d);
        if (e.isEmpty()) return;
        l.launch("embedding_forward_f32", Math.min(e.count, MAX_BLOCKS), 1, 1, rowThreads(e.d, THREADS), 1, 0,
                ptr(out), ptr(tokens), ptr(table), e.count, e.d, e.vocab);
    }

    /** Adds dOut[t,:] into dTable[tokens[t],:] (float atomics: the order of the adds may vary). */
    public static void embeddingBackward(KernelLauncher l, Tensor dTable, Tensor tokens, Tensor dOut) {
        requireF32("embeddingBackward", "dTable, dOut", dTable, dOut);
        requireI32("embeddingBackward", "tokens", tokens);
        var e = EmbeddingShape.of("embeddingBackward", tokens, dTable);
        requireSize("embeddingBackward", "dOut", dOut, (long) e.count * e.d);
        if (e.isEmpty()) return;
        l.launch("embedding_backward_f32", Math.min(e.count, MAX_BLOCKS), 1, 1, rowThreads(e.d, THREADS), 1, 0,
                ptr(dTable), ptr(tokens), ptr(dOut), e.count, e.d, e.vocab);
    }

    private record EmbeddingShape(int count, int d, int vocab) {
        static EmbeddingShape of(String op, Tensor tokens, Tensor table) {
            if (table.rank() != 2) throw new IllegalArgumentException(op + ": the table must be [vocab, d], got " + table);
            return new EmbeddingShape(intSize(op, "tokens", tokens.numel()), intSize(op, "d", table.dim(1)),
                    intSize(op, "vocab", table.dim(0)));
        }

        boolean isEmpty() { return count == 0 || d == 0; }
    }

    // ---- RMSNorm ----------------------------------------------------------------------------------

    public static void rmsNormForward(KernelLauncher l, Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) {
        requireF32("rmsNormForward", "out, rstd, x, weight", out, rstd, x, weight);
        int d = rmsNormWidth("rmsNormForward", weight), rows = rows("rmsNormForward", x, d);
        requireSize("rmsNormForward", "out", out, x.numel());
        requireSize("rmsNormForward", "rstd", rstd, rows);
        if (rows == 0) return;
        // One block per row (grid-stride beyond MAX_BLOCKS rows), RMSNORM_COLUMNS_PER_THREAD columns a thread.
        l.launch(rmsNormKernel("rmsnorm_forward_f32", d, out, x, weight), Math.min(rows, MAX_BLOCKS), 1, 1, rmsNormThreads(d), 1, 0,
                ptr(out), ptr(rstd), ptr(x), ptr(weight), rows, d, eps);
    }

    /** Adds ∂L/∂x into dx and ∂L/∂weight into dWeight (the latter through float atomics, one per column per block). */
    public static void rmsNormBackward(KernelLauncher l, Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) {
        requireF32("rmsNormBackward", "dx, dWeight, dOut, x, weight, rstd", dx, dWeight, dOut, x, weight, rstd);
        int d = rmsNormWidth("rmsNormBackward", weight), rows = rows("rmsNormBackward", x, d);
        requireSameSize("rmsNormBackward", x, dx, dOut);
        requireSize("rmsNormBackward", "dWeight", dWeight, d);
        requireSize("rmsNormBackward", "rstd", rstd, rows);
        if (rows == 0) return;
        // Each block ends with d atomic adds of its dWeight partial, so the grid stays at what the GPU
        // holds at once (RMSNORM_RESIDENT_THREADS a streaming multiprocessor) and walks the rows grid-stride.
        int threads = rmsNormThreads(d), blocks = Math.min(rows, STREAMING_MULTIPROCESSORS * Math.max(1, RMSNORM_RESIDENT_THREADS / threads));
        l.launch(rmsNormKernel("rmsnorm_backward_f32", d, dx, dOut, x, weight), blocks, 1, 1, threads, 1, 0,
                ptr(dx), ptr(dWeight), ptr(dOut), ptr(x), ptr(weight), ptr(rstd), rows, d);
    }

    /** The row width d of an RMSNorm, which a block of at most RMSNORM_MAX_THREADS threads must hold in registers. */
    private static int rmsNormWidth(String op, Tensor weight) {
        long d = weight.numel();
        if (d > RMSNORM_MAX_WIDTH) {
            throw new IllegalArgumentException(op + ": the CUDA RMSNorm kernels hold a row in one block's registers and support rows of up to "
                    + RMSNORM_MAX_WIDTH + " columns, got a weight of " + d);
        }
        return (int) d;
    }

    /** Threads of an RMSNorm block: RMSNORM_COLUMNS_PER_THREAD columns each, whole warps. */
    static int rmsNormThreads(int d) { return rowThreads(Math.ceilDiv(d, RMSNORM_COLUMNS_PER_THREAD), RMSNORM_MAX_THREADS); }

    /** {@code base} with x4 appended (the 16-byte-access variant) when d % 4 == 0 and every row-indexed operand is 16-byte aligned. */
    private static String rmsNormKernel(String base, int d, Tensor... rowOperands) {
        return d % 4 == 0 && aligned16(rowOperands) ? base + "x4" : base;
    }

    private static boolean aligned16(Tensor... tensors) {
        for (Tensor t : tensors) if (ptr(t) % 16 != 0) return false;
        return true;
    }

    // ---- RoPE -------------------------------------------------------------------------------------

    public static void ropeForward(KernelLauncher l, Tensor x, int seqLen, int nHeads, int headDim, float theta) {
        rope(l, "ropeForward", x, seqLen, nHeads, headDim, theta, 1f);
    }

    /** The transpose of {@link #ropeForward}: rotation by −angle, in place on the gradient. */
    public static void ropeBackward(KernelLauncher l, Tensor dx, int seqLen, int nHeads, int headDim, float theta) {
        rope(l, "ropeBackward", dx, seqLen, nHeads, headDim, theta, -1f);
    }

    private static void rope(KernelLauncher l, String op, Tensor x, int seqLen, int nHeads, int headDim, float theta, float direction) {
        requireF32(op, "x", x);
        if (seqLen < 1 || nHeads < 1 || headDim < 2 || headDim % 2 != 0) {
            throw new IllegalArgumentException(op + ": need seqLen >= 1, nHeads >= 1 and an even headDim >= 2; got seqLen "
                    + seqLen + ", nHeads " + nHeads + ", headDim " + headDim);
        }
        int sharedBytes = headDim * 8;  // half doubles of frequencies, half floats each of cos and sin
        if (sharedBytes > MAX_SHARED_BYTES) {
            throw new IllegalArgumentException(op + ": headDim " + headDim + " needs " + sharedBytes
                    + " bytes of shared memory for its angle table; the kernel supports headDim <= " + MAX_SHARED_BYTES / 8);
        }
        int rows = rows(op, x, (long) nHeads * headDim);
        if (rows == 0) return;
        long pairs = (long) nHeads * (headDim / 2);
        l.launch("rope_f32", Math.min(rows, MAX_BLOCKS), 1, 1, rowThreads(pairs, THREADS), 1, sharedBytes,
                ptr(x), rows, seqLen, nHeads, headDim, theta, direction);
    }

    // ---- attention --------------------------------------------------------------------------------

    /** Causal GQA attention: out and lse (natural log-sum-exp per query row) from q, k, v, by this process's {@link AttentionKernel}. */
    public static void attentionForward(KernelLauncher l, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                                        int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        attentionForward(l, AttentionKernel.active(), null, out, lse, q, k, v, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    /** {@link #attentionForward(KernelLauncher, Tensor, Tensor, Tensor, Tensor, Tensor, int, int, int, int, int)} with the scratch the fa2 mode needs. */
    public static void attentionForward(KernelLauncher l, AttentionScratch scratch, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                                        int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        attentionForward(l, AttentionKernel.active(), scratch, out, lse, q, k, v, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    /** {@link #attentionForward(KernelLauncher, Tensor, Tensor, Tensor, Tensor, Tensor, int, int, int, int, int)} with an explicit mode. */
    public static void attentionForward(KernelLauncher l, AttentionKernel mode, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                                        int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        attentionForward(l, mode, null, out, lse, q, k, v, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    /**
     * Causal GQA attention forward by {@code mode}; {@code scratch} may be null unless the mode runs
     * this head dim on the fa2 kernels ({@link AttentionKernel#usesTensorCores}), whose bf16 copies of q, k, v it holds.
     */
    public static void attentionForward(KernelLauncher l, AttentionKernel mode, AttentionScratch scratch, Tensor out, Tensor lse,
                                        Tensor q, Tensor k, Tensor v, int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        var a = AttentionLaunch.of("attentionForward", batch, seqLen, nHeads, nKvHeads, headDim);
        a.requireQueryShaped(q, "q");
        a.requireKvShaped(k, "k");
        a.requireKvShaped(v, "v");
        a.requireQueryShaped(out, "out");
        a.requireRowShaped(lse, "lse");
        if (mode.usesTensorCores(headDim)) a.requireScratch(scratch);
        if (a.isEmpty()) return;
        if (mode.usesTensorCores(headDim)) {
            // attention_fa2.cu: bf16 copies, then 256 threads (8 warps x 16 queries) per 128 queries; the
            // query tile is the slowest grid dimension, so the longest tiles of every head start first.
            var copies = Fa2Copies.of(l, scratch, q, k, v);
            l.launch("attention_fa2_forward_hd" + headDim, nHeads, batch, a.fa2Tiles(FA2_FORWARD_QUERIES), FA2_THREADS, 1,
                    fa2ForwardSharedBytes(headDim), ptr(out), ptr(lse), copies.q16(), copies.k16(), copies.v16(), seqLen, nHeads, nKvHeads,
                    a.scale());
            return;
        }
        l.launch("attention_forward_hd" + a.width() + "_f32", a.tiles(), nHeads, batch, a.threads(), 1, 0,
                ptr(out), ptr(lse), ptr(q), ptr(k), ptr(v), seqLen, nHeads, nKvHeads, headDim, a.scale());
    }

    /** Overwrites dq, dk and dv, by this process's {@link AttentionKernel} (see the mode-taking overload for the launches). */
    public static void attentionBackward(KernelLauncher l, Tensor dq, Tensor dk, Tensor dv, Tensor dOut,
                                         Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                         int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        attentionBackward(l, AttentionKernel.active(), null, dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    /** {@link #attentionBackward(KernelLauncher, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, int, int, int, int, int)} with the scratch the fa2 mode needs. */
    public static void attentionBackward(KernelLauncher l, AttentionScratch scratch, Tensor dq, Tensor dk, Tensor dv, Tensor dOut,
                                         Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                         int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        attentionBackward(l, AttentionKernel.active(), scratch, dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    /** {@link #attentionBackward(KernelLauncher, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, int, int, int, int, int)} with an explicit mode. */
    public static void attentionBackward(KernelLauncher l, AttentionKernel mode, Tensor dq, Tensor dk, Tensor dv, Tensor dOut,
                                         Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                         int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        attentionBackward(l, mode, null, dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    /**
     * Overwrites dq, dk and dv by {@code mode}; {@code scratch} may be null unless the mode runs this
     * head dim on the fa2 kernels. The fp32 kernels make three launches: the row deltas Σ dOut·out
     * go into dq (at each head's first dim) as scratch, the dK/dV kernel reads them there, and the dQ
     * kernel reads its rows' deltas before overwriting dq. The fa2 mode makes four: bf16 copies of
     * q, k, v; deltas, a bf16 copy of dOut and a zeroed dQ accumulator; the one backward kernel (dk, dv
     * written, dQ added into the accumulator); dq = accumulator · scale.
     */
    public static void attentionBackward(KernelLauncher l, AttentionKernel mode, AttentionScratch scratch, Tensor dq, Tensor dk, Tensor dv,
                                         Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                         int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        var a = AttentionLaunch.of("attentionBackward", batch, seqLen, nHeads, nKvHeads, headDim);
        a.requireQueryShaped(q, "q");
        a.requireKvShaped(k, "k");
        a.requireKvShaped(v, "v");
        a.requireQueryShaped(out, "out");
        a.requireRowShaped(lse, "lse");
        a.requireQueryShaped(dOut, "dOut");
        a.requireQueryShaped(dq, "dq");
        a.requireKvShaped(dk, "dk");
        a.requireKvShaped(dv, "dv");
        if (mode.usesTensorCores(headDim)) a.requireScratch(scratch);
        if (a.isEmpty()) return;
        long headRows = (long) batch * seqLen * nHeads;
        if (mode.usesTensorCores(headDim)) {
            var copies = Fa2Copies.of(l, scratch, q, k, v);
            long queryElements = headRows * headDim;
            long deltas = scratch.deltas(headRows), dOut16 = scratch.dOut(queryElements), accumulator = scratch.dqAccumulator(queryElements);
            // One warp per (row, head), as the fp32 delta kernel.
            l.launch("attention_fa2_backward_prepare", (int) Math.min(Math.ceilDiv(headRows, FA2_PASS_THREADS / 32), MAX_BLOCKS), 1, 1,
                    FA2_PASS_THREADS, 1, 0, deltas, dOut16, accumulator, ptr(dOut), ptr(out), headRows, seqLen, nHeads, headDim);
            // 256 threads (8 warps x 16 keys) per 128 keys of one kv head, key tiles the slowest grid dimension.
            l.launch("attention_fa2_backward_hd" + headDim, nKvHeads, batch, a.fa2Tiles(FA2_BACKWARD_KEYS), FA2_THREADS, 1,
                    fa2BackwardSharedBytes(headDim), ptr(dk), ptr(dv), accumulator, copies.q16(), copies.k16(), copies.v16(), dOut16,
                    ptr(lse), deltas, seqLen, nHeads, nKvHeads, a.scale());
            l.launch("attention_fa2_backward_finish", passBlocks(queryElements), 1, 1, FA2_PASS_THREADS, 1, 0,
                    ptr(dq), accumulator, queryElements, a.scale());
            return;
        }
        int warpsPerBlock = THREADS / 32;
        l.launch("attention_backward_delta_f32", (int) Math.min(Math.ceilDiv(headRows, warpsPerBlock), MAX_BLOCKS), 1, 1,
                THREADS, 1, 0, ptr(dq), ptr(dOut), ptr(out), headRows, headDim);
        l.launch("attention_backward_dkdv_hd" + a.width() + "_f32", a.tiles(), nKvHeads, batch, a.threads(), 1, 0,
                ptr(dk), ptr(dv), ptr(dq), ptr(dOut), ptr(q), ptr(k), ptr(v), ptr(lse), seqLen, nHeads, nKvHeads, headDim, a.scale());
        l.launch("attention_backward_dq_hd" + a.width() + "_f32", a.tiles(), nHeads, batch, a.threads(), 1, 0,
                ptr(dq), ptr(dOut), ptr(q), ptr(k), ptr(v), ptr(lse), seqLen, nHeads, nKvHeads, headDim, a.scale());
    }

    /** Dynamic shared memory of attention_fa2_forward_hd{64,128}: mirrors fa2_forward_shared_bytes of attention_fa2.cu. */
    static int fa2ForwardSharedBytes(int headDim) { return 4 * 64 * (headDim + 8) * 2; }

    /** Dynamic shared memory of attention_fa2_backward_hd{64,128}: mirrors fa2_backward_shared_bytes of attention_fa2.cu. */
    static int fa2BackwardSharedBytes(int headDim) { return (2 * 128 + 4 * 64) * (headDim + 8) * 2 + 128 * (64 + 8) * 2 + 4 * 64 * 4; }

    /** Blocks of a grid-stride pass over n elements, one per thread and step. */
    private static int passBlocks(long n) { return (int) Math.min(Math.ceilDiv(n, FA2_PASS_THREADS), MAX_BLOCKS); }

    /** The scratch addresses of the bf16 copies of q, k, v that one fa2 call reads. */
    private record Fa2Copies(long q16, long k16, long v16) {
        /** Queues the conversion of q, k, v into the scratch (one launch for the three). */
        static Fa2Copies of(KernelLauncher l, AttentionScratch scratch, Tensor q, Tensor k, Tensor v) {
            long queryElements = q.numel(), kvElements = k.numel();
            var copies = new Fa2Copies(scratch.queries(queryElements), scratch.keys(kvElements), scratch.values(kvElements));
            // Head dims are even, so the element counts are too and pairs cover them exactly.
            l.launch("attention_fa2_convert_qkv", passBlocks(queryElements / 2 + kvElements), 1, 1, FA2_PASS_THREADS, 1, 0,
                    copies.q16, copies.k16, copies.v16, ptr(q), ptr(k), ptr(v), queryElements / 2, kvElements / 2);
            return copies;
        }
    }

    /** One attention call's dimensions, checked, and the kernel width (32, 64 or 128) that covers headDim. */
    private record AttentionLaunch(String op, int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {

        static AttentionLaunch of(String op, int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
            if (batch < 0 || seqLen < 0) {
                throw new IllegalArgumentException(op + ": batch and seqLen must be >= 0, got batch=" + batch + ", seqLen=" + seqLen);
            }
            if (nHeads <= 0 || nKvHeads <= 0 || nHeads % nKvHeads != 0) {
                throw new IllegalArgumentException(op + ": needs nKvHeads > 0 dividing nHeads, got nHeads=" + nHeads + ", nKvHeads=" + nKvHeads);
            }
            if (headDim < 1 || headDim > MAX_HEAD_DIM) {
                throw new IllegalArgumentException(op + ": the CUDA attention kernels support 1 <= headDim <= " + MAX_HEAD_DIM
                        + ", got " + headDim + "; use more heads of a smaller dimension");
            }
            if (batch > MAX_GRID_YZ || nHeads > MAX_GRID_YZ) {
                throw new IllegalArgumentException(op + ": batch and nHeads must be <= " + MAX_GRID_YZ + " (CUDA grid limit), got batch="
                        + batch + ", nHeads=" + nHeads + "; split the batch into several calls");
            }
            return new AttentionLaunch(op, batch, seqLen, nHeads, nKvHeads, headDim);
        }

        int width() { return headDim <= 32 ? 32 : headDim <= 64 ? 64 : 128; }

        /** Threads per block of the kernel of this width: 64 rows, width/32 lanes per row. */
        int threads() { return ATTENTION_ROWS * width() / 32; }

        int tiles() { return Math.ceilDiv(seqLen, ATTENTION_ROWS); }

        /** Tiles of {@code rows} over the sequence, as the z dimension of an fa2 grid. */
        int fa2Tiles(int rows) {
            int tiles = Math.ceilDiv(seqLen, rows);
            if (tiles > MAX_GRID_YZ) {
                throw new IllegalArgumentException(op + ": seqLen " + seqLen + " makes " + tiles + " tiles of " + rows
                        + ", more than the grid's z dimension holds (" + MAX_GRID_YZ + ")");
            }
            return tiles;
        }

        boolean isEmpty() { return batch == 0 || seqLen == 0; }

        void requireScratch(AttentionScratch scratch) {
            if (scratch == null) {
                throw new IllegalArgumentException(op + ": attention mode " + AttentionKernel.FA2.label() + " at headDim " + headDim
                        + " needs an AttentionScratch for its bf16 copies and dQ accumulator; pass the backend's");
            }
        }

        float scale() { return (float) (1.0 / Math.sqrt(headDim)); }

        void requireQueryShaped(Tensor t, String name) { require(t, name, (long) batch * seqLen * nHeads * headDim); }

        void requireKvShaped(Tensor t, String name) { require(t, name, (long) batch * seqLen * nKvHeads * headDim); }

        void requireRowShaped(Tensor t, String name) { require(t, name, (long) batch * nHeads * seqLen); }

        private void require(Tensor t, String name, long expected) {
            requireF32(op, name, t);
            if (t.numel() != expected) {
                throw new IllegalArgumentException(op + ": " + name + " is " + t + " with " + t.numel() + " elements, but batch="
                        + batch + ", seqLen=" + seqLen + ", nHeads=" + nHeads + ", nKvHeads=" + nKvHeads + ", headDim=" + headDim
                        + " need " + expected);
            }
        }
    }

    // ---- loss and optimizer -----------------------------------------------------------------------

    /**
     * Fused softmax cross-entropy over logits [T,V]: writes each row's loss into losses [T] and
     * replaces the logits by gradScale·(softmax − onehot). A negative target gives loss 0 and
     * gradient 0; a target ≥ V (which the device cannot reject) gives a NaN loss and gradient.
     */
    public static void crossEntropy(KernelLauncher l, Tensor logits, Tensor targets, Tensor losses, float gradScale) {
        requireF32("crossEntropy", "logits, losses", logits, losses);
        requireI32("crossEntropy", "targets", targets);
        if (logits.rank() == 0) throw new IllegalArgumentException("crossEntropy: logits must be [T, V], got a scalar");
        int vocab = intSize("crossEntropy", "vocab", logits.dim(-1)), rows = rows("crossEntropy", logits, vocab);
        requireSize("crossEntropy", "targets", targets, rows);
        requireSize("crossEntropy", "losses", losses, rows);
        if (rows == 0) return;
        l.launch("cross_entropy_f32", Math.min(rows, MAX_BLOCKS), 1, 1, rowThreads(vocab, CROSS_ENTROPY_THREADS), 1, 0,
                ptr(logits), ptr(targets), ptr(losses), rows, vocab, gradScale);
    }

    /** One AdamW step, PyTorch semantics; the bias corrections 1 − β^step are computed here in double. */
    public static void adamw(KernelLauncher l, Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1,
                             float beta2, float eps, float weightDecay, int step, float gradScale) {
        requireF32("adamw", "param, grad, m, v", param, grad, m, v);
        requireSameSize("adamw", param, grad, m, v);
        if (step < 1) throw new IllegalArgumentException("adamw: step counts from 1, got " + step);
        float biasCorrection1 = (float) (1 - Math.pow(beta1, step)), biasCorrection2 = (float) (1 - Math.pow(beta2, step));
        residentWave(l, "adamw_f32", param.numel(), ADAMW_BLOCKS_PER_SM, ptr(param), ptr(grad), ptr(m), ptr(v), param.numel(),
                lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2, gradScale);
    }

    // ---- launch shapes and checks -----------------------------------------------------------------

    /** A grid-stride kernel over n elements: 256 threads a block, enough blocks for n up to MAX_BLOCKS. */
    private static void elementwise(KernelLauncher l, String kernel, long n, Object... args) {
        if (n == 0) return;
        int blocks = (int) Math.min(Math.ceilDiv(n, THREADS), MAX_BLOCKS);
        l.launch(kernel, blocks, 1, 1, THREADS, 1, 0, args);
    }

    /**
     * A grid-stride kernel over n elements that goes four at a time: 256 threads a block, as many
     * blocks as n / 4 needs, at most the one wave of {@code blocksPerSm} blocks on every streaming
     * multiprocessor that the kernel's launch bound guarantees can be resident together.
     */
    private static void residentWave(KernelLauncher l, String kernel, long n, int blocksPerSm, Object... args) {
        if (n == 0) return;
        int blocks = (int) Math.min(Math.ceilDiv(Math.ceilDiv(n, 4), THREADS), (long) STREAMING_MULTIPROCESSORS * blocksPerSm);
        l.launch(kernel, blocks, 1, 1, THREADS, 1, 0, args);
    }

    /** Threads for a block that walks a row of {@code width} elements: whole warps, at most {@code max}. */
    private static int rowThreads(long width, int max) {
        return (int) Math.clamp(Math.ceilDiv(width, 32) * 32, 32, max);
    }

    private static int rows(String op, Tensor t, long width) {
        if (width <= 0 || t.numel() % width != 0) {
            throw new IllegalArgumentException(op + ": " + t + " is not a whole number of rows of width " + width);
        }
        return intSize(op, "rows of " + t, t.numel() / width);
    }

    private static int intSize(String op, String what, long size) {
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": " + what + " is " + size + ", more than the kernel's int index holds ("
                    + Integer.MAX_VALUE + "); split the call");
        }
        return (int) size;
    }

    private static void requireSize(String op, String what, Tensor t, long expected) {
        if (t.numel() != expected) {
            throw new IllegalArgumentException(op + ": " + what + " must hold " + expected + " elements, got " + t);
        }
    }

    private static void requireSameSize(String op, Tensor first, Tensor... others) {
        for (Tensor t : others) {
            if (t.numel() != first.numel()) {
                throw new IllegalArgumentException(op + ": tensors must have equal element counts, got " + first + " and " + t);
            }
        }
    }

    /** Checks that every tensor is F32; {@code names} lists them in order, comma-separated, for the message. */
    private static void requireF32(String op, String names, Tensor... tensors) {
        String[] name = names.split(", ");
        for (int i = 0; i < tensors.length; i++) requireDType(op, name[i], tensors[i], DType.F32);
    }

    private static void requireI32(String op, String name, Tensor t) { requireDType(op, name, t, DType.I32); }

    private static void requireDType(String op, String name, Tensor t, DType dtype) {
        if (t.dtype() != dtype) throw new IllegalArgumentException(op + ": " + name + " must be " + dtype + ", got " + t);
    }
}
