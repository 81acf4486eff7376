package dev.sparsetrain.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.cpu.FmaPeak;
import dev.sparsetrain.cpu.Parallel;
import dev.sparsetrain.io.AtomicFiles;
import dev.sparsetrain.train.StepBenchmark;
import dev.sparsetrain.train.StepProfile;
import dev.sparsetrain.train.StepProfileReport;
import dev.sparsetrain.train.StepProfileReport.Peak;
import dev.sparsetrain.train.TimedBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code bench step}: whole training steps (forward, backward, AdamW) of a preset on synthetic
 * tokens: tokens/s, step times, model FLOPs and MFU, then where a step's time goes per kind of
 * backend call.
 */
@Command(name = "step", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Time whole optimizer steps of a preset on synthetic tokens: tokens/s, step ms, MFU, and a per-kernel breakdown.",
                "Runs --warmup steps, --iters timed steps, then --iters profiled steps (a sync around every backend call)."})
final class BenchStepCommand implements Callable<Integer> {
    /** NVIDIA's dense bf16 tensor-core peak for H100 and H200 SXM: the usual MFU denominator. */
    static final double H100_H200_BF16_TFLOPS = 989;
    /** Seconds per round of the CPU FMA-peak measurement (three rounds). */
    private static final double FMA_PEAK_SECONDS = 0.2;
    /** Pretty, and without HTML escaping so the formula's '=' stays readable. */
    private static final Gson JSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    @Spec
    private CommandSpec spec;

    @Mixin
    ConfigOptions options;

    @Option(names = "--ffn", defaultValue = "dense",
            description = {"sparse: squared ReLU in the sparse phase (entered during warm-up, so only sparse steps are timed);",
                    "dense: squared ReLU, dense; swiglu: a dense SwiGLU FFN. Default: ${DEFAULT-VALUE}."})
    String ffn;

    @Option(names = "--warmup", defaultValue = "3", description = "Untimed steps first (JIT, allocations, the sparse phase switch). Default: ${DEFAULT-VALUE}.")
    int warmup;

    @Option(names = "--iters", defaultValue = "10", description = "Timed steps, run twice: unprofiled for tokens/s, profiled for the breakdown. Default: ${DEFAULT-VALUE}.")
    int iters;

    @Option(names = "--peak-tflops", defaultValue = "auto",
            description = {"Peak TFLOP/s that MFU divides by. Default: ${DEFAULT-VALUE}: 989 on cuda (H100/H200 dense bf16 datasheet),",
                    "the measured fp32 FMA peak on cpu and reference."})
    String peakTflops;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write every number and the resolved config to this JSON file (default: none).")
    Path json;

    @Option(names = "--dense-baseline", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = {"With --ffn sparse, first time the same model with the dense relu² FFN in this process and report the sparse-step",
                    "speedup S and the whole-run speedup (n_sparse + n_dense) / (n_sparse / S + n_dense) of SPEC.md §2 for the paper's 1B",
                    "schedule (30k sparse of 60k steps). Default: ${DEFAULT-VALUE}."})
    boolean denseBaseline;

    /** The paper's 1B run: 30k of its 60k steps sparse (SPEC.md §2). */
    static final int PAPER_SPARSE_STEPS = 30_000, PAPER_DENSE_STEPS = 30_000;

    @Override
    public Integer call() throws IOException {
        if (options.steps != null) throw new UserError("bench step runs --warmup + 2 x --iters steps; use --iters instead of --steps");
        if (iters < 1) throw new UserError("--iters must be >= 1, got " + iters);
        boolean sparse = ffn.equals("sparse");
        if (warmup < (sparse ? 1 : 0)) {
            throw new UserError("--warmup must be >= " + (sparse ? "1 with --ffn sparse (the first step clusters the neurons)" : "0") + ", got " + warmup);
        }
        List<String> extra = new ArrayList<>(ConfigOptions.ffnOverrides(ffn));
        extra.addAll(StepBenchmark.overrides(sparse, warmup, iters));
        RunConfig config = options.load(extra);
        PrintWriter out = spec.commandLine().getOut();
        try (TimedBackend backend = new TimedBackend(Devices.open(options.device))) {
            Peak peak = peak(options.device);
            StepProfile dense = null;
            if (sparse && denseBaseline) {
                List<String> denseExtra = new ArrayList<>(ConfigOptions.ffnOverrides("dense"));
                denseExtra.addAll(StepBenchmark.overrides(false, warmup, iters));
                RunConfig denseConfig = options.load(denseExtra);
                dense = StepBenchmark.run(denseConfig, backend, warmup, iters);
                new StepProfileReport(denseConfig, backend.name(), Parallel.threads(), "dense", warmup, iters, dense, peak).print(out);
                out.println();
            }
            StepProfile profile = StepBenchmark.run(config, backend, warmup, iters);
            var report = new StepProfileReport(config, backend.name(), Parallel.threads(), ffn, warmup, iters, profile, peak);
            report.print(out);
            var root = report.toJson();
            if (dense != null) {
                double step = dense.meanMillis() / profile.meanMillis();
                double whole = wholeRunSpeedup(step, PAPER_SPARSE_STEPS, PAPER_DENSE_STEPS);
                out.printf(Locale.ROOT, "%nsparse vs dense, same process: dense %,.0f tokens/s (%.2f ms/step), sparse %,.0f tokens/s (%.2f ms/step)"
                                + "%n  sparse-phase step speedup S = %.3fx; whole run of the paper's 1B schedule (%,d sparse + %,d dense steps):"
                                + " (n_s + n_d) / (n_s / S + n_d) = %.3fx%n",
                        dense.tokensPerSecond(), dense.meanMillis(), profile.tokensPerSecond(), profile.meanMillis(), step,
                        PAPER_SPARSE_STEPS, PAPER_DENSE_STEPS, whole);
                root.addProperty("dense_tokens_per_second", dense.tokensPerSecond());
                root.addProperty("dense_step_ms", dense.meanMillis());
                root.addProperty("sparse_step_speedup", step);
                root.addProperty("whole_run_speedup_paper_1b", whole);
            }
            if (json != null) AtomicFiles.writeString(json, JSON.toJson(root) + "\n");
        }
        return 0;
    }

    /** SPEC.md §2: (n_sparse + n_dense) / (n_sparse / S + n_dense) for a sparse-step speedup S. */
    static double wholeRunSpeedup(double stepSpeedup, int sparseSteps, int denseSteps) {
        return (sparseSteps + denseSteps) / (sparseSteps / stepSpeedup + denseSteps);
    }

    private Peak peak(String device) {
        if (!peakTflops.equals("auto")) {
            double tflops;
            try {
                tflops = Double.parseDouble(peakTflops);
            } catch (NumberFormatException e) {
                tflops = Double.NaN;
            }
            if (!(tflops > 0) || Double.isInfinite(tflops)) throw new UserError("--peak-tflops must be a positive number or auto, got '" + peakTflops + "'");
            return new Peak(tflops * 1e12, "--peak-tflops");
        }
        if (device.startsWith("cuda")) {
            return new Peak(H100_H200_BF16_TFLOPS * 1e12, "H100/H200 dense bf16 datasheet");
        }
        var fma = FmaPeak.measure(Parallel.threads(), FMA_PEAK_SECONDS);
        return new Peak(fma.gflops() * 1e9, String.format(Locale.ROOT, "measured fp32 FMA peak, %d threads", fma.threads()));
    }
}
