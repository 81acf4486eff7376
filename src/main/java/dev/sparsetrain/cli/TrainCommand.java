package dev.sparsetrain.cli;

import dev.sparsetrain.config.ConfigLoader;
import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.train.Checkpoints;
import dev.sparsetrain.train.TrainOptions;
import dev.sparsetrain.train.TrainRun;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparsetrain train}: trains a model from a preset, a config file and overrides. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train a model. With no options: the tiny preset on the bundled demo corpus (CPU, a few minutes).",
                "Writes config.json, metrics.csv/.jsonl, loss.png/.svg, checkpoints/ and summary.json to --out."})
public final class TrainCommand implements Callable<Integer> {

    @Option(names = "--preset", description = "Base preset: ${COMPLETION-CANDIDATES} (default: tiny, or the config file's \"extends\").",
            completionCandidates = Presets.class)
    String preset;

    @Option(names = "--config", paramLabel = "FILE", description = "JSON config layered over the preset (default: none).")
    Path configFile;

    @Option(names = "--set", paramLabel = "SECTION.KEY=VALUE", description = "Override one setting, e.g. --set train.lr=1e-3 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--steps", description = "Shortcut for --set train.steps=N (default: the preset's).")
    Integer steps;

    @Option(names = "--ffn", description = {"sparse: squared ReLU with the dense -> sparse -> dense schedule (sparsity.*);",
            "dense: squared ReLU, dense the whole run (the baseline); swiglu: a dense SwiGLU FFN (default: the preset's)."})
    String ffn;

    @Option(names = "--seed", description = "Shortcut for --set train.seed=N (default: the preset's).")
    Long seed;

    @Option(names = "--out", paramLabel = "DIR", description = "Run directory (default: runs/PRESET-TIMESTAMP; runs/last points to the newest).")
    Path out;

    @Option(names = "--resume", paramLabel = "DIR", description = "Continue a run from its latest checkpoint (a run directory or a checkpoint directory).")
    Path resume;

    @Option(names = "--device", description = "cpu or reference (naive, for debugging) (default: ${DEFAULT-VALUE}).", defaultValue = "cpu")
    String device;

    @Option(names = "--quiet", description = "No progress output (default: ${DEFAULT-VALUE}).", defaultValue = "false")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        List<String> all = new ArrayList<>(overrides);
        if (steps != null) all.add("train.steps=" + steps);
        if (ffn != null) all.addAll(ffnOverrides(ffn));
        if (seed != null) all.add("train.seed=" + seed);
        RunConfig config;
        Path checkpoint = null;
        Path outDir = out;
        if (resume != null) {
            checkpoint = Checkpoints.resolve(resume);
            // A resumed run keeps its own configuration; overrides may extend it (e.g. more steps), and a
            // different model shape is refused when the parameters are loaded.
            var saved = ConfigLoader.toJson(Checkpoints.readConfig(checkpoint));
            config = ConfigLoader.fromJson(ConfigLoader.withOverrides(saved, all));
            if (outDir == null) outDir = checkpoint.getParent().getParent();
        } else {
            config = ConfigLoader.load(preset, configFile, all);
            if (outDir == null) outDir = RunPaths.newRunDir(preset != null ? preset : "run");
        }
        try (Backend backend = Devices.open(device)) {
            var summary = new TrainRun(config, new TrainOptions(outDir, checkpoint, RunPaths.dataRoot(), quiet), backend, System.out).execute();
            if (out == null) RunPaths.markLast(outDir);
            System.out.printf(Locale.ROOT, "done: %d steps, %,d tokens in %.1f s (%.0f tokens/s); final val loss %.4f, %.3f bits/byte -> %s%n",
                    summary.steps(), summary.tokens(), summary.wallSeconds(), summary.tokensPerSecond(), summary.finalValLoss(),
                    summary.finalValBpb(), outDir.resolve("summary.json"));
        }
        return 0;
    }

    /** The settings behind --ffn. */
    static List<String> ffnOverrides(String ffn) {
        return switch (ffn) {
            case "sparse" -> List.of("model.ffn=relu2", "sparsity.enabled=true");
            case "dense", "relu2" -> List.of("model.ffn=relu2", "sparsity.enabled=false");
            case "swiglu" -> List.of("model.ffn=swiglu", "sparsity.enabled=false");
            default -> throw new UserError("--ffn must be sparse, dense or swiglu, got '" + ffn + "'");
        };
    }

    /** The preset names for picocli's completion and help. */
    static final class Presets extends ArrayList<String> {
        Presets() { super(ConfigLoader.PRESETS); }
    }
}
