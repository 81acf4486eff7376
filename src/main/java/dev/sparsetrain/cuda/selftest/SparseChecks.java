package dev.sparsetrain.cuda.selftest;

import static dev.sparsetrain.cuda.selftest.OpSuite.TOLERANCE;

import dev.sparsetrain.sparse.Router;
import dev.sparsetrain.sparse.Routing;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import dev.sparsetrain.tensor.SparseKernels;
import dev.sparsetrain.tensor.SparseKernels.PackedActivations;
import dev.sparsetrain.tensor.SparseKernels.PackedWeight;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The sparse FFN kernels of SPEC.md §3 ({@link SparseKernels}) on the candidate against the
 * reference, one layer in the order the model runs them: prune both weights, centres and router
 * scores, GEMM 1 + relu² + top-2-of-4, GEMM 2, GEMM 3 + dZ, GEMM 4, GEMMs 5 and 6 (which add to
 * random gradients). Tokens are routed at random with uneven expert loads and padded to the
 * candidate's row alignment, the same routing on both sides.
 *
 * <p>Tolerances. Weight pruning selects on the same fp32 weights on both sides, so only the bf16
 * rounding of the kept values differs (2^-9 relative): elementwise 1e-2. After GEMM 1, the GPU keeps
 * the top 2 of 4 of bf16 pre-activations computed from bf16 operands; a group whose 2nd and 3rd
 * values lie within that rounding can keep a different neuron than the fp32 CPU does, which is a
 * legitimate outcome of bf16 compute but an order-one difference at that one element. So every
 * tensor after GEMM 1 is judged by its relative Frobenius error ‖got − want‖/‖want‖ ({@link
 * #NORM_TOLERANCE}): bf16 rounding and a few flipped near-ties stay around 1e-2, while a wrong
 * index, block, expert offset or missing term is of order one.
 */
final class SparseChecks {
    /** Elementwise tolerance of values rounded once to bf16 (2^-9 relative, with the 1%-of-max floor). */
    static final double BF16_ELEMENT_TOLERANCE = 1e-2;
    /** Relative Frobenius tolerance of results of bf16 sparse GEMMs and their re-selected patterns. */
    static final double NORM_TOLERANCE = 3e-2;
    private static final int MAX_EXPERTS = 8;

    private SparseChecks() {}

    static List<OpCheck.Named> all() {
        return List.of(
                new OpCheck.Named("sparse layer M=8", (t, out) -> layer(t, out, 128, 512, 2, new int[] {170, 131})),
                new OpCheck.Named("sparse layer M=16", (t, out) -> layer(t, out, 256, 1024, 4, new int[] {90, 0, 200, 67})));
    }

    /** One layer's kernels; {@code counts} tokens per expert (uneven, one may be empty). */
    private static void layer(Twins t, Consumer<CheckRow> out, int d, int neurons, int experts, int[] counts) {
        if (experts > MAX_EXPERTS) throw new IllegalArgumentException("at most " + MAX_EXPERTS + " experts");
        int tokens = 0;
        for (int c : counts) tokens += c;
        Routing routing = randomRouting(t, counts, experts, t.candidateSparseRowAlignment());
        int rows = routing.paddedRows(), f = neurons / experts;
        String shape = "d=" + d + " F=" + neurons + " E=" + experts + " T=" + tokens + " P=" + rows;
        int[] offsets = new int[experts + 1];
        for (int e = 0; e <= experts; e++) offsets[e] = routing.offset(e);

        var x = t.gaussian(tokens, d);
        var w1 = t.scaledGaussian(1 / Math.sqrt(d), neurons, d);
        var w2 = t.scaledGaussian(1 / Math.sqrt(neurons), d, neurons);
        var dY = t.gaussian(tokens, d);
        var perm = t.ints(routing.perm(), rows);
        float beta1 = 1.3f, beta2 = 1.7f;
        PackedWeight[] w1e = new PackedWeight[2], w2et = new PackedWeight[2];
        PackedActivations[] act = new PackedActivations[2];
        t.run((b, s) -> {
            SparseKernels k = b.sparse();
            w1e[s.ordinal()] = k.allocateWeight(neurons, d, experts);
            w2et[s.ordinal()] = k.allocateWeight(neurons, d, experts);
            act[s.ordinal()] = k.allocateActivations(rows, neurons, experts);
            k.pruneWeight(w1e[s.ordinal()], s.of(w1), false, beta1);
            k.pruneWeight(w2et[s.ordinal()], s.of(w2), true, beta2);
        });
        var w1Dense = t.poisoned(neurons, d);
        var w2tDense = t.poisoned(neurons, d);
        t.run((b, s) -> {
            b.sparse().unpackWeight(s.of(w1Dense), w1e[s.ordinal()]);
            b.sparse().unpackWeight(s.of(w2tDense), w2et[s.ordinal()]);
        });
        out.accept(t.compare("sparse pruneWeight W1e", shape, w1Dense, BF16_ELEMENT_TOLERANCE));
        out.accept(t.compare("sparse pruneWeight W2eᵀ", shape, w2tDense, BF16_ELEMENT_TOLERANCE));
        double[] removed = t.evaluate((b, s) -> b.sparse().weightStats(w2et[s.ordinal()]).removedFraction());
        out.accept(Comparison.compareScalar("sparse weightStats removed", shape, removed[0], removed[1], TOLERANCE));

        var centres = t.poisoned(experts, d);
        t.run((b, s) -> b.sparse().expertCentres(s.of(centres), s.of(w1), experts));
        out.accept(t.compare("sparse expertCentres", shape, centres, TOLERANCE));
        var scores = t.poisoned(tokens, experts);
        t.run((b, s) -> b.sparse().routerScores(s.of(scores), s.of(x), s.of(centres)));
        out.accept(t.compare("sparse routerScores", shape, scores, TOLERANCE));
        deviceRouter(t, out, shape, scores, tokens, experts);

        var y = t.poisoned(tokens, d);
        t.run((b, s) -> {
            b.sparse().upProject(act[s.ordinal()], s.of(x), s.of(perm), offsets, w1e[s.ordinal()]);
            b.sparse().downProject(s.of(y), act[s.ordinal()], w2et[s.ordinal()]);
        });
        var a = t.poisoned(rows, f);
        t.run((b, s) -> b.sparse().unpackActivations(s.of(a), null, act[s.ordinal()]));
        out.accept(t.compareNorm("sparse upProject A (relu², 2:4)", shape, a, NORM_TOLERANCE));
        double[] kept = t.evaluate((b, s) -> keptFraction(b.sparse().activationStats(act[s.ordinal()])));
        out.accept(Comparison.compareScalar("sparse activationStats kept", shape, kept[0], kept[1], NORM_TOLERANCE));
        out.accept(t.compareNorm("sparse downProject Y", shape, y, NORM_TOLERANCE));

        var dx = t.poisoned(tokens, d);
        t.run((b, s) -> {
            b.sparse().activationGradient(act[s.ordinal()], s.of(dY), w2et[s.ordinal()]);
            b.sparse().inputGradient(s.of(dx), act[s.ordinal()], w1e[s.ordinal()]);
        });
        var dz = t.poisoned(rows, f);
        t.run((b, s) -> b.sparse().unpackActivations(null, s.of(dz), act[s.ordinal()]));
        out.accept(t.compareNorm("sparse activationGradient dZ", shape, dz, NORM_TOLERANCE));
        out.accept(t.compareNorm("sparse inputGradient dX", shape, dx, NORM_TOLERANCE));

        var dW2 = t.scaledGaussian(0.1, d, neurons);
        var dW1 = t.scaledGaussian(0.1, neurons, d);
        t.run((b, s) -> {
            b.sparse().downWeightGradient(s.of(dW2), s.of(dY), act[s.ordinal()]);
            b.sparse().upWeightGradient(s.of(dW1), act[s.ordinal()], s.of(x));
        });
        out.accept(t.compareNorm("sparse downWeightGradient dW2", shape, dW2, NORM_TOLERANCE));
        out.accept(t.compareNorm("sparse upWeightGradient dW1", shape, dW1, NORM_TOLERANCE));
    }

    /**
     * Where the candidate routes `nearest` on its device: its perm and counts must equal the host
     * router's on the candidate's own scores, exactly (a different tie or an unstable order is a bug,
     * not rounding).
     */
    private static void deviceRouter(Twins t, Consumer<CheckRow> out, String shape, Twins.Pair scores, int tokens, int experts) {
        int blockRows = t.candidateSparseRowAlignment();
        double[][] got = new double[1][], want = new double[1][];
        t.run((b, s) -> {
            if (s != Twins.Side.CANDIDATE || !b.sparse().routesNearestOnDevice()) return;
            Tensor perm = b.zeros(DType.I32, tokens + (long) experts * (blockRows - 1));
            int[] counts = b.sparse().routeNearest(perm, s.of(scores), blockRows);
            Routing host = Router.route(b.toHost(s.of(scores)), tokens, experts, Router.Mode.NEAREST, blockRows);
            // The ints come back bit for bit through an F32 view of the same storage.
            float[] devicePerm = b.toHost(new Tensor(perm.storage(), DType.F32, perm.offset(), host.paddedRows()));
            got[0] = new double[experts + host.paddedRows()];
            want[0] = new double[got[0].length];
            for (int e = 0; e < experts; e++) {
                got[0][e] = counts[e];
                want[0][e] = host.count(e);
            }
            for (int r = 0; r < host.paddedRows(); r++) {
                got[0][experts + r] = Float.floatToRawIntBits(devicePerm[r]);
                want[0][experts + r] = host.perm()[r];
            }
        });
        if (got[0] != null) out.accept(Comparison.compare("sparse routeNearest counts+perm", shape, got[0], want[0], 0));
    }

    private static double keptFraction(SparseKernels.ActivationStats s) {
        return s.positive() == 0 ? 0 : (double) s.kept() / s.positive();
    }

    /** Tokens assigned to experts with the given counts in a random order, padded per expert to {@code blockRows}. */
    private static Routing randomRouting(Twins t, int[] counts, int experts, int blockRows) {
        List<Integer> expertOf = new ArrayList<>();
        for (int e = 0; e < experts; e++) for (int c = 0; c < counts[e]; c++) expertOf.add(e);
        int[] order = t.randomInts(Integer.MAX_VALUE, expertOf.size());
        int[] shuffled = new int[expertOf.size()];
        for (int i = 0; i < shuffled.length; i++) shuffled[i] = expertOf.get(i);
        for (int i = shuffled.length - 1; i > 0; i--) {
            int j = order[i] % (i + 1), tmp = shuffled[i];
            shuffled[i] = shuffled[j];
            shuffled[j] = tmp;
        }
        return Routing.of(shuffled, experts, blockRows);
    }
}
