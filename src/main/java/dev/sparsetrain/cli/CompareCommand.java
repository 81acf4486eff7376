package dev.sparsetrain.cli;

import com.google.gson.JsonObject;
import dev.sparsetrain.config.ConfigLoader;
import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.io.AtomicFiles;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.train.TrainOptions;
import dev.sparsetrain.train.TrainRun;
import dev.sparsetrain.train.TrainRun.RunSummary;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code sparsetrain compare}: trains the dense → sparse → dense schedule and the dense baseline from
 * the same config, seed and data, one after the other in this process, and reports both side by side.
 */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Train the sparse schedule and the dense baseline (same config, seed and data) and compare",
                "validation loss, bits per byte and wall time. Runs go to OUT/sparse and OUT/dense; OUT/summary.json has both."})
public final class CompareCommand implements Callable<Integer> {

    @Mixin
    ConfigOptions options;

    @Option(names = "--out", paramLabel = "DIR", description = "Output directory (default: runs/compare-PRESET-TIMESTAMP).")
    Path out;

    @Override
    public Integer call() throws Exception {
        Path dir = out != null ? out : RunPaths.newRunDir("compare-" + options.runName());
        Map<String, RunSummary> results = new LinkedHashMap<>();
        Map<String, RunConfig> configs = new LinkedHashMap<>();
        for (String ffn : List.of("sparse", "dense")) {
            RunConfig config = options.load(ConfigOptions.ffnOverrides(ffn));
            configs.put(ffn, config);
            if (!options.quiet) System.out.println("== " + ffn);
            try (Backend backend = Devices.open(options.device)) {
                results.put(ffn, new TrainRun(config, new TrainOptions(dir.resolve(ffn), null, RunPaths.dataRoot(), options.quiet),
                        backend, System.out).execute());
            }
        }
        RunSummary sparse = results.get("sparse"), dense = results.get("dense");
        double relative = (sparse.finalValLoss() - dense.finalValLoss()) / dense.finalValLoss();
        System.out.println();
        System.out.printf(Locale.ROOT, "%-8s %12s %12s %12s %14s%n", "ffn", "val loss", "bits/byte", "wall s", "tokens/s");
        for (var e : results.entrySet()) {
            RunSummary s = e.getValue();
            System.out.printf(Locale.ROOT, "%-8s %12.4f %12.4f %12.1f %14.0f%n", e.getKey(), s.finalValLoss(), s.finalValBpb(),
                    s.wallSeconds(), s.tokensPerSecond());
        }
        System.out.printf(Locale.ROOT, "sparse vs dense: validation loss %+.2f%%, wall time x%.2f (dense/sparse)%n",
                100 * relative, dense.wallSeconds() / sparse.wallSeconds());
        JsonObject summary = new JsonObject();
        for (var e : results.entrySet()) summary.add(e.getKey(), e.getValue().toJson(configs.get(e.getKey())));
        summary.addProperty("val_loss_relative_difference", relative);
        summary.addProperty("wall_time_ratio_dense_over_sparse", dense.wallSeconds() / sparse.wallSeconds());
        AtomicFiles.writeString(dir.resolve("summary.json"), ConfigLoader.gson().toJson(summary) + "\n");
        System.out.println("-> " + dir.resolve("summary.json"));
        return 0;
    }
}
