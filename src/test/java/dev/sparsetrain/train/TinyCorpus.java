package dev.sparsetrain.train;

import dev.sparsetrain.config.ConfigLoader;
import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.data.CorpusPreparer;
import dev.sparsetrain.data.Tokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** A seeded word-salad corpus prepared into byte shards, and a model small enough to train in seconds. */
public final class TinyCorpus {
    private TinyCorpus() {}

    /** Writes train/val text under {@code dir} and prepares byte shards into {@code dir/shards}; returns that. */
    public static Path prepare(Path dir, long seed) throws IOException {
        Path txt = dir.resolve("text");
        Files.createDirectories(txt.resolve("train"));
        Files.createDirectories(txt.resolve("val"));
        SplittableRandom r = new SplittableRandom(seed);
        String[] words = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "runs", "away", "home"};
        for (String split : List.of("train", "val")) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < (split.equals("train") ? 6000 : 1500); i++) sb.append(words[r.nextInt(words.length)]).append(i % 9 == 8 ? ".\n" : " ");
            Files.writeString(txt.resolve(split).resolve("a.txt"), sb.toString());
        }
        Path shards = dir.resolve("shards");
        new CorpusPreparer(Tokenizers.byName("bytes"), 1 << 20, line -> {}).prepare(List.of(txt.resolve("train")), List.of(txt.resolve("val")), shards);
        return shards;
    }

    /** Overrides that shrink the tiny preset to a seconds-long run on {@code shards}. */
    public static List<String> overrides(Path shards, int steps, String... extra) {
        List<String> o = new ArrayList<>(List.of("model.dim=32", "model.layers=2", "model.heads=2", "model.kv_heads=1", "model.ffn_hidden=64",
                "model.seq_len=16", "train.batch_size=4", "train.steps=" + steps, "train.warmup_steps=2", "train.eval_every=3",
                "train.eval_batches=2", "train.checkpoint_every=3", "train.lr=0.01", "data.source=shards", "data.shard_dir=" + shards));
        o.addAll(List.of(extra));
        return o;
    }

    public static RunConfig config(Path shards, int steps, String... extra) {
        return ConfigLoader.load("tiny", null, overrides(shards, steps, extra));
    }
}
