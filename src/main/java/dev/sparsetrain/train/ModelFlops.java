package dev.sparsetrain.train;

import dev.sparsetrain.config.ModelConfig;
import java.util.Locale;

/**
 * Training FLOPs per token by the PaLM / nanoGPT formula {@code 6·N + 12·L·H·hd·S}, the
 * denominator of MFU. N counts the non-embedding parameters (Kaplan et al.): everything except the
 * token embedding and the LM head, so the LM head's 6·V·d per token is left out, as in the PyTorch
 * baseline of TARGETS.md (its 46.6% MFU on {@code 1b} is reproduced by exactly this count).
 * 6·N is 2 FLOPs per multiply-add times three GEMMs (forward, input gradient, weight gradient);
 * 12·L·H·hd·S is the same for the two attention products QKᵀ and PV over the full S×S score
 * matrix. Causal masking means only about half of that work is needed (6·L·H·hd·S); the
 * standard formula does not halve it, and neither does this one, so MFU figures compare with
 * published ones. The sparse FFN is counted as dense: MFU measures model FLOPs, not executed ones.
 */
public record ModelFlops(long nonEmbeddingParams, long attentionFlopsPerToken) {

    /** The formula as printed in reports. */
    public static final String FORMULA = "6N + 12*L*H*hd*S (N = non-embedding params; attention not halved for causal masking)";

    public static ModelFlops of(ModelConfig m) {
        long nonEmbedding = m.parameterCount() - 2L * m.vocabSize() * m.dim();
        long attention = 12L * m.layers() * m.heads() * m.headDim() * m.seqLen();
        return new ModelFlops(nonEmbedding, attention);
    }

    /** 6·N + 12·L·H·hd·S. */
    public double perToken() { return 6.0 * nonEmbeddingParams + attentionFlopsPerToken; }

    /** The formula with this model's numbers filled in. */
    public String explain() {
        return String.format(Locale.ROOT, "6 x %,d + %,d = %.4g FLOP/token", nonEmbeddingParams, attentionFlopsPerToken, perToken());
    }
}
