package dev.sparsetrain.config;

/**
 * The sparse FFN method (SPEC.md §2-§3): when it runs and how. Every *choice* of the spec is a field
 * here with the spec's default in the presets.
 *
 * @param enabled         false trains the plain dense model the whole run (the baseline)
 * @param sparseStart     last step of the dense warmup: a step count, or a fraction of train.steps when < 1
 * @param sparseEnd       last sparse step; the dense finish runs after it (same units as sparseStart)
 * @param m               V:N:M group width M; E = M/4 neuron experts, activation density 2/M
 * @param v               row-block height V: each expert's token count is padded to a multiple of V
 * @param router          "nearest" (the paper's) or "balanced" (exactly T/E tokens per expert)
 * @param clusterMetric   "l2" or "cosine" for the balanced k-means of W1's rows
 * @param clusterIters    Lloyd iterations of the clustering
 * @param reclusterEvery  re-cluster every N sparse steps; 0 clusters once at the switch
 * @param mvue            MVUE 2:4 on the weight-gradient GEMMs (§3.5)
 * @param denseFinishFrom "latent" resumes the dense finish from the latent weights; "scaled" from β·S(W)
 */
public record SparsityConfig(boolean enabled, double sparseStart, double sparseEnd, int m, int v, String router,
                             String clusterMetric, int clusterIters, int reclusterEvery, boolean mvue, String denseFinishFrom) {

    public SparsityConfig {
        require(sparseStart >= 0, "sparsity.sparse_start must be >= 0, got " + sparseStart);
        require(sparseEnd >= 0, "sparsity.sparse_end must be >= 0, got " + sparseEnd);
        require(m >= 4 && m % 4 == 0, "sparsity.m must be a multiple of 4 (M = 4 x experts), got " + m);
        require(v > 0, "sparsity.v must be > 0, got " + v);
        require("nearest".equals(router) || "balanced".equals(router), "sparsity.router must be nearest or balanced, got " + router);
        require("l2".equals(clusterMetric) || "cosine".equals(clusterMetric), "sparsity.cluster_metric must be l2 or cosine, got " + clusterMetric);
        require(clusterIters > 0, "sparsity.cluster_iters must be > 0, got " + clusterIters);
        require(reclusterEvery >= 0, "sparsity.recluster_every must be >= 0, got " + reclusterEvery);
        require("latent".equals(denseFinishFrom) || "scaled".equals(denseFinishFrom),
                "sparsity.dense_finish_from must be latent or scaled, got " + denseFinishFrom);
    }

    /** Number of neuron experts E = M/4. */
    public int experts() { return m / 4; }

    /** The last dense-warmup step for a run of {@code steps}. */
    public int startStep(int steps) { return resolve(sparseStart, steps); }

    /** The last sparse step for a run of {@code steps}. */
    public int endStep(int steps) { return resolve(sparseEnd, steps); }

    /** Checks the schedule and shapes against the model and the run length. */
    public void validate(ModelConfig model, int steps) {
        if (!enabled) return;
        require(model.ffn() == FfnKind.RELU2, "the sparse FFN needs model.ffn=relu2 (squared ReLU makes activations sparse), got "
                + model.ffn().name().toLowerCase(java.util.Locale.ROOT) + "; or set sparsity.enabled=false");
        require(model.ffnHidden() % m == 0, "model.ffn_hidden (F=" + model.ffnHidden() + ") must be divisible by sparsity.m (M=" + m + ")");
        require(model.dim() % 4 == 0, "model.dim must be a multiple of 4 for 2:4 weights, got " + model.dim());
        int start = startStep(steps), end = endStep(steps);
        require(start <= steps, "sparsity.sparse_start (step " + start + ") is after the end of the run (train.steps=" + steps + ")");
        require(end <= steps, "sparsity.sparse_end (step " + end + ") is after the end of the run (train.steps=" + steps + ")");
        require(start <= end, "sparsity.sparse_start (step " + start + ") must not come after sparsity.sparse_end (step " + end + ")");
    }

    private static int resolve(double value, int steps) {
        return value < 1 && value > 0 ? (int) Math.round(value * steps) : (int) Math.round(value);
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new ConfigException(message);
    }
}
