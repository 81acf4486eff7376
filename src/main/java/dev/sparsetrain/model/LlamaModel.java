package dev.sparsetrain.model;

import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.config.SparsityConfig;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;
import java.util.List;
import java.util.Optional;

/**
 * The Llama-style decoder of SPEC.md §1 with an explicit forward and backward (llm.c style), written
 * only against {@link Backend} so the same code runs on every backend.
 *
 * <p>All parameters live in one flat buffer and all gradients in another of the same
 * {@link ParameterLayout}. Every activation buffer is allocated here, once, for {@code batchRows}
 * rows of {@code seqLen} tokens; a step allocates no backend memory. Parameters start at zero: call
 * {@link #initialize} or upload a checkpoint into {@link #parameters()}.
 *
 * <p>The FFN follows the phases of SPEC.md §2: the dense squared-ReLU FFN until
 * {@link #enterSparsePhase}, the sparse FFN of §3 until {@link #enterDensePhase}, then dense again.
 *
 * <p>Not thread-safe: each call reuses the same activation buffers.
 */
public final class LlamaModel implements AutoCloseable {
    private final Backend b;
    private final ModelConfig config;
    private final ParameterLayout layout;
    private final int batchRows;
    private final Allocations alloc;
    private final Tensor params, grads;
    private final Tensor embedding, dEmbedding, finalNorm, dFinalNorm;
    private final Tensor[] attnNorm, dAttnNorm, ffnNorm, dFfnNorm;
    private final AttentionBlock attention;
    private final SparsePhases ffnPhases;
    private final LmHead lmHead;

    // Activations, [capacity, d] unless noted. resid[l] is the residual stream entering layer l
    // (resid[0] the embeddings, resid[L] the final one); mid[l] is layer l's stream after attention.
    private final Tensor tokens, targets; // I32 [capacity]
    private final Tensor[] resid, attnIn, attnRstd, mid, ffnIn, ffnRstd; // rstd: [capacity]
    private final Tensor finalHidden, finalRstd, branch, dResid, dBranchIn;

    /** A model whose LM head processes {@link LmHead#defaultChunkRows} rows at a time. */
    public LlamaModel(Backend backend, ModelConfig config, int batchRows) {
        this(backend, config, batchRows, LmHead.defaultChunkRows(config.vocabSize()));
    }

    /**
     * @param batchRows       most sequences per step; activation buffers hold batchRows × seqLen tokens
     * @param lmHeadChunkRows token rows whose logits are held at once in the LM head
     */
    public LlamaModel(Backend backend, ModelConfig config, int batchRows, int lmHeadChunkRows) {
        if (batchRows <= 0) throw new IllegalArgumentException("batch rows must be > 0, got " + batchRows);
        this.b = backend;
        this.config = config;
        this.layout = ParameterLayout.of(config);
        this.batchRows = batchRows;
        this.alloc = new Allocations(backend);
        int cap = Math.multiplyExact(batchRows, config.seqLen()), d = config.dim(), layers = config.layers();
        this.params = alloc.f32(layout.totalElements());
        this.grads = alloc.f32(layout.totalElements());
        var r = new BlockResources(backend, layout, params, grads, alloc, cap);

        embedding = r.param("tok_embedding");
        dEmbedding = r.grad("tok_embedding");
        finalNorm = r.param("final_norm");
        dFinalNorm = r.grad("final_norm");
        attnNorm = new Tensor[layers];
        dAttnNorm = new Tensor[layers];
        ffnNorm = new Tensor[layers];
        dFfnNorm = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            attnNorm[l] = r.param(ParameterLayout.layerName(l, "attn_norm"));
            dAttnNorm[l] = r.grad(ParameterLayout.layerName(l, "attn_norm"));
            ffnNorm[l] = r.param(ParameterLayout.layerName(l, "ffn_norm"));
            dFfnNorm[l] = r.grad(ParameterLayout.layerName(l, "ffn_norm"));
        }
        attention = new AttentionBlock(r);
        ffnPhases = new SparsePhases(r, FeedForward.create(r));
        lmHead = new LmHead(r, lmHeadChunkRows);

        tokens = alloc.i32(cap);
        targets = alloc.i32(cap);
        resid = new Tensor[layers + 1];
        attnIn = new Tensor[layers];
        attnRstd = new Tensor[layers];
        mid = new Tensor[layers];
        ffnIn = new Tensor[layers];
        ffnRstd = new Tensor[layers];
        for (int l = 0; l <= layers; l++) resid[l] = alloc.f32(cap, d);
        for (int l = 0; l < layers; l++) {
            attnIn[l] = alloc.f32(cap, d);
            attnRstd[l] = alloc.f32(cap);
            mid[l] = alloc.f32(cap, d);
            ffnIn[l] = alloc.f32(cap, d);
            ffnRstd[l] = alloc.f32(cap);
        }
        finalHidden = alloc.f32(cap, d);
        finalRstd = alloc.f32(cap);
        branch = alloc.f32(cap, d);
        dResid = alloc.f32(cap, d);
        dBranchIn = alloc.f32(cap, d);
    }

    /** Overwrites the parameters with the seeded init of {@link ParameterInit}; returns this model. */
    public LlamaModel initialize(long seed) {
        ParameterInit.initialize(b, layout, params, seed);
        return this;
    }

    /** Sets every gradient to zero (before the first micro-batch of an optimizer step). */
    public void zeroGradients() { b.fill(grads, 0); }

    /**
     * Forward and backward over whole sequences: {@code tokens} and {@code targets} hold k·seqLen
     * values (1 ≤ k ≤ batchRows), sequence-major. ADDS the gradient of lossScale·(mean loss over the
     * targets ≥ 0) into {@link #gradients()}, so micro-batches accumulate. Targets &lt; 0 are ignored.
     *
     * @return the mean cross-entropy in nats per non-ignored target
     */
    public double trainStep(int[] tokens, int[] targets, float lossScale) {
        int rows = load(tokens, targets);
        int counted = countTargets(targets);
        int t = rows * config.seqLen();
        forward(rows, config.seqLen());

        Tensor dHidden = dBranchIn.rows(0, t);
        double total = lmHead.lossAndBackward(finalHidden.rows(0, t), this.targets.view(0, t), dHidden, lossScale / counted);
        Tensor dR = dResid.rows(0, t);
        b.fill(dR, 0);
        b.rmsNormBackward(dR, dFinalNorm, dHidden, resid[config.layers()].rows(0, t), finalNorm, finalRstd.rows(0, t));
        // dR is ∂L/∂(residual stream); each branch adds its contribution through its norm's backward.
        FeedForward ffn = ffnPhases.active();
        for (int l = config.layers() - 1; l >= 0; l--) {
            Tensor dIn = dBranchIn.rows(0, t);
            ffn.backward(l, dIn, dR, ffnIn[l].rows(0, t));
            b.rmsNormBackward(dR, dFfnNorm[l], dIn, mid[l].rows(0, t), ffnNorm[l], ffnRstd[l].rows(0, t));
            attention.backward(l, dIn, dR, attnIn[l].rows(0, t), rows, config.seqLen());
            b.rmsNormBackward(dR, dAttnNorm[l], dIn, resid[l].rows(0, t), attnNorm[l], attnRstd[l].rows(0, t));
        }
        b.embeddingBackward(dEmbedding, this.tokens.view(0, t), dR);
        return total / counted;
    }

    /** Forward only, same inputs as {@link #trainStep}; the mean loss over targets ≥ 0. Gradients are untouched. */
    public double evaluate(int[] tokens, int[] targets) {
        int rows = load(tokens, targets);
        int counted = countTargets(targets);
        int t = rows * config.seqLen();
        forward(rows, config.seqLen());
        return lmHead.loss(finalHidden.rows(0, t), this.targets.view(0, t)) / counted;
    }

    /**
     * Logits [V] for the token that follows {@code context} (1 to seqLen tokens), for sampling. Runs
     * one row of exactly the context's length: causal attention makes that equal to the logits at that
     * position of any longer row starting with the same tokens.
     */
    public float[] nextTokenLogits(int[] context) {
        int n = context.length;
        if (n < 1 || n > config.seqLen()) {
            throw new IllegalArgumentException("context must hold 1 to seq_len=" + config.seqLen() + " tokens, got " + n
                    + "; keep only the last seq_len tokens");
        }
        checkTokens(context);
        b.uploadInts(tokens.view(0, n), context, 0);
        forward(1, n);
        return lmHead.logits(finalHidden.rows(n - 1, n));
    }

    /** Forward over batch rows of seqLen tokens already in {@link #tokens}, leaving the final normed hidden states. */
    private void forward(int batch, int seqLen) {
        int t = batch * seqLen;
        float eps = config.normEps();
        FeedForward ffn = ffnPhases.active();
        b.embeddingForward(resid[0].rows(0, t), tokens.view(0, t), embedding);
        for (int l = 0; l < config.layers(); l++) {
            Tensor x = resid[l].rows(0, t), xa = attnIn[l].rows(0, t), m = mid[l].rows(0, t), xf = ffnIn[l].rows(0, t);
            Tensor y = branch.rows(0, t);
            b.rmsNormForward(xa, attnRstd[l].rows(0, t), x, attnNorm[l], eps);
            attention.forward(l, y, xa, batch, seqLen);
            b.add(m, x, y);
            b.rmsNormForward(xf, ffnRstd[l].rows(0, t), m, ffnNorm[l], eps);
            ffn.forward(l, y, xf);
            b.add(resid[l + 1].rows(0, t), m, y);
        }
        b.rmsNormForward(finalHidden.rows(0, t), finalRstd.rows(0, t), resid[config.layers()].rows(0, t), finalNorm, eps);
        ffnPhases.forwardRan();
    }

    /** Validates a batch on the host (a bad id would read out of bounds on a device) and uploads it; returns its rows. */
    private int load(int[] tokenIds, int[] targetIds) {
        int seqLen = config.seqLen();
        if (tokenIds.length == 0 || tokenIds.length % seqLen != 0 || tokenIds.length / seqLen > batchRows) {
            throw new IllegalArgumentException("a batch holds 1 to " + batchRows + " rows of seq_len=" + seqLen
                    + " tokens, got " + tokenIds.length + " tokens");
        }
        if (targetIds.length != tokenIds.length) {
            throw new IllegalArgumentException("targets (" + targetIds.length + ") and tokens (" + tokenIds.length + ") differ in length");
        }
        checkTokens(tokenIds);
        for (int j = 0; j < targetIds.length; j++) {
            if (targetIds[j] >= config.vocabSize()) {
                throw new IllegalArgumentException("target " + targetIds[j] + " at position " + j + " is outside the vocabulary of "
                        + config.vocabSize() + " (use a negative target to ignore a position)");
            }
        }
        b.uploadInts(tokens.view(0, tokenIds.length), tokenIds, 0);
        b.uploadInts(targets.view(0, targetIds.length), targetIds, 0);
        return tokenIds.length / seqLen;
    }

    private void checkTokens(int[] ids) {
        for (int j = 0; j < ids.length; j++) {
            if (ids[j] < 0 || ids[j] >= config.vocabSize()) {
                throw new IllegalArgumentException("token " + ids[j] + " at position " + j + " is outside the vocabulary [0, "
                        + config.vocabSize() + ")");
            }
        }
    }

    private static int countTargets(int[] targetIds) {
        int n = 0;
        for (int t : targetIds) if (t >= 0) n++;
        if (n == 0) throw new IllegalArgumentException("every target of the batch is ignored (< 0): there is no loss to average");
        return n;
    }

    // ---- FFN phases (SPEC.md §2) -----------------------------------------------------------------

    /**
     * Switches to the sparse FFN: clusters each layer's W1 rows into E = M/4 balanced experts (seeded
     * by {@code seed}), permutes the neurons expert-contiguously in the parameters, the gradients and
     * every buffer of {@code sameLayoutBuffers} (flat buffers with the parameter layout: pass the
     * AdamW moments), and freezes each layer's β1, β2 from the permuted latent weights. The function
     * of the dense model is unchanged by the permutation.
     */
    public void enterSparsePhase(SparsityConfig cfg, long seed, List<Tensor> sameLayoutBuffers) {
        ffnPhases.enterSparse(cfg, seed, sameLayoutBuffers);
    }

    /**
     * Re-clusters during the sparse phase (sparsity.recluster_every): the same clustering and
     * permutation rules as {@link #enterSparsePhase}, the β scales stay frozen.
     */
    public void recluster(SparsityConfig cfg, long seed, List<Tensor> sameLayoutBuffers) {
        ffnPhases.recluster(cfg, seed, sameLayoutBuffers);
    }

    /**
     * Ends the sparse phase: the dense squared-ReLU FFN again, on the latent weights, or with
     * sparsity.dense_finish_from = scaled on W ← β·S(W) (written into the parameters).
     */
    public void enterDensePhase(SparsityConfig cfg) { ffnPhases.enterDense(cfg); }

    /** The FFN phase the model is in. */
    public SparseState.Phase ffnPhase() { return ffnPhases.phase(); }

    /** What a checkpoint must keep about the FFN phases (see {@link SparseState#toJson}). */
    public SparseState sparseState() { return ffnPhases.state(); }

    /**
     * Restores {@link #sparseState()} after the checkpoint's parameters (already in the permuted order)
     * are loaded: re-enters the sparse phase without clustering, or records the dense finish.
     */
    public void restoreSparseState(SparseState state, SparsityConfig cfg) { ffnPhases.restore(state, cfg); }

    /** Statistics of the latest sparse forward of every layer; empty outside the sparse phase or before its first forward. */
    public Optional<SparseStats> sparseStats() { return ffnPhases.stats(); }

    /** The sparse FFN once the model has entered the sparse phase (for profiling). */
    public Optional<SparseFfn> sparseFfn() { return ffnPhases.sparseFfn(); }

    /** The flat parameter buffer, laid out by {@link #layout()}. */
    public Tensor parameters() { return params; }

    /** The flat gradient buffer, laid out by {@link #layout()}. */
    public Tensor gradients() { return grads; }

    public ParameterLayout layout() { return layout; }

    public ModelConfig config() { return config; }
    public Backend backend() { return b; }

    /** Most sequences one step takes. */
    public int batchRows() { return batchRows; }

    /** Backend memory held by this model: parameters, gradients and activations. */
    public long allocatedBytes() { return alloc.bytes(); }

    @Override
    public void close() {
        try {
            ffnPhases.close();
        } finally {
            alloc.close();
        }
    }
}
