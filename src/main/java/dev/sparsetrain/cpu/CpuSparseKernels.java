package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.SparseKernels;
import dev.sparsetrain.tensor.Tensor;

/**
 * The fast CPU sparse kernels: Vector API, {@link Parallel} over tiles of routed rows or blocks of
 * neurons, and work proportional to the non-zeros. Weights are packed as compressed 2:4 rows plus
 * the dense effective matrix ({@link CpuPackedWeight}); activations as per-neuron bit patterns over
 * tiles of rows with packed values ({@link CpuPackedActivations}). Each op is tested against
 * {@link ReferenceSparseKernels}. Not thread-safe, like the backend.
 */
public final class CpuSparseKernels implements SparseKernels {
    /** A copy of W1 for {@code ExpertCentres}, which takes exact-size arrays; kept across calls. */
    private float[] centresInput = new float[0];
    private float[] centresOutput = new float[0];

    @Override
    public PackedWeight allocateWeight(int rows, int cols, int experts) { return new CpuPackedWeight(rows, cols); }

    @Override
    public PackedActivations allocateActivations(int capacityRows, int neurons, int experts) {
        return new CpuPackedActivations(capacityRows, neurons, experts);
    }

    @Override
    public void pruneWeight(PackedWeight out, Tensor w, boolean transposed, float beta) {
        CpuPackedWeight o = CpuPackedWeight.of(out);
        SparseShapes.requireElements(w, (long) o.rows * o.cols, "weight to prune");
        SparseWeightPruning.prune(o, f(w), off(w), transposed, beta);
    }

    @Override
    public WeightStats weightStats(PackedWeight w) { return CpuPackedWeight.of(w).stats; }

    @Override
    public void unpackWeight(Tensor dense, PackedWeight w) {
        CpuPackedWeight o = CpuPackedWeight.of(w);
        SparseShapes.requireElements(dense, o.dense.length, "dense weight");
        System.arraycopy(o.dense, 0, f(dense), off(dense), o.dense.length);
    }

    @Override
    public void expertCentres(Tensor centres, Tensor w1, int experts) {
        int n = (int) w1.numel(), centresSize = experts * (int) w1.dim(1);
        SparseShapes.requireElements(centres, centresSize, "centres");
        if (centresInput.length != n) centresInput = new float[n];
        if (centresOutput.length != centresSize) centresOutput = new float[centresSize];
        SparseRouting.centres(centres, w1, experts, centresInput, centresOutput);
    }

    @Override
    public void routerScores(Tensor scores, Tensor x, Tensor centres) {
        SparseShapes.requireMatrix(scores, (int) x.dim(0), (int) centres.dim(0), "scores");
        SparseRouting.scores(scores, x, centres);
    }

    @Override
    public void upProject(PackedActivations act, Tensor x, Tensor perm, int[] rowOffsets, PackedWeight w1) {
        SparseUpProjection.run(CpuPackedActivations.of(act), x, perm, rowOffsets, CpuPackedWeight.of(w1));
    }

    @Override
    public void downProject(Tensor y, PackedActivations act, PackedWeight w2t) {
        CpuPackedActivations a = CpuPackedActivations.of(act);
        SparseRowProducts.run(y, a, a.a, CpuPackedWeight.of(w2t));
    }

    @Override
    public void activationGradient(PackedActivations act, Tensor dY, PackedWeight w2t) {
        SparseActivationGradient.run(CpuPackedActivations.of(act), dY, CpuPackedWeight.of(w2t));
    }

    @Override
    public void inputGradient(Tensor dx, PackedActivations act, PackedWeight w1) {
        CpuPackedActivations a = CpuPackedActivations.of(act);
        SparseRowProducts.run(dx, a, a.dz, CpuPackedWeight.of(w1));
    }

    @Override
    public void downWeightGradient(Tensor dW2, Tensor dY, PackedActivations act) {
        SparseWeightGradients.down(dW2, dY, CpuPackedActivations.of(act));
    }

    @Override
    public void upWeightGradient(Tensor dW1, PackedActivations act, Tensor x) {
        SparseWeightGradients.up(dW1, CpuPackedActivations.of(act), x);
    }

    @Override
    public void mvueRowGroups(Tensor out, Tensor dY, PackedActivations act, long seed) {
        CpuPackedActivations a = CpuPackedActivations.of(act);
        int rows = a.rows(), d = (int) dY.dim(1);
        SparseShapes.requireMatrix(out, (int) dY.dim(0), d, "MVUE output");
        float[] ys = f(dY), o = f(out), transposed = new float[rows * d];
        int yo = off(dY), oo = off(out);
        for (int r = 0; r < rows; r++) {
            int t = a.perm[r];
            for (int k = 0; k < d; k++) transposed[k * rows + r] = t < 0 ? 0f : ys[yo + t * d + k];
        }
        float[] sparsified = SparseMvue.rowGroups(transposed, d, rows, seed);
        for (int r = 0; r < rows; r++) {
            int t = a.perm[r];
            if (t >= 0) for (int k = 0; k < d; k++) o[oo + t * d + k] = sparsified[k * rows + r];
        }
    }

    @Override
    public void mvueActivationGradient(PackedActivations act, long seed) {
        CpuPackedActivations a = CpuPackedActivations.of(act);
        SparseTiles tiles = a.tiles;
        for (int e = 0; e < a.experts; e++) {
            int first = tiles.rowOffsets[e], rows = tiles.rowOffsets[e + 1] - first;
            if (rows == 0) continue;
            // dZ_eᵀ [f, rows]: row n is neuron n, column r the routed row first + r.
            float[] transposed = new float[a.f * rows];
            SparseUnpacking.unpack(a, a.dz, tiles.expertTiles[e], tiles.expertTiles[e + 1], first, transposed, 0, 1, rows);
            float[] sparsified = SparseMvue.rowGroups(transposed, a.f, rows, seed + e);
            SparseUnpacking.repack(a, a.dz, tiles.expertTiles[e], tiles.expertTiles[e + 1], first, sparsified, 1, rows);
        }
    }

    @Override
    public ActivationStats activationStats(PackedActivations act) {
        CpuPackedActivations a = CpuPackedActivations.of(act);
        double positive = 0, kept = 0, mass = 0, keptMass = 0;
        for (int tile = 0; tile < a.tiles.count; tile++) {
            positive += a.tileStats[4 * tile];
            kept += a.tileStats[4 * tile + 1];
            mass += a.tileStats[4 * tile + 2];
            keptMass += a.tileStats[4 * tile + 3];
        }
        return new ActivationStats((long) positive, (long) kept, mass, keptMass);
    }

    @Override
    public void unpackActivations(Tensor a, Tensor dz, PackedActivations act) {
        CpuPackedActivations p = CpuPackedActivations.of(act);
        int rows = p.rows();
        if (a != null) {
            SparseShapes.requireElements(a, (long) rows * p.f, "dense A");
            SparseUnpacking.unpack(p, p.a, 0, p.tiles.count, 0, f(a), off(a), p.f, 1);
        }
        if (dz != null) {
            SparseShapes.requireElements(dz, (long) rows * p.f, "dense dZ");
            SparseUnpacking.unpack(p, p.dz, 0, p.tiles.count, 0, f(dz), off(dz), p.f, 1);
        }
    }
}
