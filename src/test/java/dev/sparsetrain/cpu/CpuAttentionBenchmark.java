package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;

/**
 * Prints the time of one attention forward + backward on the CPU backend and on the reference, for
 * batch 8, seqLen 256, 8 query heads over 4 kv heads, headDim 32 (override with arguments
 * {@code batch seqLen heads kvHeads headDim}). A measurement tool, not a test: run it from the
 * repository root after {@code mvn test-compile} with
 * {@code java --add-modules=jdk.incubator.vector -cp target/classes:target/test-classes dev.sparsetrain.cpu.CpuAttentionBenchmark}.
 */
public final class CpuAttentionBenchmark {
    private static final int FAST_WARMUP = 50, FAST_RUNS = 50, REFERENCE_RUNS = 3;

    private CpuAttentionBenchmark() {}

    public static void main(String[] args) {
        int[] dims = args.length == 5 ? Arrays.stream(args).mapToInt(Integer::parseInt).toArray() : new int[] {8, 256, 8, 4, 32};
        var p = CpuAttentionTest.Problem.random(1, dims[0], dims[1], dims[2], dims[3], dims[4], 2f);
        System.out.printf("attention fwd+bwd, %s, %d threads, %d-bit vectors%n", p, Parallel.threads(), AttentionVectors.SPECIES.vectorBitSize());
        double[] fast = millis(new CpuBackend(), p, FAST_WARMUP, FAST_RUNS);
        double[] reference = millis(new ReferenceBackend(), p, 0, REFERENCE_RUNS);
        // The minimum is the better estimate on a shared machine; the median shows the spread.
        System.out.printf("cpu       min %9.2f ms, median %9.2f ms%n", fast[0], fast[fast.length / 2]);
        System.out.printf("reference min %9.2f ms, median %9.2f ms%n", reference[0], reference[reference.length / 2]);
        System.out.printf("speedup   %.1fx (min over min)%n", reference[0] / fast[0]);
    }

    /** Sorted wall-clock milliseconds of {@code runs} forward + backward calls after {@code warmup} unmeasured ones. */
    private static double[] millis(Backend be, CpuAttentionTest.Problem p, int warmup, int runs) {
        Tensor q = upload(be, p.q()), k = upload(be, p.k()), v = upload(be, p.v()), dOut = upload(be, p.dOut());
        Tensor out = be.zeros(DType.F32, p.q().length), lse = be.zeros(DType.F32, p.lseSize());
        Tensor dq = be.zeros(DType.F32, p.q().length), dk = be.zeros(DType.F32, p.k().length), dv = be.zeros(DType.F32, p.v().length);
        double[] millis = new double[runs];
        for (int r = -warmup; r < runs; r++) {
            long t0 = System.nanoTime();
            be.attentionForward(out, lse, q, k, v, p.batch(), p.seqLen(), p.nHeads(), p.nKvHeads(), p.headDim());
            be.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, p.batch(), p.seqLen(), p.nHeads(), p.nKvHeads(), p.headDim());
            if (r >= 0) millis[r] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(millis);
        return millis;
    }

    private static Tensor upload(Backend b, float[] data) {
        Tensor t = b.zeros(DType.F32, data.length);
        b.upload(t, data, 0);
        return t;
    }
}
