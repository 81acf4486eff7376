package dev.sparsetrain.model;

/**
 * What a parameter tensor does in the network, which fixes how it is initialised and whether AdamW
 * decays it.
 */
public enum ParameterRole {
    /** The token embedding: normal(0, initStd), no weight decay (decay would shrink rare tokens' rows). */
    EMBEDDING(false),
    /** An RMSNorm gain: ones, no weight decay (decaying a gain towards 0 fights the normalisation). */
    NORM(false),
    /** A weight matrix that reads the residual stream (q, k, v, FFN input, LM head): normal(0, initStd), decayed. */
    MATRIX(true),
    /**
     * A weight matrix that writes into the residual stream (attention wo, FFN w2): normal(0, initStd/sqrt(2L)),
     * decayed. The smaller scale keeps the residual stream's variance independent of depth (GPT-2 init).
     */
    OUTPUT_PROJECTION(true);

    private final boolean weightDecay;

    ParameterRole(boolean weightDecay) { this.weightDecay = weightDecay; }

    /** Whether AdamW applies weight decay to parameters of this role. */
    public boolean applyWeightDecay() { return weightDecay; }
}
