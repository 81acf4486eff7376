package dev.sparsetrain.tensor;

/**
 * The kernels of the sparse FFN of SPEC.md §3, one layer at a time: S-STE weight pruning, the
 * neuron-expert router's device half, and the six GEMMs of §3.4 with the fused relu² → top-2-of-4
 * → pack between GEMMs 1 and 2. A backend hands them out through {@link Backend#sparse()};
 * {@code ReferenceSparseKernels} (dense masked maths) is the oracle.
 *
 * <p><b>Shapes.</b> T tokens, F neurons, d model width, E experts, f = F/E neurons per expert.
 * Neurons are stored expert-contiguous: expert e owns neurons [e·f, (e+1)·f), i.e. rows of W1 [F,d]
 * and columns of W2 [d,F]. Routed rows: P = rowOffsets[E] rows sorted by expert, expert e owning
 * rows [rowOffsets[e], rowOffsets[e+1]); routed row r is token perm[r], or a padding row of zeros
 * where perm[r] &lt; 0. The GEMMs read and write token-ordered [T,d] tensors through perm, so the
 * gather into expert order and the scatter back are part of their loads and stores, never
 * separate passes over memory.
 *
 * <p><b>Packed forms.</b> {@link PackedWeight} and {@link PackedActivations} are the backend's own
 * layouts (compressed values and indices on the CPU, cuSPARSELt buffers on a GPU), allocated by
 * the same kernels that read them; the model never looks inside. {@link #unpackWeight} and
 * {@link #unpackActivations} write their dense meaning, for tests and inspection.
 *
 * <p>Methods overwrite their outputs unless they say "adds". Host int arrays (row offsets) are
 * small and known on the host because routing is decided there.
 */
public interface SparseKernels {

    /**
     * An effective weight [rows, cols] = β·S(W) with S-STE's 2:4 groups running along cols (SPEC
     * §3.1), in the forms a sparse GEMM reads: as a 2:4 left operand along K = cols, and dense.
     */
    interface PackedWeight extends AutoCloseable {
        int rows();

        int cols();

        /** Releases the backend memory it holds (device memory on a GPU); nothing on the CPU backends. */
        @Override
        default void close() {}
    }

    /**
     * One layer's routed activations after the fused relu² → top-2-of-4 step: which activations
     * were kept, their values, and (after {@link #activationGradient}) dZ on the same pattern.
     * Holds up to {@link #capacityRows()} routed rows of {@link #neurons()} neurons in
     * {@link #experts()} experts, each row computing only its expert's f neurons.
     */
    interface PackedActivations extends AutoCloseable {
        /** Releases the backend memory it holds (device memory on a GPU); nothing on the CPU backends. */
        @Override
        default void close() {}

        int capacityRows();

        int neurons();

        int experts();

        /** Row offsets [E+1] of the latest {@link #upProject} (a copy). */
        int[] rowOffsets();

        /** Routed row → token of the latest {@link #upProject}, −1 for padding (a copy). */
        int[] perm();
    }

    /**
     * What the soft-threshold removed from a weight: {@code absSum} = Σ|W|, {@code prunedAbsSum} =
     * Σ|S(W)| (scale 1). The removed magnitude fraction is {@code 1 − prunedAbsSum/absSum}.
     */
    record WeightStats(double absSum, double prunedAbsSum) {
        /** 1 − Σ|S(W)|/Σ|W|, 0 for an all-zero weight. */
        public double removedFraction() { return absSum == 0 ? 0 : 1 - prunedAbsSum / absSum; }
    }

    /**
     * Counts over the real and padding rows of the latest {@link #upProject} (padding rows add
     * nothing): {@code positive} pre-activations z > 0 among the computed (row, expert neuron) pairs,
     * {@code kept} of them kept by the 2:4 step with relu(z) ≠ 0, and the relu(z)² mass before
     * ({@code mass}) and after ({@code keptMass}) the 2:4 step.
     */
    record ActivationStats(long positive, long kept, double mass, double keptMass) {
        /** Σ dropped relu² / Σ relu², 0 when nothing was positive. */
        public double droppedMassFraction() { return mass == 0 ? 0 : 1 - keptMass / mass; }
    }

    /**
     * A packed weight for an effective [rows, cols] matrix; cols must be a multiple of 4. The rows
     * are {@code experts} equal blocks (one per neuron expert, rows % experts == 0): a GPU packs each
     * block as a sparse GEMM operand of its own, since every expert multiplies only its block.
     */
    PackedWeight allocateWeight(int rows, int cols, int experts);

    /**
     * Each expert's routed row count must be a multiple of this (the router pads with zero rows):
     * 1 on the CPU; the row-block height of the GPU's packed 2:4 layout on CUDA.
     */
    default int rowAlignment() { return 1; }

    /** Packed activations for up to {@code capacityRows} routed rows of {@code neurons} in {@code experts} experts. */
    PackedActivations allocateActivations(int capacityRows, int neurons, int experts);

    // ---- weights -----------------------------------------------------------------------------------

    /**
     * Packs the effective weight β·S(W) (SPEC §3.1, ties as {@code sparse.SoftThreshold}) with
     * groups of 4 along {@code out.cols()}. W is {@code w} [rows, cols], or with {@code transposed}
     * the transpose of {@code w} [cols, rows]: W1 [F,d] is packed as is; W2 [d,F] is packed
     * transposed, giving W2ᵀ [F,d] grouped along d (down the columns of W2).
     */
    void pruneWeight(PackedWeight out, Tensor w, boolean transposed, float beta);

    /** Magnitudes of the latest {@link #pruneWeight} into {@code w}; synchronises. */
    WeightStats weightStats(PackedWeight w);

    /** Writes the dense effective weight [rows, cols] (zeros where pruned). */
    void unpackWeight(Tensor dense, PackedWeight w);

    // ---- router ------------------------------------------------------------------------------------

    /** centres[e,:] = mean of w1's rows [e·F/E, (e+1)·F/E), accumulated in double; centres [E,d], w1 [F,d]. */
    void expertCentres(Tensor centres, Tensor w1, int experts);

    /** scores[t,e] = −2·x_t·c_e + ‖c_e‖² for x [T,d], centres [E,d], scores [T,E] (lower is closer). */
    void routerScores(Tensor scores, Tensor x, Tensor centres);

    /** Whether {@link #routeNearest} runs on this backend (the model routes `nearest` on the host otherwise). */
    default boolean routesNearestOnDevice() { return false; }

    /**
     * The `nearest` router of SPEC §3.2 where the scores are, exactly as {@code sparse.Router.route}
     * (NEAREST) and {@code sparse.Routing.of} compute it: expert of token t = argmin_e scores[t,e]
     * (ties to the lower e), tokens stably sorted by expert, each expert padded to a multiple of
     * {@code blockRows}. Writes perm [P] (−1 for padding rows) and returns the token count of each
     * expert (on the host: this synchronises once). scores [T,E]; perm holds at least
     * T + E·(blockRows − 1) rows.
     */
    default int[] routeNearest(Tensor perm, Tensor scores, int blockRows) {
        throw new UnsupportedOperationException("this backend routes on the host; check routesNearestOnDevice() first");
    }

    // ---- forward -------------------------------------------------------------------------------------

    /**
     * GEMM 1 and the activation step: for each expert e and each of its routed rows r, with x_r =
     * x[perm[r]] (zeros for padding), z = x_r·W1e[e·f .. (e+1)·f)ᵀ (W1e 2:4 along K = d),
     * a = relu(z)² and, per group of 4 consecutive neurons, keep the two largest (ties to the higher
     * index, as {@code sparse.ActivationTopK}). Records the routing (row offsets and perm), the
     * pattern, relu(z) on it and the {@link ActivationStats}. x [T,d], perm I32 [P] with
     * P = rowOffsets[E], every token exactly once; {@code w1} has rows F = act.neurons().
     */
    void upProject(PackedActivations act, Tensor x, Tensor perm, int[] rowOffsets, PackedWeight w1);

    /**
     * GEMM 2: y[perm[r],:] = A[r,:]·W2e[:, expert slice]ᵀ for every routed token row, A 2:4 along
     * K = f; {@code w2t} is W2eᵀ [F,d]. Overwrites y [T,d].
     */
    void downProject(Tensor y, PackedActivations act, PackedWeight w2t);

    // ---- backward ------------------------------------------------------------------------------------

    /**
     * GEMM 3 and the activation backward: dA = dY[perm[r],:]·W2e[:, expert slice] (the sparse operand
     * is W2eᵀ's slice, 2:4 along K = d), kept only on A's pattern, and dZ = dA ⊙ 2·relu(z), stored in
     * {@code act} on that same pattern. dY [T,d].
     */
    void activationGradient(PackedActivations act, Tensor dY, PackedWeight w2t);

    /** GEMM 4: dx[perm[r],:] = dZ[r,:]·W1e[expert slice] (dZ 2:4 along K = f, same pattern as A). Overwrites dx [T,d]. */
    void inputGradient(Tensor dx, PackedActivations act, PackedWeight w1);

    /**
     * GEMM 5, adds: dW2[:, e·f + j] += Σ_r dY[perm[r],:]·A[r,j] over expert e's routed rows, a dense
     * product (the gradient of the effective W2, applied straight through). dW2 [d,F], dY [T,d].
     */
    void downWeightGradient(Tensor dW2, Tensor dY, PackedActivations act);

    /** GEMM 6, adds: dW1[e·f + j, :] += Σ_r dZ[r,j]·x[perm[r],:] over expert e's routed rows (dense product). dW1 [F,d], x [T,d]. */
    void upWeightGradient(Tensor dW1, PackedActivations act, Tensor x);

    // ---- MVUE (SPEC §3.5), optional left operands of GEMMs 5 and 6 ------------------------------------

    /** Whether the two MVUE methods below run on this backend (the model refuses sparsity.mvue otherwise). */
    default boolean supportsMvue() { return true; }

    /**
     * out = dY with each column sparsified by MVUE in groups of 4 consecutive routed rows (padding
     * rows are zeros in their groups): exactly {@code sparse.Mvue.apply} on the row-major [d, P]
     * transpose of the routed dY with {@code seed}, mapped back to token order. P must be a multiple
     * of 4. out, dY [T,d], distinct.
     */
    void mvueRowGroups(Tensor out, Tensor dY, PackedActivations act, long seed);

    /**
     * Replaces dZ in {@code act} by its MVUE along the rows: for each expert e, {@code sparse.Mvue.apply}
     * on the row-major dZ_eᵀ [f, rows of e] with seed {@code seed + e}. Every expert's row count must
     * be a multiple of 4.
     */
    void mvueActivationGradient(PackedActivations act, long seed);

    // ---- inspection ----------------------------------------------------------------------------------

    /** Counts of the latest {@link #upProject}; synchronises. */
    ActivationStats activationStats(PackedActivations act);

    /**
     * Writes A and dZ densely as [P, f] (row r's columns are its expert's neurons, zeros off the
     * pattern) for the rows of the latest {@link #upProject}; either output may be null.
     */
    void unpackActivations(Tensor a, Tensor dz, PackedActivations act);
}
