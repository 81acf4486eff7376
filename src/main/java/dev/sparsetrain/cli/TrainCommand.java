package dev.sparsetrain.cli;

import dev.sparsetrain.config.ConfigLoader;
import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.train.Checkpoints;
import dev.sparsetrain.train.TrainOptions;
import dev.sparsetrain.train.TrainRun;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sparsetrain train}: trains a model from a preset, a config file and overrides. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a model. With no options: the tiny preset on the bundled demo corpus (CPU, a few minutes).",
                "Writes config.json, metrics.csv/.jsonl, loss.png/.svg, checkpoints/ and summary.json to --out."})
public final class TrainCommand implements Callable<Integer> {

    @Mixin
    ConfigOptions options;

    @Option(names = "--ffn", description = {"sparse: squared ReLU with the dense -> sparse -> dense schedule (sparsity.*);",
            "dense: squared ReLU, dense the whole run (the baseline); swiglu: a dense SwiGLU FFN (default: the preset's)."})
    String ffn;

    @Option(names = "--out", paramLabel = "DIR", description = "Run directory (default: runs/PRESET-TIMESTAMP; runs/last points to the newest).")
    Path out;

    @Option(names = "--resume", paramLabel = "DIR", description = "Continue a run from its latest checkpoint (a run directory or a checkpoint directory).")
    Path resume;

    @Override
    public Integer call() throws Exception {
        List<String> extra = ffn == null ? List.of() : ConfigOptions.ffnOverrides(ffn);
        RunConfig config;
        Path checkpoint = null;
        Path outDir = out;
        if (resume != null) {
            checkpoint = Checkpoints.resolve(resume);
            // A resumed run keeps its own configuration; overrides may extend it (e.g. more steps), and a
            // different model shape is refused when the parameters are loaded.
            var saved = ConfigLoader.toJson(Checkpoints.readConfig(checkpoint));
            config = ConfigLoader.fromJson(ConfigLoader.withOverrides(saved, options.overrides(extra)));
            if (outDir == null) outDir = checkpoint.getParent().getParent();
        } else {
            config = options.load(extra);
            if (outDir == null) outDir = RunPaths.newRunDir(options.runName());
        }
        try (Backend backend = Devices.open(options.device)) {
            var summary = new TrainRun(config, new TrainOptions(outDir, checkpoint, RunPaths.dataRoot(), options.quiet), backend, System.out).execute();
            if (out == null) RunPaths.markLast(outDir);
            System.out.printf(Locale.ROOT, "done: %d steps, %,d tokens in %.1f s (%.0f tokens/s); final val loss %.4f, %.3f bits/byte -> %s%n",
                    summary.steps(), summary.tokens(), summary.wallSeconds(), summary.tokensPerSecond(), summary.finalValLoss(),
                    summary.finalValBpb(), outDir.resolve("summary.json"));
        }
        return 0;
    }
}
