package dev.sparsetrain.cpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Measures the fp32 FMA throughput this machine actually delivers: every thread runs a loop of
 * independent vector FMAs on registers only, so the figure is the ceiling a GEMM can approach and
 * the honest denominator of "% of peak". A theoretical peak (FMA units × lanes × GHz) cannot be
 * read reliably inside a VM, so it is only inferred: {@link Result#flopsPerCycle()} divides the
 * measured rate by the clock /proc/cpuinfo reports, to compare with the core's datasheet figure.
 */
public final class FmaPeak {
    private static final VectorSpecies<Float> S = MatmulSpecies.SELECTED;
    /** Independent accumulators: covers FMA latency × FMA pipes on current x86 cores (4 × 2). */
    private static final int CHAINS = 12;
    private static final long WARMUP_ITERS = 2_000_000;
    private static final int ROUNDS = 3;

    private FmaPeak() {}

    /**
     * The best of a few timed rounds.
     *
     * @param gflops    measured fp32 GFLOP/s over all threads (an FMA counts as 2 flops)
     * @param cpuMhz    the clock /proc/cpuinfo reports, NaN where it is not available
     */
    public record Result(int threads, int vectorBits, double gflops, double cpuMhz) {
        /** Flops per cycle per thread at {@link #cpuMhz}: 32 on a core with two 256-bit FMA pipes. */
        public double flopsPerCycle() { return gflops * 1e3 / (threads * cpuMhz); }
    }

    /** Measures on {@code threads} threads at once, about {@code seconds} per round. */
    public static Result measure(int threads, double seconds) {
        if (threads < 1) throw new IllegalArgumentException("FmaPeak needs at least one thread, got " + threads);
        float warm = spin(WARMUP_ITERS, 0.5f);
        long t0 = System.nanoTime();
        warm += spin(WARMUP_ITERS, 0.5f);
        double perIter = (System.nanoTime() - t0) / (double) WARMUP_ITERS;
        if (!Float.isFinite(warm)) throw new IllegalStateException("FMA peak loop produced " + warm);
        long iters = Math.max(1, (long) (seconds * 1e9 / perIter));
        double best = 0;
        for (int r = 0; r < ROUNDS; r++) best = Math.max(best, round(threads, iters));
        return new Result(threads, S.vectorBitSize(), best, cpuMhz());
    }

    private static double round(int threads, long iters) {
        var start = new CyclicBarrier(threads);
        float[] sums = new float[threads];
        long[] begin = new long[threads], end = new long[threads];
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            float seed = 0.5f + t * 1e-3f;
            workers.add(Thread.ofPlatform().start(() -> {
                await(start);
                begin[id] = System.nanoTime();
                sums[id] = spin(iters, seed);
                end[id] = System.nanoTime();
            }));
        }
        for (Thread w : workers) {
            try {
                w.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while measuring the FMA peak", e);
            }
        }
        for (float sum : sums) {
            // Reading the sums is what keeps the loops alive; a non-finite one means the chains diverged.
            if (!Float.isFinite(sum)) throw new IllegalStateException("FMA peak loop produced " + sum);
        }
        // The workers time themselves: on a busy machine the joining thread may wake up late.
        double secs = (Arrays.stream(end).max().orElseThrow() - Arrays.stream(begin).min().orElseThrow()) * 1e-9;
        return 2.0 * CHAINS * S.length() * iters * threads / secs * 1e-9;
    }

    /**
     * CHAINS independent chains acc = acc·x + y, which converge to y/(1−x) and so never overflow
     * or go subnormal. The returned sum keeps the JIT from discarding the loop.
     */
    private static float spin(long iters, float seed) {
        FloatVector x = FloatVector.broadcast(S, seed), y = FloatVector.broadcast(S, 1f - seed);
        FloatVector a0 = x, a1 = y, a2 = x, a3 = y, a4 = x, a5 = y, a6 = x, a7 = y, a8 = x, a9 = y, a10 = x, a11 = y;
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(x, y);
            a1 = a1.fma(x, y);
            a2 = a2.fma(x, y);
            a3 = a3.fma(x, y);
            a4 = a4.fma(x, y);
            a5 = a5.fma(x, y);
            a6 = a6.fma(x, y);
            a7 = a7.fma(x, y);
            a8 = a8.fma(x, y);
            a9 = a9.fma(x, y);
            a10 = a10.fma(x, y);
            a11 = a11.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }

    private static void await(CyclicBarrier b) {
        try {
            b.await();
        } catch (Exception e) {
            throw new IllegalStateException("FMA peak threads failed to start together", e);
        }
    }

    private static double cpuMhz() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("cpu MHz")) return Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
            }
        } catch (IOException | NumberFormatException | SecurityException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
