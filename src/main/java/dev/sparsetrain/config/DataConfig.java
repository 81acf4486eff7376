package dev.sparsetrain.config;

/**
 * Where tokens come from.
 *
 * @param source    "demo" (the corpus in the repository's data/ folder, prepared on first use),
 *                  "shards" (prepared shards in {@code shardDir}, see the prepare command), or
 *                  "synthetic" (uniform random tokens; for speed measurements only)
 * @param tokenizer bytes, gpt2, cl100k or o200k; must match the shards
 * @param shardDir  directory of train_*.bin / val_*.bin shards (source "shards")
 */
public record DataConfig(String source, String tokenizer, String shardDir) {

    public DataConfig {
        require(source != null && (source.equals("demo") || source.equals("shards") || source.equals("synthetic")),
                "data.source must be demo, shards or synthetic, got " + source);
        require(tokenizer != null && !tokenizer.isBlank(), "data.tokenizer must be set (bytes, gpt2, cl100k, o200k)");
        require(!source.equals("shards") || (shardDir != null && !shardDir.isBlank()),
                "data.shard_dir must name a directory of shards when data.source is shards");
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new ConfigException(message);
    }
}
