package dev.sparsetrain.train;

import dev.sparsetrain.model.SparseState.Phase;
import dev.sparsetrain.model.SparseStats;

/**
 * What one optimizer step measured.
 *
 * @param phase  the FFN phase the step ran in
 * @param sparse the sparse FFN's statistics in the sparse phase, else null
 */
public record StepStats(int step, double loss, float lr, double gradNorm, boolean skipped, double seconds, long tokens,
                        Phase phase, SparseStats sparse) {}
