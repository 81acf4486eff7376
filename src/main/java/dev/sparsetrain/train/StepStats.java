package dev.sparsetrain.train;

/** What one optimizer step measured. */
public record StepStats(int step, double loss, float lr, double gradNorm, boolean skipped, double seconds, long tokens) {}
