package dev.sparsetrain.cli;

import dev.sparsetrain.config.ConfigLoader;
import dev.sparsetrain.config.RunConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The options that choose a run configuration, shared by train and compare. */
final class ConfigOptions {

    @Option(names = "--preset", description = "Base preset: ${COMPLETION-CANDIDATES} (default: tiny, or the config file's \"extends\").",
            completionCandidates = Presets.class)
    String preset;

    @Option(names = "--config", paramLabel = "FILE", description = "JSON config layered over the preset (default: none).")
    Path configFile;

    @Option(names = "--set", paramLabel = "SECTION.KEY=VALUE", description = "Override one setting, e.g. --set train.lr=1e-3 (repeatable).")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--steps", description = "Shortcut for --set train.steps=N (default: the preset's).")
    Integer steps;

    @Option(names = "--seed", description = "Shortcut for --set train.seed=N (default: the preset's).")
    Long seed;

    @Option(names = "--device", description = "cpu, cuda (or cuda:N), or reference (naive, for debugging) (default: ${DEFAULT-VALUE}).", defaultValue = "cpu")
    String device;

    @Option(names = "--quiet", description = "No progress output (default: ${DEFAULT-VALUE}).", defaultValue = "false")
    boolean quiet;

    /** The overrides the options stand for, then {@code extra}. */
    List<String> overrides(List<String> extra) {
        List<String> all = new ArrayList<>(overrides);
        if (steps != null) all.add("train.steps=" + steps);
        if (seed != null) all.add("train.seed=" + seed);
        all.addAll(extra);
        return all;
    }

    RunConfig load(List<String> extra) {
        return ConfigLoader.load(preset, configFile, overrides(extra));
    }

    /** Prefix of default run directory names: the preset's name (tiny when none is named), or "run" for a config file. */
    String runName() { return preset != null ? preset : configFile != null ? "run" : "tiny"; }

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
