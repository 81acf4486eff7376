package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link CpuAttention} forward and backward against {@link ReferenceBackend} over many shapes. */
class CpuAttentionTest {
    /** Allowed error of an element: this fraction of (|reference element| + rms of the reference tensor)... */
    static final double TOLERANCE = 1e-4;
    /**
     * ...plus this absolute floor, for tensors that are exactly zero in exact arithmetic (dq at
     * seqLen 1, where every P is 1 and dP − D cancels) but float rounding noise elsewhere. Inputs are
     * O(1), so 1e-6 is far below any real error.
     */
    static final double ABSOLUTE_FLOOR = 1e-6;
    private static final float POISON = Float.NaN;
    /** Floats kept around every fast-backend tensor to catch writes outside it. */
    private static final int GUARD = 19;
    private static final float GUARD_VALUE = -12345f;

    /**
     * One random attention problem. q and k are drawn in [−amplitude, amplitude] so larger
     * amplitudes give peakier softmaxes; v and dOut in [−1, 1].
     */
    record Problem(long seed, int batch, int seqLen, int nHeads, int nKvHeads, int headDim,
                   float[] q, float[] k, float[] v, float[] dOut) {

        static Problem random(long seed, int batch, int seqLen, int nHeads, int nKvHeads, int headDim, float amplitude) {
            var rnd = new SplittableRandom(seed);
            int rows = batch * seqLen;
            return new Problem(seed, batch, seqLen, nHeads, nKvHeads, headDim,
                    uniform(rnd, rows * nHeads * headDim, amplitude), uniform(rnd, rows * nKvHeads * headDim, amplitude),
                    uniform(rnd, rows * nKvHeads * headDim, 1f), uniform(rnd, rows * nHeads * headDim, 1f));
        }

        private static float[] uniform(SplittableRandom rnd, int n, float amplitude) {
            float[] a = new float[n];
            for (int j = 0; j < n; j++) a[j] = (float) rnd.nextDouble(-amplitude, amplitude);
            return a;
        }

        int lseSize() { return batch * nHeads * seqLen; }

        @Override
        public String toString() {
            return "seed=" + seed + " batch=" + batch + " seqLen=" + seqLen + " heads=" + nHeads + "/" + nKvHeads
                    + " headDim=" + headDim;
        }
    }

    /** What forward and backward wrote. */
    record Results(float[] out, float[] lse, float[] dq, float[] dk, float[] dv) {}

    /** Runs forward then backward on the reference backend, on plain tensors. */
    static Results runReference(Problem p) {
        Backend ref = new ReferenceBackend();
        Tensor q = upload(ref, p.q()), k = upload(ref, p.k()), v = upload(ref, p.v()), dOut = upload(ref, p.dOut());
        Tensor out = ref.zeros(DType.F32, p.q().length), lse = ref.zeros(DType.F32, p.lseSize());
        Tensor dq = ref.zeros(DType.F32, p.q().length), dk = ref.zeros(DType.F32, p.k().length), dv = ref.zeros(DType.F32, p.v().length);
        ref.attentionForward(out, lse, q, k, v, p.batch(), p.seqLen(), p.nHeads(), p.nKvHeads(), p.headDim());
        ref.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, p.batch(), p.seqLen(), p.nHeads(), p.nKvHeads(), p.headDim());
        return new Results(ref.toHost(out), ref.toHost(lse), ref.toHost(dq), ref.toHost(dk), ref.toHost(dv));
    }

    /**
     * Runs forward then backward on the CPU backend. Every tensor is a view with guard floats on
     * both sides, outputs are poisoned with NaN first, and the guards and inputs are checked after.
     */
    static Results runFast(Problem p) {
        Backend cpu = new CpuBackend();
        Tensor q = guarded(cpu, p.q()), k = guarded(cpu, p.k()), v = guarded(cpu, p.v()), dOut = guarded(cpu, p.dOut());
        Tensor out = poisoned(cpu, p.q().length), lse = poisoned(cpu, p.lseSize());
        Tensor dq = poisoned(cpu, p.q().length), dk = poisoned(cpu, p.k().length), dv = poisoned(cpu, p.v().length);
        cpu.attentionForward(out, lse, q, k, v, p.batch(), p.seqLen(), p.nHeads(), p.nKvHeads(), p.headDim());
        cpu.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, p.batch(), p.seqLen(), p.nHeads(), p.nKvHeads(), p.headDim());
        for (Tensor t : List.of(q, k, v, dOut, out, lse, dq, dk, dv)) checkGuards(t, p);
        assertTrue(Arrays.equals(p.q(), cpu.toHost(q)) && Arrays.equals(p.k(), cpu.toHost(k))
                && Arrays.equals(p.v(), cpu.toHost(v)) && Arrays.equals(p.dOut(), cpu.toHost(dOut)), "inputs changed; " + p);
        return new Results(cpu.toHost(out), cpu.toHost(lse), cpu.toHost(dq), cpu.toHost(dk), cpu.toHost(dv));
    }

    /** Asserts the fast results match the reference within {@link #TOLERANCE}. */
    static void assertMatches(Results expected, Results actual, Problem p) {
        assertClose("out", expected.out(), actual.out(), p);
        assertClose("lse", expected.lse(), actual.lse(), p);
        assertClose("dq", expected.dq(), actual.dq(), p);
        assertClose("dk", expected.dk(), actual.dk(), p);
        assertClose("dv", expected.dv(), actual.dv(), p);
    }

    static void assertClose(String name, float[] expected, float[] actual, Problem p) {
        assertEquals(expected.length, actual.length, name + " length; " + p);
        double ss = 0;
        for (float x : expected) ss += (double) x * x;
        double rms = Math.sqrt(ss / Math.max(1, expected.length));
        for (int j = 0; j < expected.length; j++) {
            double err = Math.abs((double) actual[j] - expected[j]);
            // Written as !(err <= limit) so that a NaN (an unwritten element) fails.
            if (!(err <= TOLERANCE * (Math.abs(expected[j]) + rms) + ABSOLUTE_FLOOR)) {
                fail(name + "[" + j + "] = " + actual[j] + ", reference " + expected[j] + " (rms " + rms + "); " + p);
            }
        }
    }

    private static Tensor upload(Backend b, float[] data) {
        Tensor t = b.zeros(DType.F32, data.length);
        b.upload(t, data, 0);
        return t;
    }

    private static Tensor guarded(Backend b, float[] data) {
        Tensor all = b.zeros(DType.F32, data.length + 2L * GUARD);
        b.fill(all, GUARD_VALUE);
        Tensor t = all.view(GUARD, data.length);
        b.upload(t, data, 0);
        return t;
    }

    private static Tensor poisoned(Backend b, int n) {
        Tensor t = guarded(b, new float[n]);
        b.fill(t, POISON);
        return t;
    }

    private static void checkGuards(Tensor t, Problem p) {
        float[] all = HeapStorage.f(t);
        int at = HeapStorage.off(t), n = HeapStorage.n(t);
        for (int j = 0; j < GUARD; j++) {
            if (all[at - 1 - j] != GUARD_VALUE || all[at + n + j] != GUARD_VALUE) {
                fail("a write landed outside " + t + "; " + p);
            }
        }
    }

    /**
     * Every (heads, headDim, seqLen) of the brief, with the batch cycling through 1..3 rather than
     * multiplying the count by three. headDim 40 and 4 add widths that are some whole vectors plus
     * a tail, and less than one vector, on any vector size.
     */
    static List<Problem> shapes() {
        int[][] heads = {{4, 4}, {4, 2}, {6, 1}, {8, 2}};
        int[] headDims = {4, 8, 16, 32, 40, 48, 64};
        int[] seqLens = {1, 2, 7, 64, 130};
        List<Problem> problems = new ArrayList<>();
        long seed = 1000;
        for (int[] h : heads) {
            for (int headDim : headDims) {
                for (int seqLen : seqLens) {
                    int batch = 1 + (int) (seed % 3);
                    problems.add(Problem.random(seed++, batch, seqLen, h[0], h[1], headDim, 2f));
                }
            }
        }
        return problems;
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void forwardAndBackwardMatchReference(Problem p) {
        assertMatches(runReference(p), runFast(p), p);
    }

    @Test
    void peakedSoftmaxMatchesReference() {
        // Scores reach ~±100: exp without the running max would overflow, and the max moves between tiles.
        Problem p = Problem.random(77, 2, 200, 4, 2, 32, 10f);
        assertMatches(runReference(p), runFast(p), p);
    }

    @Test
    void rejectsInconsistentShapes() {
        Backend cpu = new CpuBackend();
        Tensor q = cpu.zeros(DType.F32, 8, 4 * 16), kv = cpu.zeros(DType.F32, 8, 2 * 16), lse = cpu.zeros(DType.F32, 4 * 8);
        Tensor out = cpu.zeros(DType.F32, 8, 4 * 16);
        var notDividing = assertThrows(IllegalArgumentException.class,
                () -> cpu.attentionForward(out, lse, q, kv, kv, 1, 8, 4, 3, 16));
        assertTrue(notDividing.getMessage().contains("nKvHeads"), notDividing.getMessage());
        var wrongLse = assertThrows(IllegalArgumentException.class,
                () -> cpu.attentionForward(out, cpu.zeros(DType.F32, 7), q, kv, kv, 1, 8, 4, 2, 16));
        assertTrue(wrongLse.getMessage().startsWith("attention lse "), wrongLse.getMessage());
        var wrongK = assertThrows(IllegalArgumentException.class,
                () -> cpu.attentionBackward(q, q, kv, out, q, q, kv, out, lse, 1, 8, 4, 2, 16));
        assertTrue(wrongK.getMessage().startsWith("attention k "), wrongK.getMessage());
    }
}
