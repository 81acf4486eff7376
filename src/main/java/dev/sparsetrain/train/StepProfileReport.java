package dev.sparsetrain.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.sparsetrain.config.ConfigLoader;
import dev.sparsetrain.config.RunConfig;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * A {@link StepProfile} with its context, as a table for people and as JSON for scripts:
 * throughput, step times, model FLOPs, MFU against a peak, and the per-category breakdown.
 *
 * @param device  backend name
 * @param threads CPU worker threads
 * @param ffn     the --ffn choice (sparse, dense, swiglu)
 * @param peak    the FLOP/s MFU is measured against
 */
public record StepProfileReport(RunConfig config, String device, int threads, String ffn, int warmup, int iters,
                                StepProfile profile, Peak peak) {

    /** A peak rate and where it comes from (a datasheet, a measurement, the command line). */
    public record Peak(double flopsPerSecond, String source) {
        public Peak {
            if (!(flopsPerSecond > 0)) throw new IllegalArgumentException("peak FLOP/s must be > 0, got " + flopsPerSecond);
        }
    }

    public ModelFlops flops() { return ModelFlops.of(config.model()); }

    /** Achieved model FLOP/s over the unprofiled steps. */
    public double achievedFlopsPerSecond() { return profile.tokensPerSecond() * flops().perToken(); }

    /** Model FLOPs utilisation: achieved / peak. */
    public double mfu() { return achievedFlopsPerSecond() / peak.flopsPerSecond(); }

    public void print(PrintWriter out) {
        var m = config.model();
        var t = config.train();
        out.printf(Locale.ROOT, "bench step: device %s, %d threads | ffn %s (model.ffn=%s) | %,d params | d=%d L=%d heads=%d/%d F=%d vocab %d%n",
                device, threads, ffn, m.ffn().name().toLowerCase(Locale.ROOT), m.parameterCount(), m.dim(), m.layers(), m.heads(),
                m.kvHeads(), m.ffnHidden(), m.vocabSize());
        out.printf(Locale.ROOT, "  %d rows x %d seq x %d accum = %,d tokens/step (synthetic) | %d warm-up steps, %d timed, %d profiled%n",
                t.batchSize(), m.seqLen(), t.gradAccum(), profile.tokensPerStep(), warmup, iters, iters);
        out.printf(Locale.ROOT, "  throughput  %,.0f tokens/s | step mean %.2f ms, median %.2f ms%n",
                profile.tokensPerSecond(), profile.meanMillis(), profile.medianMillis());
        out.printf(Locale.ROOT, "  model FLOPs %s: %s%n", ModelFlops.FORMULA, flops().explain());
        out.printf(Locale.ROOT, "  MFU         %.2f%% = %s achieved / %s peak (%s)%n",
                100 * mfu(), rate(achievedFlopsPerSecond()), rate(peak.flopsPerSecond()), peak.source());
        if (profile.skippedSteps() > 0) out.printf(Locale.ROOT, "  warning: %d steps skipped their update (non-finite loss or gradient)%n", profile.skippedSteps());
        double total = profile.profiledMeanMillis();
        out.printf(Locale.ROOT, "%nbreakdown of the profiled step: mean %.2f ms (%+.1f%% vs unprofiled; the profiler syncs around every backend call)%n",
                total, 100 * (total / profile.meanMillis() - 1));
        out.printf(Locale.ROOT, "  %-12s %10s %8s %10s  %s%n", "category", "ms/step", "%", "calls/step", "backend calls");
        for (OpCategory c : OpCategory.values()) {
            double ms = profile.categoryMillisPerStep(c);
            out.printf(Locale.ROOT, "  %-12s %10.3f %7.1f%% %10.0f  %s%n", c.label(), ms, 100 * ms / total, profile.callsPerStep(c), c.ops());
        }
        double other = profile.otherMillisPerStep();
        out.printf(Locale.ROOT, "  %-12s %10.3f %7.1f%% %10s  %s%n", "other", other, 100 * other / total, "", "host work between calls, profiler syncs");
        out.flush();
    }

    public JsonObject toJson() {
        JsonObject root = new JsonObject();
        root.addProperty("bench", "step");
        root.addProperty("device", device);
        root.addProperty("threads", threads);
        root.addProperty("ffn", ffn);
        root.addProperty("warmup", warmup);
        root.addProperty("iters", iters);
        root.addProperty("params", config.model().parameterCount());
        root.addProperty("non_embedding_params", flops().nonEmbeddingParams());
        root.addProperty("tokens_per_step", profile.tokensPerStep());
        root.addProperty("tokens_per_s", profile.tokensPerSecond());
        root.addProperty("step_ms_mean", profile.meanMillis());
        root.addProperty("step_ms_median", profile.medianMillis());
        root.add("step_ms", array(profile.stepMillis()));
        root.addProperty("flops_formula", ModelFlops.FORMULA);
        root.addProperty("flops_per_token", flops().perToken());
        root.addProperty("achieved_tflops", achievedFlopsPerSecond() / 1e12);
        root.addProperty("peak_tflops", peak.flopsPerSecond() / 1e12);
        root.addProperty("peak_source", peak.source());
        root.addProperty("mfu", mfu());
        root.addProperty("skipped_steps", profile.skippedSteps());
        JsonObject profiled = new JsonObject();
        profiled.addProperty("step_ms_mean", profile.profiledMeanMillis());
        profiled.add("step_ms", array(profile.profiledStepMillis()));
        JsonObject breakdown = new JsonObject();
        for (OpCategory c : OpCategory.values()) {
            JsonObject o = new JsonObject();
            o.addProperty("ms_per_step", profile.categoryMillisPerStep(c));
            o.addProperty("percent", 100 * profile.categoryMillisPerStep(c) / profile.profiledMeanMillis());
            o.addProperty("calls_per_step", profile.callsPerStep(c));
            breakdown.add(c.label(), o);
        }
        profiled.add("breakdown", breakdown);
        profiled.addProperty("other_ms_per_step", profile.otherMillisPerStep());
        root.add("profiled", profiled);
        root.add("config", ConfigLoader.toJson(config));
        return root;
    }

    private static JsonArray array(double[] values) {
        JsonArray a = new JsonArray();
        for (double v : values) a.add(v);
        return a;
    }

    /** FLOP/s in the unit that reads best: GFLOP/s on CPUs, TFLOP/s on GPUs. */
    static String rate(double flopsPerSecond) {
        return flopsPerSecond >= 1e12 ? String.format(Locale.ROOT, "%.1f TFLOP/s", flopsPerSecond / 1e12)
                : String.format(Locale.ROOT, "%.2f GFLOP/s", flopsPerSecond / 1e9);
    }
}
