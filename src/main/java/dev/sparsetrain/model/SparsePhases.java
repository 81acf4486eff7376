package dev.sparsetrain.model;

import dev.sparsetrain.config.SparsityConfig;
import dev.sparsetrain.sparse.NeuronClustering;
import dev.sparsetrain.sparse.NeuronPermutation;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The FFN phases of SPEC §2 for one model: dense warmup → sparse → dense finish, plus optional
 * re-clustering. Entering the sparse phase clusters each layer's W1 rows into E balanced experts,
 * permutes the neurons expert-contiguously in the parameters and in every buffer of the same
 * layout, freezes β1, β2, and switches the model to {@link SparseFfn}; the dense finish switches
 * back to the dense FFN from the latent weights or from β·S(W).
 */
final class SparsePhases {
    private final BlockResources r;
    private final FeedForward dense;
    private final Backend b;
    private final ParameterLayout layout;
    private final int layers, neurons, d;
    private SparseFfn sparse;
    private SparsityConfig sparseConfig;
    private SparseState.Phase phase = SparseState.Phase.DENSE_WARMUP;
    /** Per layer: the original index of the neuron at each position; null until the first clustering. */
    private final int[][] permutation;
    /** Per layer: the frozen scales and the centres last seen, kept here so the dense finish needs no SparseFfn. */
    private final float[] beta1, beta2;
    private final float[][] centres;
    private long mvueSeed, mvueCalls;
    private boolean sparseForwardRan;

    SparsePhases(BlockResources r, FeedForward dense) {
        this.r = r;
        this.dense = dense;
        this.b = r.backend();
        this.layout = r.layout();
        this.layers = r.config().layers();
        this.neurons = r.config().ffnHidden();
        this.d = r.config().dim();
        this.permutation = new int[layers][];
        this.beta1 = new float[layers];
        this.beta2 = new float[layers];
        this.centres = new float[layers][];
    }

    /** The FFN the model runs now. */
    FeedForward active() { return phase == SparseState.Phase.SPARSE ? sparse : dense; }

    SparseState.Phase phase() { return phase; }

    /** Notes that the active FFN ran a forward (so statistics exist). */
    void forwardRan() { if (phase == SparseState.Phase.SPARSE) sparseForwardRan = true; }

    void enterSparse(SparsityConfig cfg, long seed, List<Tensor> sameLayoutBuffers) {
        if (phase == SparseState.Phase.SPARSE) {
            throw new IllegalStateException("the model is already in the sparse phase; use recluster to re-cluster the neurons");
        }
        SparseFfn ffn = sparseFfn(cfg);
        for (int l = 0; l < layers; l++) {
            cluster(l, cfg, seed, sameLayoutBuffers);
            beta1[l] = SoftThresholdScales.betaOfW1(b.toHost(param(l, "w1")), neurons, d);
            beta2[l] = SoftThresholdScales.betaOfW2(b.toHost(param(l, "w2")), d, neurons);
            centres[l] = new float[0];
        }
        mvueSeed = seed;
        mvueCalls = 0;
        activate(ffn);
    }

    /** Hands the scales and the MVUE stream to the sparse FFN and makes it the active one. */
    private void activate(SparseFfn ffn) {
        for (int l = 0; l < layers; l++) ffn.setScales(l, beta1[l], beta2[l]);
        ffn.setMvueStream(mvueSeed, mvueCalls);
        phase = SparseState.Phase.SPARSE;
        sparseForwardRan = false;
    }

    /** Takes back what the sparse FFN advanced or observed since it became active. */
    private void deactivate() {
        mvueCalls = sparse.backwardCalls();
        if (sparseForwardRan) for (int l = 0; l < layers; l++) centres[l] = sparse.centres(l);
    }

    void recluster(SparsityConfig cfg, long seed, List<Tensor> sameLayoutBuffers) {
        requireSparse("recluster");
        for (int l = 0; l < layers; l++) cluster(l, cfg, seed, sameLayoutBuffers);
    }

    void enterDense(SparsityConfig cfg) {
        requireSparse("enter the dense finish");
        deactivate();
        if ("scaled".equals(cfg.denseFinishFrom())) {
            for (int l = 0; l < layers; l++) {
                Tensor w1 = param(l, "w1"), w2 = param(l, "w2");
                b.upload(w1, SoftThresholdScales.scaledW1(b.toHost(w1), neurons, d, beta1[l]), 0);
                b.upload(w2, SoftThresholdScales.scaledW2(b.toHost(w2), d, neurons, beta2[l]), 0);
            }
        }
        phase = SparseState.Phase.DENSE_FINISH;
    }

    SparseState state() {
        if (phase == SparseState.Phase.DENSE_WARMUP) return SparseState.denseWarmup();
        boolean live = phase == SparseState.Phase.SPARSE;
        List<SparseState.Layer> ls = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            float[] c = live && sparseForwardRan ? sparse.centres(l) : centres[l];
            ls.add(new SparseState.Layer(permutation[l], beta1[l], beta2[l], c));
        }
        return new SparseState(phase, mvueSeed, live ? sparse.backwardCalls() : mvueCalls, ls);
    }

    void restore(SparseState state, SparsityConfig cfg) {
        if (state.phase() == SparseState.Phase.DENSE_WARMUP) {
            if (!state.layers().isEmpty()) throw new IllegalArgumentException("a dense-warmup sparse state has no layers, got " + state.layers().size());
            // The loaded weights were never permuted: a later clustering starts from the identity.
            java.util.Arrays.fill(permutation, null);
            phase = SparseState.Phase.DENSE_WARMUP;
            return;
        }
        if (state.layers().size() != layers) {
            throw new IllegalArgumentException("the sparse state has " + state.layers().size() + " layers, the model " + layers);
        }
        for (int l = 0; l < layers; l++) {
            SparseState.Layer s = state.layers().get(l);
            int[] p = s.permutation();
            if (p.length != neurons) {
                throw new IllegalArgumentException("layer " + l + " of the sparse state permutes " + p.length + " neurons, the model has " + neurons);
            }
            NeuronPermutation.of(p); // rejects a non-permutation with a message naming the bad position
            permutation[l] = p;
            beta1[l] = s.beta1();
            beta2[l] = s.beta2();
            centres[l] = s.centres();
        }
        mvueSeed = state.mvueSeed();
        mvueCalls = state.mvueCalls();
        if (state.phase() == SparseState.Phase.SPARSE) activate(sparseFfn(cfg));
        else phase = state.phase();
    }

    Optional<SparseStats> stats() {
        return phase == SparseState.Phase.SPARSE && sparseForwardRan ? Optional.of(sparse.stats()) : Optional.empty();
    }

    Optional<SparseFfn> sparseFfn() { return Optional.ofNullable(sparse); }

    /** Releases the sparse FFN's backend buffers, if it was ever built. */
    void close() {
        if (sparse != null) sparse.close();
    }

    /** Balanced k-means of layer's W1 rows, then the expert-contiguous permutation of params, grads and buffers. */
    private void cluster(int layer, SparsityConfig cfg, long seed, List<Tensor> sameLayoutBuffers) {
        var metric = "cosine".equals(cfg.clusterMetric()) ? NeuronClustering.Metric.COSINE : NeuronClustering.Metric.L2;
        long layerSeed = seed + 0x9E37_79B9_7F4A_7C15L * (layer + 1);
        NeuronPermutation p = NeuronClustering.cluster(b.toHost(param(layer, "w1")), neurons, d, cfg.experts(), metric,
                cfg.clusterIters(), layerSeed).permutation();
        NeuronReordering.apply(b, layout, layer, p, r.params());
        NeuronReordering.apply(b, layout, layer, p, r.grads());
        for (Tensor t : sameLayoutBuffers) NeuronReordering.apply(b, layout, layer, p, t);
        int[] before = permutation[layer];
        int[] after = new int[neurons];
        for (int q = 0; q < neurons; q++) after[q] = before == null ? p.oldIndex(q) : before[p.oldIndex(q)];
        permutation[layer] = after;
    }

    /** The model's sparse FFN, built on first use; one model switches with one sparsity configuration. */
    private SparseFfn sparseFfn(SparsityConfig cfg) {
        if (sparse == null) {
            sparse = new SparseFfn(r, cfg);
            sparseConfig = cfg;
        } else if (sparseConfig.m() != cfg.m() || sparseConfig.v() != cfg.v() || !sparseConfig.router().equals(cfg.router())
                || sparseConfig.mvue() != cfg.mvue()) {
            throw new IllegalArgumentException("this model's sparse FFN was built for m=" + sparseConfig.m() + ", v=" + sparseConfig.v()
                    + ", router=" + sparseConfig.router() + ", mvue=" + sparseConfig.mvue() + "; a model keeps one sparsity configuration");
        }
        return sparse;
    }

    private void requireSparse(String what) {
        if (phase != SparseState.Phase.SPARSE) {
            throw new IllegalStateException("cannot " + what + " in the " + phase.name().toLowerCase(java.util.Locale.ROOT)
                    + " phase; call enterSparsePhase first");
        }
    }

    private Tensor param(int layer, String name) { return r.param(ParameterLayout.layerName(layer, name)); }
}
