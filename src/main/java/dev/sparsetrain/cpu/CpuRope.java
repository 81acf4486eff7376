package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.CpuElementwise.GRAIN;
import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Rotary position embedding ("rotate half", Hugging Face Llama) for the CPU backend, in place,
 * parallel over token rows.
 *
 * <p>The cos/sin of every (position, frequency) pair are computed once per (seqLen, headDim,
 * theta) and cached: the model applies the same rotation to q and k in every layer, forward and
 * backward. The angles are computed in double exactly as the reference does, so the table differs
 * from the reference's cos/sin only by the final rounding to float.
 */
final class CpuRope {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** A run uses one or two rotations (training and evaluation lengths); more means shapes are churning. */
    private static final int MAX_TABLES = 8;

    private record Key(int seqLen, int headDim, float theta) {}

    /** cos and sin of pos·theta^(−2j/headDim), each [seqLen][headDim/2] row-major. */
    private record Table(float[] cos, float[] sin) {}

    private final Map<Key, Table> tables = new ConcurrentHashMap<>();

    /** Rotates by +angle ({@code inverse} false) or −angle, the transpose, used by the backward. */
    void rotate(Tensor x, int seqLen, int nHeads, int headDim, float theta, boolean inverse) {
        if (seqLen < 1 || nHeads < 1 || headDim < 2 || headDim % 2 != 0) {
            throw new IllegalArgumentException("rope: need seqLen >= 1, nHeads >= 1 and an even headDim >= 2; got seqLen "
                    + seqLen + ", nHeads " + nHeads + ", headDim " + headDim);
        }
        int width = nHeads * headDim, rows = Shapes.rows("rope", x, width), half = headDim / 2;
        Table table = table(new Key(seqLen, headDim, theta));
        float[] a = f(x), cos = table.cos, sin = table.sin;
        int ox = off(x), full = S.loopBound(half);
        VectorMask<Float> tail = S.indexInRange(full, half);
        Parallel.forRange(rows, Math.max(1, GRAIN / width), (from, to) -> {
            for (int t = from; t < to; t++) {
                int angles = (t % seqLen) * half;
                for (int h = 0; h < nHeads; h++) {
                    int lo = ox + t * width + h * headDim, hi = lo + half;
                    for (int j = 0; j < full; j += S.length()) {
                        FloatVector u = FloatVector.fromArray(S, a, lo + j), w = FloatVector.fromArray(S, a, hi + j);
                        FloatVector c = FloatVector.fromArray(S, cos, angles + j), s = FloatVector.fromArray(S, sin, angles + j);
                        if (inverse) s = s.neg();
                        u.mul(c).sub(w.mul(s)).intoArray(a, lo + j);
                        w.mul(c).add(u.mul(s)).intoArray(a, hi + j);
                    }
                    if (full < half) {
                        FloatVector u = FloatVector.fromArray(S, a, lo + full, tail), w = FloatVector.fromArray(S, a, hi + full, tail);
                        FloatVector c = FloatVector.fromArray(S, cos, angles + full, tail), s = FloatVector.fromArray(S, sin, angles + full, tail);
                        if (inverse) s = s.neg();
                        u.mul(c).sub(w.mul(s)).intoArray(a, lo + full, tail);
                        w.mul(c).add(u.mul(s)).intoArray(a, hi + full, tail);
                    }
                }
            }
        });
    }

    private Table table(Key key) {
        Table cached = tables.get(key);
        if (cached != null) return cached;
        if (tables.size() >= MAX_TABLES) tables.clear();
        Table built = build(key);
        Table raced = tables.putIfAbsent(key, built);
        return raced != null ? raced : built;
    }

    private static Table build(Key key) {
        int half = key.headDim / 2;
        double[] frequency = new double[half];
        for (int j = 0; j < half; j++) frequency[j] = Math.pow(key.theta, -2.0 * j / key.headDim);
        float[] cos = new float[key.seqLen * half], sin = new float[key.seqLen * half];
        Parallel.forRange(key.seqLen, Math.max(1, 4096 / half), (from, to) -> {
            for (int pos = from; pos < to; pos++) {
                for (int j = 0; j < half; j++) {
                    double angle = pos * frequency[j];
                    cos[pos * half + j] = (float) Math.cos(angle);
                    sin[pos * half + j] = (float) Math.sin(angle);
                }
            }
        });
        return new Table(cos, sin);
    }
}
