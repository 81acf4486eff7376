package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.SparseKernels;
import dev.sparsetrain.tensor.SparseKernels.PackedActivations;
import dev.sparsetrain.tensor.SparseKernels.PackedWeight;
import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;

/**
 * Runs every sparse kernel of one layer in order on one backend, poisoning each output with NaN
 * before the kernel writes it, and keeps every result on the host for comparison.
 */
final class SparsePipeline {
    final SparseScenario s;
    final Backend b;
    final SparseKernels k;
    final PackedWeight w1e, w2et;
    final PackedActivations act;
    float[] w1Dense, w2tDense, centres, scores, a, y, dz, dx, dW1, dW2, mvueRows, dzMvue;
    SparseKernels.ActivationStats stats;
    SparseKernels.WeightStats w1Stats, w2Stats;

    SparsePipeline(Backend backend, SparseScenario scenario) {
        this.s = scenario;
        this.b = backend;
        this.k = backend.sparse();
        int d = s.d, f = s.neurons / s.experts, p = s.rows();
        w1e = k.allocateWeight(s.neurons, d, s.experts);
        w2et = k.allocateWeight(s.neurons, d, s.experts);
        act = k.allocateActivations(p + 5, s.neurons, s.experts);
        poisonPacked(act);
        Tensor x = upload(s.x, s.tokens, d), w1 = upload(s.w1, s.neurons, d), w2 = upload(s.w2, d, s.neurons);
        Tensor dOut = upload(s.dOut, s.tokens, d), perm = ints(s.routing.perm());

        k.pruneWeight(w1e, w1, false, s.beta1);
        k.pruneWeight(w2et, w2, true, s.beta2);
        w1Dense = unpack(w1e);
        w2tDense = unpack(w2et);
        w1Stats = k.weightStats(w1e);
        w2Stats = k.weightStats(w2et);

        Tensor c = poisoned(s.experts, d);
        k.expertCentres(c, w1, s.experts);
        centres = b.toHost(c);
        Tensor sc = poisoned(s.tokens, s.experts);
        k.routerScores(sc, x, c);
        scores = b.toHost(sc);

        k.upProject(act, x, perm, s.rowOffsets(), w1e);
        stats = k.activationStats(act);
        a = unpackA(p * f);

        Tensor yT = poisoned(s.tokens, d);
        k.downProject(yT, act, w2et);
        y = b.toHost(yT);

        k.activationGradient(act, dOut, w2et);
        dz = unpackDz(p * f);
        Tensor dxT = poisoned(s.tokens, d);
        k.inputGradient(dxT, act, w1e);
        dx = b.toHost(dxT);

        Tensor g2 = upload(s.dW2Start, d, s.neurons);
        k.downWeightGradient(g2, dOut, act);
        dW2 = b.toHost(g2);
        Tensor g1 = upload(s.dW1Start, s.neurons, d);
        k.upWeightGradient(g1, act, x);
        dW1 = b.toHost(g1);

        if (s.mvueApplies()) {
            Tensor m = poisoned(s.tokens, d);
            k.mvueRowGroups(m, dOut, act, s.seed + 5);
            mvueRows = b.toHost(m);
            k.mvueActivationGradient(act, s.seed + 6);
            dzMvue = unpackDz(p * f);
        }
    }

    private float[] unpack(PackedWeight w) {
        Tensor t = poisoned(w.rows(), w.cols());
        k.unpackWeight(t, w);
        return b.toHost(t);
    }

    private float[] unpackA(int n) {
        Tensor t = poisoned(n);
        k.unpackActivations(t, null, act);
        return b.toHost(t);
    }

    private float[] unpackDz(int n) {
        Tensor t = poisoned(n);
        k.unpackActivations(null, t, act);
        return b.toHost(t);
    }

    private Tensor upload(float[] values, long... shape) {
        Tensor t = b.zeros(DType.F32, shape);
        b.upload(t, values, 0);
        return t;
    }

    private Tensor ints(int[] values) {
        Tensor t = b.zeros(DType.I32, values.length);
        b.uploadInts(t, values, 0);
        return t;
    }

    private Tensor poisoned(long... shape) {
        Tensor t = b.zeros(DType.F32, shape);
        b.fill(t, Float.NaN);
        return t;
    }

    /** Fills the packed form's storage with garbage, so a value a kernel forgets to write shows up. */
    private static void poisonPacked(PackedActivations act) {
        if (act instanceof CpuPackedActivations c) {
            Arrays.fill(c.bits, -1L);
            Arrays.fill(c.relu, Float.NaN);
            Arrays.fill(c.a, Float.NaN);
            Arrays.fill(c.dz, Float.NaN);
        } else if (act instanceof ReferenceSparseKernels.Activations r) {
            Arrays.fill(r.z, Float.NaN);
            Arrays.fill(r.a, Float.NaN);
            Arrays.fill(r.dz, Float.NaN);
        }
    }
}
