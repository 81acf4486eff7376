package dev.sparsetrain.train;

import java.nio.file.Path;

/**
 * How a run is executed, beside what it trains (RunConfig).
 *
 * @param outDir     run directory: metrics, plots, summary, checkpoints
 * @param resumeFrom checkpoint directory to continue from, or null for a fresh run
 * @param dataRoot   the repository's data/ folder (demo corpus) and where prepared shards are cached
 * @param quiet      no progress output (tests)
 */
public record TrainOptions(Path outDir, Path resumeFrom, Path dataRoot, boolean quiet) {}
