package dev.sparsetrain.config;

/**
 * Shape of a Llama-style decoder (SPEC.md §1). Token embedding, {@code layers} blocks of
 * (RMSNorm → causal GQA attention with RoPE → residual; RMSNorm → FFN → residual), final RMSNorm,
 * untied LM head.
 *
 * @param vocabSize  rows of the embedding and LM head
 * @param dim        model width d
 * @param layers     number of blocks L
 * @param heads      query heads; head width is dim / heads
 * @param kvHeads    key/value heads (grouped-query attention); divides heads
 * @param ffnHidden  FFN hidden width F (squared ReLU default 4d)
 * @param ffn        FFN kind
 * @param seqLen     context length the model is trained at
 * @param ropeTheta  RoPE base
 * @param normEps    RMSNorm epsilon
 * @param initStd    std of the normal init of weight matrices; output projections are scaled by 1/sqrt(2L)
 */
public record ModelConfig(int vocabSize, int dim, int layers, int heads, int kvHeads, int ffnHidden, FfnKind ffn,
                          int seqLen, float ropeTheta, float normEps, float initStd) {

    public ModelConfig {
        require(vocabSize > 0, "vocab_size must be > 0, got " + vocabSize);
        require(dim > 0, "dim must be > 0, got " + dim);
        require(layers > 0, "layers must be > 0, got " + layers);
        require(heads > 0 && dim % heads == 0, "heads must divide dim (dim=" + dim + ", heads=" + heads + ")");
        require(kvHeads > 0 && heads % kvHeads == 0, "kv_heads must divide heads (heads=" + heads + ", kv_heads=" + kvHeads + ")");
        require((dim / heads) % 2 == 0, "head width dim/heads must be even for RoPE, got " + dim / heads);
        require(ffnHidden > 0, "ffn_hidden must be > 0, got " + ffnHidden);
        require(ffn != null, "ffn must be one of relu2, swiglu");
        require(seqLen > 0, "seq_len must be > 0, got " + seqLen);
        require(ropeTheta > 0, "rope_theta must be > 0, got " + ropeTheta);
        require(normEps > 0, "norm_eps must be > 0, got " + normEps);
        require(initStd > 0, "init_std must be > 0, got " + initStd);
    }

    public int headDim() { return dim / heads; }

    public int kvDim() { return kvHeads * headDim(); }

    /** Parameter count: embedding, per layer (2 norms, wq wk wv wo, FFN matrices), final norm, LM head. */
    public long parameterCount() {
        long ffnMats = ffn == FfnKind.SWIGLU ? 3L : 2L;
        long perLayer = 2L * dim + (long) dim * dim * 2 + 2L * dim * kvDim() + ffnMats * dim * ffnHidden;
        return 2L * vocabSize * dim + layers * perLayer + dim;
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new ConfigException(message);
    }
}
