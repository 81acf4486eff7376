package dev.sparsetrain.model;

import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.config.SparsityConfig;
import dev.sparsetrain.model.SparseFfnProfile.Part;
import dev.sparsetrain.sparse.Router;
import dev.sparsetrain.sparse.Routing;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.SparseKernels;
import dev.sparsetrain.tensor.SparseKernels.PackedActivations;
import dev.sparsetrain.tensor.SparseKernels.PackedWeight;
import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;

/**
 * The sparse squared-ReLU FFN of SPEC.md §3 for every layer of a model, through {@link SparseKernels}.
 *
 * <p>Forward, per layer: prune the latent W1, W2 into β·S(W) (2:4 along d); centres = mean of each
 * expert's W1 rows; route the tokens (scores on the backend, assignment on the host, expert-sorted
 * with padding); GEMM 1 + relu² + top-2-of-4; GEMM 2. The kernels gather the tokens into expert
 * order and scatter them back as they load and store, through the routing's permutation. Backward:
 * GEMM 3 with dZ = dA ⊙ 2relu(Z) on A's pattern, GEMM 4, and the dense weight-gradient GEMMs 5 and 6
 * (optionally on MVUE operands), whose results go straight through to the latent weights: no β, no
 * mask. No gradient flows to the router.
 *
 * <p>Neurons must already be expert-contiguous in the parameters (see {@link SparsePhases}), and
 * the frozen scales set with {@link #setScales} before the first forward. Per layer it keeps the
 * packed weights and activations and the routing, so the backward of every layer can run after
 * all forwards.
 */
public final class SparseFfn implements FeedForward, AutoCloseable {
    private final Backend b;
    private final SparseKernels k;
    private final int d, neurons, experts, layers, blockRows;
    private final Router.Mode mode;
    private final boolean mvue;
    private final Tensor[] w1, w2, dW1, dW2, centres, perm;
    private final PackedWeight[] w1e, w2et;
    private final PackedActivations[] act;
    private final float[] beta1, beta2;
    /** Per layer, its latest forward's tokens, tokens per expert and padded row offsets [E+1]. */
    private final int[] routedTokens;
    private final int[][] counts, rowOffsets;
    private final Tensor scores, mvueRows;
    private long mvueSeed;
    private long backwardCalls;
    private SparseFfnProfile profile;
    private long partStart;

    /** Allocates the per-layer packed forms and the shared scratch for the token capacity of {@code r}. */
    public SparseFfn(BlockResources r, SparsityConfig cfg) {
        this.b = r.backend();
        this.k = b.sparse();
        this.d = r.config().dim();
        this.neurons = r.config().ffnHidden();
        this.experts = cfg.experts();
        this.layers = r.config().layers();
        // The router pads each expert to V rows (SPEC §3.2) and to the backend's packed row blocks.
        this.blockRows = lcm(cfg.v(), k.rowAlignment());
        this.mode = "balanced".equals(cfg.router()) ? Router.Mode.BALANCED : Router.Mode.NEAREST;
        this.mvue = cfg.mvue();
        if (r.config().ffn() != FfnKind.RELU2) {
            throw new IllegalArgumentException("the sparse FFN replaces the squared-ReLU FFN; this model has ffn="
                    + r.config().ffn().name().toLowerCase(java.util.Locale.ROOT) + " (set model.ffn=relu2 or sparsity.enabled=false)");
        }
        if (neurons % cfg.m() != 0) {
            throw new IllegalArgumentException("model.ffn_hidden (F=" + neurons + ") must be divisible by sparsity.m (M=" + cfg.m() + ")");
        }
        if (d % 4 != 0) throw new IllegalArgumentException("model.dim must be a multiple of 4 for 2:4 weights, got " + d);
        if (mvue && !k.supportsMvue()) {
            throw new IllegalArgumentException("sparsity.mvue is not implemented on backend '" + b.name() + "'; set sparsity.mvue=false or use the cpu backend");
        }
        if (mvue && blockRows % 4 != 0) {
            throw new IllegalArgumentException("sparsity.mvue groups 4 routed rows, so sparsity.v must be a multiple of 4, got " + cfg.v());
        }
        int cap = r.tokenCapacity(), padded = Math.addExact(cap, experts * (blockRows - 1));
        w1 = new Tensor[layers];
        w2 = new Tensor[layers];
        dW1 = new Tensor[layers];
        dW2 = new Tensor[layers];
        centres = new Tensor[layers];
        perm = new Tensor[layers];
        w1e = new PackedWeight[layers];
        w2et = new PackedWeight[layers];
        act = new PackedActivations[layers];
        beta1 = new float[layers];
        beta2 = new float[layers];
        Arrays.fill(beta1, Float.NaN);
        Arrays.fill(beta2, Float.NaN);
        rowOffsets = new int[layers][];
        counts = new int[layers][];
        routedTokens = new int[layers];
        for (int l = 0; l < layers; l++) {
            w1[l] = r.param(ParameterLayout.layerName(l, "w1"));
            w2[l] = r.param(ParameterLayout.layerName(l, "w2"));
            dW1[l] = r.grad(ParameterLayout.layerName(l, "w1"));
            dW2[l] = r.grad(ParameterLayout.layerName(l, "w2"));
            centres[l] = r.alloc().f32(experts, d);
            perm[l] = r.alloc().i32(padded);
            w1e[l] = k.allocateWeight(neurons, d, experts);
            w2et[l] = k.allocateWeight(neurons, d, experts);
            act[l] = k.allocateActivations(padded, neurons, experts);
        }
        scores = r.alloc().f32(cap, experts);
        mvueRows = mvue ? r.alloc().f32(cap, d) : null;
    }

    private static int lcm(int a, int b) {
        int x = a, y = b;
        while (y != 0) {
            int r = x % y;
            x = y;
            y = r;
        }
        return Math.multiplyExact(a / x, b);
    }

    /** Sets layer's frozen S-STE scales β1 (W1) and β2 (W2). */
    public void setScales(int layer, float beta1, float beta2) {
        if (!Float.isFinite(beta1) || !Float.isFinite(beta2)) {
            throw new IllegalArgumentException("layer " + layer + " scales must be finite, got β1=" + beta1 + ", β2=" + beta2);
        }
        this.beta1[layer] = beta1;
        this.beta2[layer] = beta2;
    }

    /**
     * Freezes every layer's scales from its current latent weights, β = ⟨W, S(W)⟩/⟨S(W), S(W)⟩ (on
     * the host), as entering the sparse phase does.
     */
    public void freezeScales() {
        for (int l = 0; l < layers; l++) {
            setScales(l, SoftThresholdScales.betaOfW1(b.toHost(w1[l]), neurons, d), SoftThresholdScales.betaOfW2(b.toHost(w2[l]), d, neurons));
        }
    }

    public float beta1(int layer) { return beta1[layer]; }

    public float beta2(int layer) { return beta2[layer]; }

    /**
     * The MVUE random stream: the base seed and how many backward calls have drawn from it, so a
     * resumed run continues the same draws.
     */
    public void setMvueStream(long seed, long backwardCalls) {
        this.mvueSeed = seed;
        this.backwardCalls = backwardCalls;
    }

    public long mvueSeed() { return mvueSeed; }

    public long backwardCalls() { return backwardCalls; }

    /** The centres [E·d] of layer's latest forward, on the host. */
    public float[] centres(int layer) { return b.toHost(centres[layer]); }

    /** Times each part into {@code p} from now on; null stops timing. */
    public void profile(SparseFfnProfile p) { this.profile = p; }

    @Override
    public void forward(int layer, Tensor out, Tensor x) {
        if (Float.isNaN(beta1[layer])) {
            throw new IllegalStateException("layer " + layer + " has no S-STE scales; enter the sparse phase through "
                    + "LlamaModel.enterSparsePhase or restoreSparseState before running the sparse FFN");
        }
        int rows = (int) x.dim(0);
        startPart();
        k.pruneWeight(w1e[layer], w1[layer], false, beta1[layer]);
        k.pruneWeight(w2et[layer], w2[layer], true, beta2[layer]);
        endPart(Part.PRUNE);
        route(layer, x, rows);
        endPart(Part.ROUTER);
        k.upProject(act[layer], x, perm[layer].view(0, rowOffsets[layer][experts]), rowOffsets[layer], w1e[layer]);
        endPart(Part.GEMM1_PACK);
        k.downProject(out, act[layer], w2et[layer]);
        endPart(Part.GEMM2);
    }

    /**
     * Centres from the current W1, scores, then the assignment and perm: on the device where the
     * backend routes `nearest` there (only the expert counts come back), else on the host with an
     * upload of perm.
     */
    private void route(int layer, Tensor x, int rows) {
        k.expertCentres(centres[layer], w1[layer], experts);
        Tensor s = scores.rows(0, rows);
        k.routerScores(s, x, centres[layer]);
        int[] c;
        if (mode == Router.Mode.NEAREST && k.routesNearestOnDevice()) {
            c = k.routeNearest(perm[layer], s, blockRows);
        } else {
            Routing routed = Router.route(b.toHost(s), rows, experts, mode, blockRows);
            b.uploadInts(perm[layer].view(0, routed.paddedRows()), routed.perm(), 0);
            c = new int[experts];
            for (int e = 0; e < experts; e++) c[e] = routed.count(e);
        }
        counts[layer] = c;
        rowOffsets[layer] = Routing.paddedOffsets(c, blockRows);
        routedTokens[layer] = rows;
    }

    @Override
    public void backward(int layer, Tensor dx, Tensor dOut, Tensor x) {
        int rows = (int) x.dim(0);
        if (routedTokens[layer] != rows) {
            throw new IllegalStateException("the backward of layer " + layer + " needs its forward on the same " + rows + " rows first");
        }
        startPart();
        k.activationGradient(act[layer], dOut, w2et[layer]);
        endPart(Part.GEMM3_DZ);
        k.inputGradient(dx, act[layer], w1e[layer]);
        endPart(Part.GEMM4);
        Tensor dyForWeights = dOut;
        if (mvue) {
            dyForWeights = mvueRows.rows(0, rows);
            k.mvueRowGroups(dyForWeights, dOut, act[layer], drawSeed(layer, 5));
            endPart(Part.MVUE);
        }
        k.downWeightGradient(dW2[layer], dyForWeights, act[layer]);
        endPart(Part.GEMM5);
        if (mvue) {
            // After GEMM 4: dX must use the exact dZ; only the weight gradient takes the unbiased sparse one.
            k.mvueActivationGradient(act[layer], drawSeed(layer, 6));
            endPart(Part.MVUE);
        }
        k.upWeightGradient(dW1[layer], act[layer], x);
        endPart(Part.GEMM6);
        backwardCalls++;
    }

    /** A seed per (backward call, layer, GEMM) from the MVUE base seed (SplitMix64 finaliser). */
    private long drawSeed(int layer, int gemm) {
        long z = mvueSeed + 0x9E37_79B9_7F4A_7C15L * (backwardCalls * 64 + layer * 8L + gemm + 1);
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    /** Statistics of every layer's latest forward, averaged over the layers. */
    public SparseStats stats() {
        double positive = 0, kept = 0, dropped = 0, removed = 0;
        double[] meanLoad = new double[experts];
        for (int l = 0; l < layers; l++) {
            if (routedTokens[l] == 0) throw new IllegalStateException("layer " + l + " has not run a sparse forward yet");
            SparseKernels.ActivationStats a = k.activationStats(act[l]);
            double pairs = (double) routedTokens[l] * neurons;
            positive += a.positive() / pairs;
            kept += a.kept() / pairs;
            dropped += a.droppedMassFraction();
            removed += (k.weightStats(w1e[l]).removedFraction() + k.weightStats(w2et[l]).removedFraction()) / 2;
            for (int e = 0; e < experts; e++) meanLoad[e] += (double) counts[l][e] / routedTokens[l] / layers;
        }
        return new SparseStats(positive / layers, kept / layers, dropped / layers, removed / layers, meanLoad);
    }

    /** The expert of each token in layer's latest forward. */
    int[] tokenExperts(int layer) { return routingOf(layer).expertOf(); }

    /** The routing of layer's latest forward, rebuilt on the host from its perm (for inspection and tests). */
    private Routing routingOf(int layer) {
        int[] routedPerm = act[layer].perm(), offsets = rowOffsets[layer];
        int[] expertOf = new int[routedTokens[layer]];
        for (int e = 0; e < experts; e++) {
            for (int r = offsets[e]; r < offsets[e + 1]; r++) if (routedPerm[r] >= 0) expertOf[routedPerm[r]] = e;
        }
        return Routing.of(expertOf, experts, blockRows);
    }

    /** A of layer's latest forward as [T, F] in token order, zero outside each token's expert. */
    float[] activationsByToken(int layer) {
        Routing rt = routingOf(layer);
        int f = neurons / experts, p = rt.paddedRows();
        Tensor dense = b.zeros(dev.sparsetrain.tensor.DType.F32, p, f);
        k.unpackActivations(dense, null, act[layer]);
        float[] a = b.toHost(dense), out = new float[rt.tokens() * neurons];
        int[] inv = rt.inv(), expertOf = rt.expertOf();
        for (int t = 0; t < inv.length; t++) System.arraycopy(a, inv[t] * f, out, t * neurons + expertOf[t] * f, f);
        return out;
    }

    private void startPart() {
        if (profile != null) {
            b.synchronize();
            partStart = System.nanoTime();
        }
    }

    private void endPart(Part part) {
        if (profile == null) return;
        b.synchronize();
        long now = System.nanoTime();
        profile.add(part, now - partStart);
        partStart = now;
    }

    /**
     * Releases the packed weights and activations the backend allocated for every layer (device
     * memory on a GPU; the rest of this layer's buffers belong to the model's allocations).
     */
    @Override
    public void close() {
        for (int l = 0; l < layers; l++) {
            w1e[l].close();
            w2et[l].close();
            act[l].close();
        }
    }
}
