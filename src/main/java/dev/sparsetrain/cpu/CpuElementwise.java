package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.n;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Flat elementwise kernels of the CPU backend: scale, add and the double-accumulated sum of
 * squares. Each splits the elements into contiguous chunks across threads; within a chunk, full
 * vectors run unmasked and one masked vector finishes the tail.
 */
final class CpuElementwise {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Elements per parallel chunk: enough to amortise a fork/join task on memory-bound loops. */
    static final int GRAIN = 1 << 15;
    /**
     * sumSquares sums at most this many squares in float lanes before widening to double: each lane
     * then adds only 4096 / 16 terms, which keeps the float rounding near 1e-6 relative.
     */
    private static final int SQUARES_CHUNK = 4096;

    private CpuElementwise() {}

    static void scale(Tensor t, float s) {
        float[] x = f(t);
        int o = off(t);
        Parallel.forRange(n(t), GRAIN, (from, to) -> {
            int j = from;
            for (int end = from + S.loopBound(to - from); j < end; j += S.length()) {
                FloatVector.fromArray(S, x, o + j).mul(s).intoArray(x, o + j);
            }
            if (j < to) {
                VectorMask<Float> m = S.indexInRange(j, to);
                FloatVector.fromArray(S, x, o + j, m).mul(s).intoArray(x, o + j, m);
            }
        });
    }

    static void add(Tensor out, Tensor a, Tensor b) {
        Shapes.requireSameSize("add", out, a, b);
        float[] os = f(out), as = f(a), bs = f(b);
        int oo = off(out), oa = off(a), ob = off(b);
        Parallel.forRange(n(out), GRAIN, (from, to) -> {
            int j = from;
            for (int end = from + S.loopBound(to - from); j < end; j += S.length()) {
                FloatVector.fromArray(S, as, oa + j).add(FloatVector.fromArray(S, bs, ob + j)).intoArray(os, oo + j);
            }
            if (j < to) {
                VectorMask<Float> m = S.indexInRange(j, to);
                FloatVector.fromArray(S, as, oa + j, m).add(FloatVector.fromArray(S, bs, ob + j, m)).intoArray(os, oo + j, m);
            }
        });
    }

    static double sumSquares(Tensor t) {
        float[] x = f(t);
        int o = off(t), n = n(t), chunks = Math.ceilDiv(n, SQUARES_CHUNK);
        // One slot per fixed chunk, summed in order below: the result does not depend on the thread count.
        double[] partial = new double[chunks];
        Parallel.forRange(chunks, GRAIN / SQUARES_CHUNK, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                int from = c * SQUARES_CHUNK, to = Math.min(n, from + SQUARES_CHUNK);
                FloatVector acc = FloatVector.zero(S);
                int j = from;
                for (int end = from + S.loopBound(to - from); j < end; j += S.length()) {
                    FloatVector v = FloatVector.fromArray(S, x, o + j);
                    acc = v.fma(v, acc);
                }
                if (j < to) {
                    FloatVector v = FloatVector.fromArray(S, x, o + j, S.indexInRange(j, to));
                    acc = v.fma(v, acc);
                }
                partial[c] = VectorMath.sumInDouble(acc);
            }
        });
        double sum = 0;
        for (double p : partial) sum += p;
        return sum;
    }
}
