package dev.sparsetrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** TimedBackend: results identical to the wrapped backend, time booked under the right category, nothing booked when off. */
class TimedBackendTest {
    private static final long SEED = 20261128L;

    private static float[] gaussian(SplittableRandom rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.nextGaussian();
        return a;
    }

    /** Runs a few ops on {@code b} from the same seeded inputs; returns every output, poisoned with NaN before each op. */
    private static float[][] runOps(Backend b) {
        var rng = new SplittableRandom(SEED);
        int m = 6, n = 5, k = 7, vocab = 9;
        Tensor a = b.zeros(DType.F32, m, k), w = b.zeros(DType.F32, n, k), c = b.zeros(DType.F32, m, n);
        b.upload(a, gaussian(rng, m * k), 0);
        b.upload(w, gaussian(rng, n * k), 0);
        b.fill(c, Float.NaN);
        b.matmul(c, a, false, w, true, m, n, k, 1f, 0f);

        Tensor norm = b.zeros(DType.F32, m, k), rstd = b.zeros(DType.F32, m), weight = b.zeros(DType.F32, k);
        b.upload(weight, gaussian(rng, k), 0);
        b.fill(norm, Float.NaN);
        b.fill(rstd, Float.NaN);
        b.rmsNormForward(norm, rstd, a, weight, 1e-5f);

        Tensor logits = b.zeros(DType.F32, m, vocab), targets = b.zeros(DType.I32, m), losses = b.zeros(DType.F32, m);
        b.upload(logits, gaussian(rng, m * vocab), 0);
        int[] tg = new int[m];
        for (int i = 0; i < m; i++) tg[i] = rng.nextInt(vocab);
        b.uploadInts(targets, tg, 0);
        b.fill(losses, Float.NaN);
        double lossSum = b.crossEntropy(logits, targets, losses, 0.5f);

        Tensor z = b.zeros(DType.F32, m, k), act = b.zeros(DType.F32, m, k);
        b.upload(z, gaussian(rng, m * k), 0);
        b.fill(act, Float.NaN);
        b.relu2Forward(act, z);
        double squares = b.sumSquares(act);
        return new float[][] {b.toHost(c), b.toHost(norm), b.toHost(rstd), b.toHost(logits), b.toHost(losses), b.toHost(act),
                {(float) lossSum, (float) squares}};
    }

    @Test
    void forwardsExactlyWithProfilingOnAndOff() {
        float[][] expected = runOps(new CpuBackend());
        var timed = new TimedBackend(new CpuBackend());
        float[][] off = runOps(timed);
        timed.startProfiling();
        float[][] on = runOps(timed);
        timed.stopProfiling();
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Arrays.stream(toDoubles(expected[i])).allMatch(Double::isFinite), "output " + i + " was written, seed " + SEED);
            assertArrayEquals(expected[i], off[i], "output " + i + " unprofiled, seed " + SEED);
            assertArrayEquals(expected[i], on[i], "output " + i + " profiled, seed " + SEED);
        }
        assertEquals("cpu", timed.name());
    }

    @Test
    void countsEachCallUnderItsCategoryOnlyWhileProfiling() {
        var timed = new TimedBackend(new CpuBackend());
        runOps(timed);
        assertEquals(0, timed.times().totalNanos(), "nothing is booked before profiling starts");
        timed.startProfiling();
        runOps(timed);
        timed.stopProfiling();
        OpTimes t = timed.times();
        assertEquals(1, t.calls(OpCategory.GEMM));
        assertEquals(1, t.calls(OpCategory.NORMS));
        assertEquals(1, t.calls(OpCategory.LOSS));
        assertEquals(1, t.calls(OpCategory.ACTIVATIONS));
        assertEquals(1, t.calls(OpCategory.OPTIMIZER), "sumSquares is optimizer work (the gradient norm)");
        // 10 zeros, 5 uploads, 1 int upload, 6 fills, 6 downloads through toHost
        assertEquals(28, t.calls(OpCategory.MEMORY));
        assertEquals(0, t.calls(OpCategory.ATTENTION));
        runOps(timed);
        assertEquals(t.calls(OpCategory.MEMORY), timed.times().calls(OpCategory.MEMORY), "nothing is booked after profiling stops");
    }

    @Test
    void aSlowMatmulMakesGemmDominate() {
        var cpu = new CpuBackend();
        // Long enough that JIT warm-up and a loaded 2-core machine cannot make another category's few
        // milliseconds outweigh it; the ops also run once unprofiled first, so class loading is not booked.
        long sleepMillis = 200;
        Backend slowGemm = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, method, args) -> {
            if (method.getName().equals("matmul")) Thread.sleep(sleepMillis);
            try {
                return method.invoke(cpu, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
        var timed = new TimedBackend(slowGemm);
        runOps(timed);
        timed.startProfiling();
        runOps(timed);
        runOps(timed);
        timed.stopProfiling();
        OpTimes t = timed.times();
        assertEquals(2, t.calls(OpCategory.GEMM));
        assertTrue(t.nanos(OpCategory.GEMM) >= 2 * sleepMillis * 1_000_000, "gemm booked " + t.nanos(OpCategory.GEMM) + " ns");
        for (OpCategory c : OpCategory.values()) {
            if (c != OpCategory.GEMM) {
                assertTrue(t.nanos(c) < t.nanos(OpCategory.GEMM), c + " booked " + t.nanos(c) + " ns, more than gemm's " + t.nanos(OpCategory.GEMM));
            }
        }
        assertTrue(t.nanos(OpCategory.GEMM) > t.totalNanos() / 2, "gemm is most of the booked time: " + t.millis());
    }

    @Test
    void sparseKernelsAreTimedThroughTheSameSwitch() {
        var timed = new TimedBackend(new CpuBackend());
        var kernels = timed.sparse();
        var rng = new SplittableRandom(SEED);
        Tensor w = timed.zeros(DType.F32, 4, 8);
        timed.upload(w, gaussian(rng, 32), 0);
        var packed = kernels.allocateWeight(4, 8, 1);
        kernels.pruneWeight(packed, w, false, 1f);
        assertEquals(0, timed.times().calls(OpCategory.SPARSE));
        timed.startProfiling();
        kernels.pruneWeight(packed, w, false, 1f);
        Tensor dense = timed.zeros(DType.F32, 4, 8);
        timed.fill(dense, Float.NaN);
        kernels.unpackWeight(dense, packed);
        timed.stopProfiling();
        assertEquals(2, timed.times().calls(OpCategory.SPARSE));
        float[] expected = new float[32];
        var reference = new CpuBackend();
        var refPacked = reference.sparse().allocateWeight(4, 8, 1);
        Tensor refW = reference.zeros(DType.F32, 4, 8);
        reference.upload(refW, timed.toHost(w), 0);
        reference.sparse().pruneWeight(refPacked, refW, false, 1f);
        Tensor refDense = reference.zeros(DType.F32, 4, 8);
        reference.sparse().unpackWeight(refDense, refPacked);
        reference.download(refDense, expected, 0);
        assertArrayEquals(expected, timed.toHost(dense), "seed " + SEED);
        assertTrue(timed.sparse() == kernels, "layers keep the kernels they were handed, so there is one wrapper");
    }

    private static double[] toDoubles(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
