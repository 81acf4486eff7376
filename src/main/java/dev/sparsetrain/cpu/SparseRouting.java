package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.sparse.ExpertCentres;
import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** The device half of the router on the CPU: expert centres and token scores. */
final class SparseRouting {
    private static final VectorSpecies<Float> S = SparseLanes.F;
    private static final int L = SparseLanes.L;

    private SparseRouting() {}

    /**
     * Centres by {@link ExpertCentres} (double sums in row order, the same values as the reference);
     * {@code scratch} receives a copy of w1 because the oracle takes an exact-size array.
     */
    static void centres(Tensor centres, Tensor w1, int experts, float[] scratch, float[] out) {
        int neurons = (int) w1.dim(0), d = (int) w1.dim(1);
        System.arraycopy(f(w1), off(w1), scratch, 0, neurons * d);
        ExpertCentres.compute(scratch, neurons, d, experts, out);
        System.arraycopy(out, 0, f(centres), off(centres), experts * d);
    }

    /** scores[t,e] = ‖c_e‖² − 2·x_t·c_e with float dot products (vector lanes along d) and double norms. */
    static void scores(Tensor scores, Tensor x, Tensor centres) {
        int tokens = (int) x.dim(0), d = (int) x.dim(1), experts = (int) centres.dim(0);
        float[] xs = f(x), cs = f(centres), out = f(scores);
        int xo = off(x), co = off(centres), so = off(scores);
        double[] norms = new double[experts];
        for (int e = 0; e < experts; e++) {
            for (int k = 0; k < d; k++) norms[e] += (double) cs[co + e * d + k] * cs[co + e * d + k];
        }
        int vectorEnd = d - d % L;
        Parallel.forRange(tokens, Math.max(1, 8192 / (d * experts)), (from, to) -> {
            float[] lanes = new float[L];
            for (int t = from; t < to; t++) {
                int xr = xo + t * d;
                for (int e = 0; e < experts; e++) {
                    int cr = co + e * d;
                    FloatVector acc = FloatVector.zero(S);
                    for (int k = 0; k < vectorEnd; k += L) {
                        acc = FloatVector.fromArray(S, xs, xr + k).fma(FloatVector.fromArray(S, cs, cr + k), acc);
                    }
                    // Lanes added in a fixed order: reduceLanes(ADD) rounds differently before and after C2
                    // compiles it, and a token's expert must not depend on JIT timing (see VectorMath).
                    acc.intoArray(lanes, 0);
                    float dot = 0;
                    for (float lane : lanes) dot += lane;
                    for (int k = vectorEnd; k < d; k++) dot += xs[xr + k] * cs[cr + k];
                    out[so + t * experts + e] = (float) (norms[e] - 2.0 * dot);
                }
            }
        });
    }
}
