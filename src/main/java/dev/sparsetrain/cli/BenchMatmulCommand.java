package dev.sparsetrain.cli;

import com.google.gson.GsonBuilder;
import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.cpu.CpuMatmul;
import dev.sparsetrain.cpu.FmaPeak;
import dev.sparsetrain.cpu.Parallel;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code bench matmul}: times the CPU backend's fp32 GEMM on square products in all four
 * transpose combinations and reports GFLOP/s as a share of the FMA peak measured on the same
 * threads just before ({@link FmaPeak}), so the percentage means the same on any machine.
 * The flops per cycle it prints use the nominal clock of /proc/cpuinfo: above a core's datasheet
 * figure (32 for two 256-bit FMA pipes, as on Zen 4) they mean the cores run above nominal clock.
 */
@Command(name = "matmul", mixinStandardHelpOptions = true,
        description = "Times the CPU fp32 GEMM (C = op(A)·op(B), all four transposes) against the measured FMA peak.")
public final class BenchMatmulCommand implements Callable<Integer> {
    private static final long SEED = 20240611L;
    /** Elements spot-checked against a double-precision dot product, so a wrong kernel cannot post a time. */
    private static final int SPOT_CHECKS = 32;

    @Spec
    CommandSpec spec;

    @Option(names = "--size", split = ",", defaultValue = "1024",
            description = "Square sizes m = n = k to time, comma-separated (e.g. 256,512,1024,2048). Default: ${DEFAULT-VALUE}.")
    List<Integer> sizes;

    @Option(names = "--iters", defaultValue = "10",
            description = "Timed runs per shape, after as many warm-up runs; the best and the median are reported. Default: ${DEFAULT-VALUE}.")
    int iters;

    @Option(names = "--threads", defaultValue = "0",
            description = "Threads to use; 0 means all of the CPU pool (-Dsparsetrain.threads, else the core count). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--peak-seconds", defaultValue = "0.3",
            description = "Seconds per round of the FMA peak measurement (3 rounds, best kept). Default: ${DEFAULT-VALUE}.")
    double peakSeconds;

    @Option(names = "--json", paramLabel = "FILE",
            description = "Also write the results as JSON to FILE. Default: ${DEFAULT-VALUE} (no JSON).")
    Path json;

    /** One timed shape. */
    record Row(int m, int n, int k, boolean transA, boolean transB, double msBest, double msMedian,
               double gflops, double percentOfPeak) {}

    @Override
    public Integer call() throws IOException {
        int pool = Parallel.threads();
        int t = threads == 0 ? pool : threads;
        if (t < 0 || t > pool) {
            throw new ParameterException(spec.commandLine(), "--threads must be between 1 and the CPU pool's " + pool
                    + " threads (0 = all); the pool is sized at startup by -Dsparsetrain.threads or SPARSETRAIN_THREADS");
        }
        if (iters < 1) throw new ParameterException(spec.commandLine(), "--iters must be at least 1, got " + iters);
        for (int s : sizes) {
            if (s < 1) throw new ParameterException(spec.commandLine(), "--size values must be at least 1, got " + s);
        }
        PrintWriter out = spec.commandLine().getOut();
        FmaPeak.Result peak = FmaPeak.measure(t, peakSeconds);
        out.printf("fp32 GEMM on %d thread(s), %d-bit vectors%n", t, peak.vectorBits());
        out.printf("FMA peak (measured): %.1f GFLOP/s", peak.gflops());
        if (!Double.isNaN(peak.cpuMhz())) {
            out.printf(" = %.1f flops/cycle/thread at the nominal %.0f MHz", peak.flopsPerCycle(), peak.cpuMhz());
        }
        out.println();
        out.printf("%-18s %-6s %10s %10s %10s %8s%n", "m×n×k", "op", "best ms", "median ms", "GFLOP/s", "% peak");
        List<Row> rows = new ArrayList<>();
        for (int size : sizes) {
            for (int v = 0; v < 4; v++) {
                Row r = time(t, size, (v & 2) != 0, (v & 1) != 0, peak.gflops());
                rows.add(r);
                out.printf("%-18s %-6s %10.3f %10.3f %10.1f %7.1f%%%n", size + "×" + size + "×" + size,
                        (r.transA() ? "Aᵀ" : "A") + "·" + (r.transB() ? "Bᵀ" : "B"),
                        r.msBest(), r.msMedian(), r.gflops(), r.percentOfPeak());
                out.flush();
            }
        }
        if (json != null) writeJson(peak, rows);
        return 0;
    }

    private Row time(int t, int size, boolean transA, boolean transB, double peakGflops) {
        int m = size, n = size, k = size;
        var backend = new CpuBackend();
        var rnd = new SplittableRandom(SEED + size);
        float[] aHost = random(rnd, m * k), bHost = random(rnd, k * n);
        Tensor a = backend.zeros(DType.F32, transA ? k : m, transA ? m : k);
        Tensor b = backend.zeros(DType.F32, transB ? n : k, transB ? k : n);
        Tensor c = backend.zeros(DType.F32, m, n);
        backend.upload(a, aHost, 0);
        backend.upload(b, bHost, 0);
        double[] ms = new double[iters];
        for (int i = 0; i < iters; i++) CpuMatmul.matmul(t, c, a, transA, b, transB, m, n, k, 1f, 0f);
        for (int i = 0; i < iters; i++) {
            long t0 = System.nanoTime();
            CpuMatmul.matmul(t, c, a, transA, b, transB, m, n, k, 1f, 0f);
            ms[i] = (System.nanoTime() - t0) * 1e-6;
        }
        spotCheck(backend.toHost(c), aHost, transA, bHost, transB, m, n, k, rnd);
        Arrays.sort(ms);
        double gflops = 2.0 * m * n * k / (ms[0] * 1e-3) * 1e-9;
        return new Row(m, n, k, transA, transB, ms[0], ms[iters / 2], gflops, 100 * gflops / peakGflops);
    }

    private static void spotCheck(float[] c, float[] a, boolean transA, float[] b, boolean transB,
                                  int m, int n, int k, SplittableRandom rnd) {
        for (int s = 0; s < SPOT_CHECKS; s++) {
            int r = rnd.nextInt(m), col = rnd.nextInt(n);
            double want = 0, scale = 0;
            for (int p = 0; p < k; p++) {
                double prod = (double) (transA ? a[p * m + r] : a[r * k + p]) * (transB ? b[col * k + p] : b[p * n + col]);
                want += prod;
                scale += Math.abs(prod);
            }
            double got = c[r * n + col];
            if (!(Math.abs(got - want) <= 1e-5 * Math.sqrt(k) * scale + 1e-6)) {
                throw new IllegalStateException("matmul gave C[" + r + "," + col + "] = " + got + " but it should be " + want
                        + " (m=n=k=" + k + ", transA=" + transA + ", transB=" + transB + "): the CPU GEMM is broken, do not trust its timings");
            }
        }
    }

    private static float[] random(SplittableRandom rnd, int count) {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) x[i] = (float) rnd.nextDouble(-1, 1);
        return x;
    }

    private void writeJson(FmaPeak.Result peak, List<Row> rows) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("benchmark", "matmul");
        doc.put("threads", peak.threads());
        doc.put("vectorBits", peak.vectorBits());
        doc.put("peakGflops", peak.gflops());
        if (!Double.isNaN(peak.cpuMhz())) doc.put("cpuMhz", peak.cpuMhz());
        doc.put("iters", iters);
        doc.put("results", rows);
        Path parent = json.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        Files.writeString(json, new GsonBuilder().setPrettyPrinting().create().toJson(doc));
    }
}
