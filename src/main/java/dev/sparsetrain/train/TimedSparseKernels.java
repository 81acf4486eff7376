package dev.sparsetrain.train;

import dev.sparsetrain.tensor.SparseKernels;
import dev.sparsetrain.tensor.Tensor;

/**
 * The sparse FFN kernels of a {@link TimedBackend}: forwards every call and, while the backend is
 * profiling, books it under {@link OpCategory#SPARSE}.
 */
final class TimedSparseKernels implements SparseKernels {
    private final SparseKernels inner;
    private final TimedBackend timer;

    TimedSparseKernels(SparseKernels inner, TimedBackend timer) {
        this.inner = inner;
        this.timer = timer;
    }

    @Override
    public PackedWeight allocateWeight(int rows, int cols, int experts) {
        if (!timer.profiling()) return inner.allocateWeight(rows, cols, experts);
        long t = timer.begin();
        PackedWeight w = inner.allocateWeight(rows, cols, experts);
        timer.end(OpCategory.SPARSE, t);
        return w;
    }

    @Override
    public int rowAlignment() { return inner.rowAlignment(); }

    @Override
    public boolean supportsMvue() { return inner.supportsMvue(); }

    @Override
    public boolean routesNearestOnDevice() { return inner.routesNearestOnDevice(); }

    @Override
    public int[] routeNearest(Tensor perm, Tensor scores, int blockRows) {
        if (!timer.profiling()) return inner.routeNearest(perm, scores, blockRows);
        long t = timer.begin();
        int[] counts = inner.routeNearest(perm, scores, blockRows);
        timer.end(OpCategory.SPARSE, t);
        return counts;
    }

    @Override
    public PackedActivations allocateActivations(int capacityRows, int neurons, int experts) {
        if (!timer.profiling()) return inner.allocateActivations(capacityRows, neurons, experts);
        long t = timer.begin();
        PackedActivations a = inner.allocateActivations(capacityRows, neurons, experts);
        timer.end(OpCategory.SPARSE, t);
        return a;
    }

    @Override
    public void pruneWeight(PackedWeight out, Tensor w, boolean transposed, float beta) {
        if (!timer.profiling()) { inner.pruneWeight(out, w, transposed, beta); return; }
        long t = timer.begin();
        inner.pruneWeight(out, w, transposed, beta);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public WeightStats weightStats(PackedWeight w) {
        if (!timer.profiling()) return inner.weightStats(w);
        long t = timer.begin();
        WeightStats s = inner.weightStats(w);
        timer.end(OpCategory.SPARSE, t);
        return s;
    }

    @Override
    public void unpackWeight(Tensor dense, PackedWeight w) {
        if (!timer.profiling()) { inner.unpackWeight(dense, w); return; }
        long t = timer.begin();
        inner.unpackWeight(dense, w);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public void expertCentres(Tensor centres, Tensor w1, int experts) {
        if (!timer.profiling()) { inner.expertCentres(centres, w1, experts); return; }
        long t = timer.begin();
        inner.expertCentres(centres, w1, experts);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public void routerScores(Tensor scores, Tensor x, Tensor centres) {
        if (!timer.profiling()) { inner.routerScores(scores, x, centres); return; }
        long t = timer.begin();
        inner.routerScores(scores, x, centres);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public void upProject(PackedActivations act, Tensor x, Tensor perm, int[] rowOffsets, PackedWeight w1) {
        if (!timer.profiling()) { inner.upProject(act, x, perm, rowOffsets, w1); return; }
        long t = timer.begin();
        inner.upProject(act, x, perm, rowOffsets, w1);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public void downProject(Tensor y, PackedActivations act, PackedWeight w2t) {
        if (!timer.profiling()) { inner.downProject(y, act, w2t); return; }
        long t = timer.begin();
        inner.downProject(y, act, w2t);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public void activationGradient(PackedActivations act, Tensor dY, PackedWeight w2t) {
        if (!timer.profiling()) { inner.activationGradient(act, dY, w2t); return; }
        long t = timer.begin();
        inner.activationGradient(act, dY, w2t);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public void inputGradient(Tensor dx, PackedActivations act, PackedWeight w1) {
        if (!timer.profiling()) { inner.inputGradient(dx, act, w1); return; }
        long t = timer.begin();
        inner.inputGradient(dx, act, w1);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public void downWeightGradient(Tensor dW2, Tensor dY, PackedActivations act) {
        if (!timer.profiling()) { inner.downWeightGradient(dW2, dY, act); return; }
        long t = timer.begin();
        inner.downWeightGradient(dW2, dY, act);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public void upWeightGradient(Tensor dW1, PackedActivations act, Tensor x) {
        if (!timer.profiling()) { inner.upWeightGradient(dW1, act, x); return; }
        long t = timer.begin();
        inner.upWeightGradient(dW1, act, x);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public void mvueRowGroups(Tensor out, Tensor dY, PackedActivations act, long seed) {
        if (!timer.profiling()) { inner.mvueRowGroups(out, dY, act, seed); return; }
        long t = timer.begin();
        inner.mvueRowGroups(out, dY, act, seed);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public void mvueActivationGradient(PackedActivations act, long seed) {
        if (!timer.profiling()) { inner.mvueActivationGradient(act, seed); return; }
        long t = timer.begin();
        inner.mvueActivationGradient(act, seed);
        timer.end(OpCategory.SPARSE, t);
    }

    @Override
    public ActivationStats activationStats(PackedActivations act) {
        if (!timer.profiling()) return inner.activationStats(act);
        long t = timer.begin();
        ActivationStats s = inner.activationStats(act);
        timer.end(OpCategory.SPARSE, t);
        return s;
    }

    @Override
    public void unpackActivations(Tensor a, Tensor dz, PackedActivations act) {
        if (!timer.profiling()) { inner.unpackActivations(a, dz, act); return; }
        long t = timer.begin();
        inner.unpackActivations(a, dz, act);
        timer.end(OpCategory.SPARSE, t);
    }
}
