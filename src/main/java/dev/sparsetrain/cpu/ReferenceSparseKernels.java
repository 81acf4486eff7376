package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.i;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.sparse.ActivationTopK;
import dev.sparsetrain.sparse.ExpertCentres;
import dev.sparsetrain.sparse.Router;
import dev.sparsetrain.sparse.SoftThreshold;
import dev.sparsetrain.tensor.SparseKernels;
import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;

/**
 * The oracle of {@link SparseKernels}: dense masked maths in plain loops with double accumulation.
 * Weights are kept as the dense effective matrix, activations as dense [rows, f] matrices of z, the
 * keep pattern, A and dZ, so every sparse GEMM here is literally the dense GEMM of its masked
 * operands. The selection rules come from the {@code sparse} package oracles. Never optimise this class.
 */
public final class ReferenceSparseKernels implements SparseKernels {

    /** The dense effective weight. */
    static final class Weight implements PackedWeight {
        final int rows, cols;
        final float[] dense;
        WeightStats stats = new WeightStats(0, 0);

        Weight(int rows, int cols) {
            SparseShapes.requireGroupsOf4(cols, "weight columns");
            this.rows = rows;
            this.cols = cols;
            this.dense = new float[Math.multiplyExact(rows, cols)];
        }

        @Override public int rows() { return rows; }
        @Override public int cols() { return cols; }
    }

    /** Dense [capacity, f] matrices: z, the 2:4 keep pattern, A = relu(z)² on it, dZ on it. */
    static final class Activations implements PackedActivations {
        final int capacity, neurons, experts, f;
        final float[] z, a, dz;
        final boolean[] keep;
        int[] rowOffsets, perm = new int[0];
        ActivationStats stats = new ActivationStats(0, 0, 0, 0);

        Activations(int capacity, int neurons, int experts) {
            SparseShapes.requireExperts(neurons, experts);
            this.capacity = capacity;
            this.neurons = neurons;
            this.experts = experts;
            this.f = neurons / experts;
            int n = Math.multiplyExact(capacity, f);
            z = new float[n];
            a = new float[n];
            dz = new float[n];
            keep = new boolean[n];
            rowOffsets = new int[experts + 1];
        }

        int rows() { return rowOffsets[experts]; }

        int expertOf(int row) {
            int e = 0;
            while (row >= rowOffsets[e + 1]) e++;
            return e;
        }

        @Override public int capacityRows() { return capacity; }
        @Override public int neurons() { return neurons; }
        @Override public int experts() { return experts; }
        @Override public int[] rowOffsets() { return rowOffsets.clone(); }
        @Override public int[] perm() { return perm.clone(); }

        /** Element k of routed row r of the token-ordered t [T, d]: t[perm[r], k], 0 for padding. */
        float routed(Tensor t, int r, int k, int d) {
            return perm[r] < 0 ? 0f : f(t)[off(t) + perm[r] * d + k];
        }
    }

    @Override
    public PackedWeight allocateWeight(int rows, int cols, int experts) { return new Weight(rows, cols); }

    @Override
    public PackedActivations allocateActivations(int capacityRows, int neurons, int experts) {
        return new Activations(capacityRows, neurons, experts);
    }

    // ---- weights -----------------------------------------------------------------------------------

    @Override
    public void pruneWeight(PackedWeight out, Tensor w, boolean transposed, float beta) {
        Weight o = weight(out);
        SparseShapes.requireElements(w, (long) o.rows * o.cols, "weight to prune");
        float[] latent = new float[o.rows * o.cols];
        for (int r = 0; r < o.rows; r++) {
            for (int c = 0; c < o.cols; c++) {
                latent[r * o.cols + c] = f(w)[off(w) + (transposed ? c * o.rows + r : r * o.cols + c)];
            }
        }
        SoftThreshold.apply(latent, o.rows, o.cols, beta, o.dense);
        float[] unscaled = new float[latent.length];
        SoftThreshold.apply(latent, o.rows, o.cols, 1f, unscaled);
        double abs = 0, pruned = 0;
        for (int j = 0; j < latent.length; j++) {
            abs += Math.abs(latent[j]);
            pruned += Math.abs(unscaled[j]);
        }
        o.stats = new WeightStats(abs, pruned);
    }

    @Override
    public WeightStats weightStats(PackedWeight w) { return weight(w).stats; }

    @Override
    public void unpackWeight(Tensor dense, PackedWeight w) {
        Weight o = weight(w);
        SparseShapes.requireElements(dense, o.dense.length, "dense weight");
        System.arraycopy(o.dense, 0, f(dense), off(dense), o.dense.length);
    }

    // ---- router ------------------------------------------------------------------------------------

    @Override
    public void expertCentres(Tensor centres, Tensor w1, int experts) {
        int d = (int) w1.dim(1), neurons = (int) w1.dim(0);
        float[] out = new float[experts * d];
        ExpertCentres.compute(copyOf(w1), neurons, d, experts, out);
        System.arraycopy(out, 0, f(centres), off(centres), out.length);
    }

    @Override
    public void routerScores(Tensor scores, Tensor x, Tensor centres) {
        int tokens = (int) x.dim(0), d = (int) x.dim(1), experts = (int) centres.dim(0);
        float[] out = new float[tokens * experts];
        Router.scores(copyOf(x), tokens, d, copyOf(centres), experts, out);
        System.arraycopy(out, 0, f(scores), off(scores), out.length);
    }

    // ---- forward -------------------------------------------------------------------------------------

    @Override
    public void upProject(PackedActivations act, Tensor x, Tensor perm, int[] rowOffsets, PackedWeight w1) {
        Activations s = activations(act);
        Weight w = weight(w1);
        SparseShapes.requireRouting(rowOffsets, perm, (int) x.dim(0), s.experts, s.capacity);
        s.rowOffsets = rowOffsets.clone();
        s.perm = Arrays.copyOfRange(i(perm), off(perm), off(perm) + rowOffsets[s.experts]);
        int rows = s.rows(), f = s.f, d = w.cols;
        for (int r = 0; r < rows; r++) {
            int e = s.expertOf(r);
            for (int j = 0; j < f; j++) {
                double acc = 0;
                for (int k = 0; k < d; k++) acc += (double) s.routed(x, r, k, d) * w.dense[(e * f + j) * d + k];
                s.z[r * f + j] = (float) acc;
            }
        }
        if (rows == 0) {
            s.stats = new ActivationStats(0, 0, 0, 0);
            return;
        }
        float[] z = Arrays.copyOf(s.z, rows * f), a = new float[rows * f];
        byte[] masks = new byte[rows * f / 4];
        ActivationTopK.apply(z, rows, f, a, masks);
        long positive = 0, kept = 0;
        double mass = 0, keptMass = 0;
        for (int j = 0; j < rows * f; j++) {
            s.keep[j] = (masks[j / 4] & (1 << (j % 4))) != 0;
            s.a[j] = a[j];
            float relu = Math.max(z[j], 0f);
            if (z[j] > 0) positive++;
            if (s.keep[j] && relu != 0) kept++;
            mass += relu * relu;
            keptMass += a[j];
        }
        s.stats = new ActivationStats(positive, kept, mass, keptMass);
    }

    @Override
    public void downProject(Tensor y, PackedActivations act, PackedWeight w2t) {
        Activations s = activations(act);
        expertRowsTimesWeight(y, s.a, s, weight(w2t));
    }

    /**
     * out[token of routed row r] = left[r, expert's F/E neurons] · W[expert's rows, d]: the shared form
     * of the down projection (left = A) and the input gradient (left = dZ); padding rows are skipped.
     */
    private static void expertRowsTimesWeight(Tensor out, float[] left, Activations s, Weight w) {
        int f = s.f, d = w.cols;
        for (int r = 0; r < s.rows(); r++) {
            if (s.perm[r] < 0) continue;
            int e = s.expertOf(r);
            for (int k = 0; k < d; k++) {
                double acc = 0;
                for (int j = 0; j < f; j++) acc += (double) left[r * f + j] * w.dense[(e * f + j) * d + k];
                f(out)[off(out) + s.perm[r] * d + k] = (float) acc;
            }
        }
    }

    // ---- backward ------------------------------------------------------------------------------------

    @Override
    public void activationGradient(PackedActivations act, Tensor dY, PackedWeight w2t) {
        Activations s = activations(act);
        Weight w = weight(w2t);
        int f = s.f, d = w.cols;
        for (int r = 0; r < s.rows(); r++) {
            int e = s.expertOf(r);
            for (int j = 0; j < f; j++) {
                double dA = 0;
                for (int k = 0; k < d; k++) dA += (double) s.routed(dY, r, k, d) * w.dense[(e * f + j) * d + k];
                s.dz[r * f + j] = s.keep[r * f + j] ? (float) (dA * 2 * Math.max(s.z[r * f + j], 0f)) : 0f;
            }
        }
    }

    @Override
    public void inputGradient(Tensor dx, PackedActivations act, PackedWeight w1) {
        Activations s = activations(act);
        expertRowsTimesWeight(dx, s.dz, s, weight(w1));
    }

    @Override
    public void downWeightGradient(Tensor dW2, Tensor dY, PackedActivations act) {
        Activations s = activations(act);
        int f = s.f, d = (int) dY.dim(1), neurons = s.neurons;
        for (int e = 0; e < s.experts; e++) {
            for (int k = 0; k < d; k++) {
                for (int j = 0; j < f; j++) {
                    double acc = 0;
                    for (int r = s.rowOffsets[e]; r < s.rowOffsets[e + 1]; r++) {
                        acc += (double) s.routed(dY, r, k, d) * s.a[r * f + j];
                    }
                    f(dW2)[off(dW2) + k * neurons + e * f + j] += (float) acc;
                }
            }
        }
    }

    @Override
    public void upWeightGradient(Tensor dW1, PackedActivations act, Tensor x) {
        Activations s = activations(act);
        int f = s.f, d = (int) x.dim(1);
        for (int e = 0; e < s.experts; e++) {
            for (int j = 0; j < f; j++) {
                for (int k = 0; k < d; k++) {
                    double acc = 0;
                    for (int r = s.rowOffsets[e]; r < s.rowOffsets[e + 1]; r++) {
                        acc += (double) s.dz[r * f + j] * s.routed(x, r, k, d);
                    }
                    f(dW1)[off(dW1) + (e * f + j) * d + k] += (float) acc;
                }
            }
        }
    }

    // ---- MVUE ----------------------------------------------------------------------------------------

    @Override
    public void mvueRowGroups(Tensor out, Tensor dY, PackedActivations act, long seed) {
        Activations s = activations(act);
        int rows = s.rows(), d = (int) dY.dim(1);
        float[] transposed = new float[rows * d];
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < d; k++) transposed[k * rows + r] = s.routed(dY, r, k, d);
        }
        float[] sparsified = SparseMvue.rowGroups(transposed, d, rows, seed);
        for (int r = 0; r < rows; r++) {
            if (s.perm[r] < 0) continue;
            for (int k = 0; k < d; k++) f(out)[off(out) + s.perm[r] * d + k] = sparsified[k * rows + r];
        }
    }

    @Override
    public void mvueActivationGradient(PackedActivations act, long seed) {
        Activations s = activations(act);
        int f = s.f;
        for (int e = 0; e < s.experts; e++) {
            int first = s.rowOffsets[e], rows = s.rowOffsets[e + 1] - first;
            if (rows == 0) continue;
            float[] transposed = new float[f * rows];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < f; j++) transposed[j * rows + r] = s.dz[(first + r) * f + j];
            }
            float[] sparsified = SparseMvue.rowGroups(transposed, f, rows, seed + e);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < f; j++) s.dz[(first + r) * f + j] = sparsified[j * rows + r];
            }
        }
    }

    // ---- inspection ----------------------------------------------------------------------------------

    @Override
    public ActivationStats activationStats(PackedActivations act) { return activations(act).stats; }

    @Override
    public void unpackActivations(Tensor a, Tensor dz, PackedActivations act) {
        Activations s = activations(act);
        int n = s.rows() * s.f;
        if (a != null) {
            SparseShapes.requireElements(a, n, "dense A");
            System.arraycopy(s.a, 0, f(a), off(a), n);
        }
        if (dz != null) {
            SparseShapes.requireElements(dz, n, "dense dZ");
            System.arraycopy(s.dz, 0, f(dz), off(dz), n);
        }
    }

    private static float[] copyOf(Tensor t) {
        return Arrays.copyOfRange(f(t), off(t), off(t) + (int) t.numel());
    }

    private static Weight weight(PackedWeight w) {
        if (w instanceof Weight r) return r;
        throw new IllegalArgumentException("this packed weight was allocated by another backend's sparse kernels ("
                + w.getClass().getSimpleName() + "); allocate it with ReferenceSparseKernels.allocateWeight");
    }

    private static Activations activations(PackedActivations a) {
        if (a instanceof Activations r) return r;
        throw new IllegalArgumentException("these packed activations were allocated by another backend's sparse kernels ("
                + a.getClass().getSimpleName() + "); allocate them with ReferenceSparseKernels.allocateActivations");
    }
}
