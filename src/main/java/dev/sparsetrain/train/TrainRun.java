package dev.sparsetrain.train;

import com.google.gson.JsonObject;
import dev.sparsetrain.config.ConfigLoader;
import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.cpu.Parallel;
import dev.sparsetrain.io.AtomicFiles;
import dev.sparsetrain.io.metrics.MetricsWriter;
import dev.sparsetrain.io.plot.LossPlot;
import dev.sparsetrain.io.progress.ProgressReporter;
import dev.sparsetrain.model.SparseState.Phase;
import dev.sparsetrain.model.SparseStats;
import dev.sparsetrain.tensor.Backend;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One training run with its outputs: resolves the data, builds the trainer, resumes if asked, then
 * runs the loop while writing {@code config.json}, {@code metrics.csv}/{@code .jsonl}, checkpoints,
 * {@code loss.svg}/{@code loss.png} and finally {@code summary.json} into the run directory.
 */
public final class TrainRun {
    static final List<String> COLUMNS = List.of("step", "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "step_ms",
            "val_loss", "val_bpb", "skipped", "phase", "density_relu2", "density_24", "dropped_mass", "removed_weight");

    private final RunConfig config;
    private final TrainOptions options;
    private final Backend backend;
    private final PrintStream out;

    public TrainRun(RunConfig config, TrainOptions options, Backend backend, PrintStream out) {
        this.config = config;
        this.options = options;
        this.backend = backend;
        this.out = out;
    }

    /** Runs to the configured number of steps and returns the summary that was written. */
    public RunSummary execute() throws IOException {
        Path dir = options.outDir();
        prepareOutputDir(dir, options.resumeFrom() != null);
        long wallStart = System.nanoTime();
        try (DataSources data = DataSources.open(config, options.dataRoot());
             Trainer trainer = new Trainer(config, backend, data.train(), data.validation())) {
            if (options.resumeFrom() != null) {
                Checkpoints.restore(options.resumeFrom(), trainer);
                if (!options.quiet()) out.printf("resumed from %s at step %d%n", options.resumeFrom(), trainer.step());
            }
            AtomicFiles.writeString(dir.resolve("config.json"), ConfigLoader.gson().toJson(ConfigLoader.toJson(config)) + "\n");
            if (!options.quiet()) printHeader(trainer, data);
            ProgressReporter progress = options.quiet() ? null : ProgressReporter.forStdout(config.train().steps(), config.train().logEvery());
            List<String> columns = columns(config);
            PhaseTimes phaseTimes = new PhaseTimes();
            try (MetricsWriter metrics = trainer.step() == 0 ? MetricsWriter.start(dir, columns) : MetricsWriter.resume(dir, columns, trainer.step())) {
                Validation.Result[] last = {null};
                double[] lastLoss = {Double.NaN};
                trainer.run(new Trainer.Listener() {
                    @Override
                    public void onStep(StepStats s, Validation.Result val) throws IOException {
                        if (s.skipped()) Trainer.reportSkipped(s, System.err);
                        else lastLoss[0] = s.loss();
                        if (val != null) last[0] = val;
                        phaseTimes.add(s);
                        metrics.append(s.step(), row(s, val, config.sparsity().experts()));
                        if (progress != null) {
                            progress.update(s.step(), status(s));
                            if (val != null) progress.message(String.format(Locale.ROOT, "step %d: val loss %.4f, %.3f bits/byte",
                                    s.step(), val.loss(), val.bitsPerByte()));
                        }
                    }

                    @Override
                    public void onCheckpoint(Trainer t) throws IOException {
                        Path saved = Checkpoints.save(dir, t);
                        if (progress != null) progress.message("checkpoint " + dir.relativize(saved));
                    }
                });
                if (progress != null) progress.finish();
                Validation.Result finalVal = last[0] != null ? last[0] : trainer.validate();
                double wall = (System.nanoTime() - wallStart) / 1e9;
                RunSummary summary = new RunSummary(finalVal.loss(), finalVal.bitsPerByte(), lastLoss[0], trainer.tokensSeen(),
                        trainer.tokensSeen() / Math.max(1e-9, trainer.trainSeconds()), wall, trainer.trainSeconds(), trainer.step(),
                        trainer.skippedSteps(), trainer.model().layout().parameterCount(), backend.name(), Parallel.threads(),
                        phaseTimes.steps(), phaseTimes.meanMillis());
                LossPlot.writeFromMetrics(dir); // every metrics row is flushed as it is appended
                AtomicFiles.writeString(dir.resolve("summary.json"), ConfigLoader.gson().toJson(summary.toJson(config)) + "\n");
                return summary;
            }
        }
    }

    /** The metrics columns: the fixed ones, then one router-load column per expert when the sparse phase is on. */
    static List<String> columns(RunConfig config) {
        List<String> c = new java.util.ArrayList<>(COLUMNS);
        if (config.sparsity().enabled()) {
            for (int e = 0; e < config.sparsity().experts(); e++) c.add("router_load_" + e);
        }
        return c;
    }

    private static Map<String, Double> row(StepStats s, Validation.Result val, int experts) {
        Map<String, Double> r = new LinkedHashMap<>();
        r.put("loss", s.loss());
        r.put("lr", (double) s.lr());
        r.put("grad_norm", s.gradNorm());
        r.put("tokens", (double) s.tokens());
        r.put("tokens_per_s", s.tokens() / s.seconds());
        r.put("step_ms", s.seconds() * 1e3);
        r.put("val_loss", val == null ? Double.NaN : val.loss());
        r.put("val_bpb", val == null ? Double.NaN : val.bitsPerByte());
        r.put("skipped", s.skipped() ? 1.0 : 0.0);
        r.put("phase", (double) s.phase().ordinal());
        SparseStats sp = s.sparse();
        r.put("density_relu2", sp == null ? Double.NaN : sp.densityAfterRelu2());
        r.put("density_24", sp == null ? Double.NaN : sp.densityAfterTwoFour());
        r.put("dropped_mass", sp == null ? Double.NaN : sp.droppedMassFraction());
        r.put("removed_weight", sp == null ? Double.NaN : sp.removedWeightMagnitude());
        if (sp != null) {
            double[] load = sp.routerLoad();
            for (int e = 0; e < load.length; e++) r.put("router_load_" + e, load[e]);
        }
        return r;
    }

    private static String status(StepStats s) {
        String line = String.format(Locale.ROOT, "loss %.4f | lr %.2e | gnorm %.2f | %.1fk tok/s | %.0f ms",
                s.loss(), s.lr(), s.gradNorm(), s.tokens() / s.seconds() / 1e3, s.seconds() * 1e3);
        SparseStats sp = s.sparse();
        if (sp == null) return line + (s.phase() == Phase.DENSE_WARMUP ? "" : " | dense finish");
        return line + String.format(Locale.ROOT, " | sparse: density %.3f -> %.3f, dropped %.1f%%",
                sp.densityAfterRelu2(), sp.densityAfterTwoFour(), 100 * sp.droppedMassFraction());
    }

    /** Step counts and mean step times per FFN phase, for the summary (the measured sparse speedup). */
    static final class PhaseTimes {
        private final Map<String, Integer> steps = new LinkedHashMap<>();
        private final Map<String, Double> seconds = new LinkedHashMap<>();

        void add(StepStats s) {
            String key = s.phase().name().toLowerCase(Locale.ROOT);
            steps.merge(key, 1, Integer::sum);
            seconds.merge(key, s.seconds(), Double::sum);
        }

        Map<String, Integer> steps() { return new LinkedHashMap<>(steps); }

        Map<String, Double> meanMillis() {
            Map<String, Double> m = new LinkedHashMap<>();
            steps.forEach((k, n) -> m.put(k, 1e3 * seconds.get(k) / n));
            return m;
        }
    }

    private void printHeader(Trainer trainer, DataSources data) {
        var m = config.model();
        var t = config.train();
        out.println("sparsetrain run -> " + options.outDir());
        out.printf(Locale.ROOT, "  model   %,d params | d=%d L=%d heads=%d/%d ffn=%s F=%d | vocab %d | seq %d%n",
                trainer.model().layout().parameterCount(), m.dim(), m.layers(), m.heads(), m.kvHeads(),
                m.ffn().name().toLowerCase(Locale.ROOT), m.ffnHidden(), m.vocabSize(), m.seqLen());
        out.printf(Locale.ROOT, "  train   %d steps x %d rows x %d accum = %,d tokens/step | lr %.1e warmup %d | wd %.2f clip %.1f | seed %d%n",
                t.steps(), t.batchSize(), t.gradAccum(), config.tokensPerStep(), t.lr(), t.warmupSteps(), t.weightDecay(), t.gradClip(), t.seed());
        out.printf(Locale.ROOT, "  data    %s%n", data.description());
        var sp = config.sparsity();
        if (sp.enabled()) {
            out.printf(Locale.ROOT, "  ffn     dense warmup to step %d, sparse (M=%d: %d experts, 2:4 weights and activations, %s router) to step %d, then dense%n",
                    sp.startStep(t.steps()), sp.m(), sp.experts(), sp.router(), sp.endStep(t.steps()));
        } else {
            out.println("  ffn     dense the whole run (sparsity.enabled=false)");
        }
        out.printf(Locale.ROOT, "  device  %s, %d threads%n", backend.name(), Parallel.threads());
    }

    /** Creates the run directory or explains why it cannot be used. */
    static void prepareOutputDir(Path dir, boolean resuming) throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (FileSystemException e) {
            throw new RunDirectoryException("cannot create output directory " + dir + ": not writable ("
                    + e.getClass().getSimpleName() + (e.getReason() != null ? ": " + e.getReason() : "") + "); choose another --out");
        }
        if (!Files.isWritable(dir)) throw new RunDirectoryException("output directory " + dir + " is not writable; choose another --out");
        Path probe = dir.resolve(".write-probe");
        try {
            Files.writeString(probe, "");
            Files.delete(probe);
        } catch (AccessDeniedException e) {
            throw new RunDirectoryException("output directory " + dir + " is not writable; choose another --out");
        }
        if (!resuming && Files.exists(dir.resolve("checkpoints").resolve("latest"))) {
            throw new RunDirectoryException(dir + " already holds a run; pass --resume " + dir + " to continue it, or choose another --out");
        }
    }

    /** The output directory cannot be used; nothing was written. */
    public static final class RunDirectoryException extends RuntimeException {
        public RunDirectoryException(String message) { super(message); }
    }

    /**
     * What summary.json records. {@code phaseSteps} and {@code phaseStepMs} count and time the steps
     * this process ran in each FFN phase (dense_warmup, sparse, dense_finish).
     */
    public record RunSummary(double finalValLoss, double finalValBpb, double finalTrainLoss, long tokens, double tokensPerSecond,
                             double wallSeconds, double trainSeconds, int steps, int skippedSteps, long parameters,
                             String device, int threads, Map<String, Integer> phaseSteps, Map<String, Double> phaseStepMs) {
        /** The summary.json document: these fields in snake_case, plus the run's config. */
        public JsonObject toJson(RunConfig config) {
            JsonObject o = ConfigLoader.gson().toJsonTree(this).getAsJsonObject();
            o.add("config", ConfigLoader.toJson(config));
            return o;
        }
    }
}
