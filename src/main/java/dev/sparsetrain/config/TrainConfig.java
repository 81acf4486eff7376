package dev.sparsetrain.config;

/**
 * Optimisation and run-loop settings.
 *
 * @param batchSize        rows (sequences) per micro-batch
 * @param gradAccum        micro-batches per optimizer step
 * @param steps            optimizer steps in the run
 * @param lr               peak learning rate
 * @param minLrRatio       the cosine decays to lr·minLrRatio
 * @param warmupSteps      linear warmup from 0 to lr
 * @param weightDecay      AdamW decoupled weight decay (matrices only)
 * @param beta1            AdamW β1
 * @param beta2            AdamW β2
 * @param eps              AdamW ε
 * @param gradClip         global-norm clip; 0 disables
 * @param evalEvery        validation every N steps (and at the end); 0 only at the end
 * @param evalBatches      validation batches per evaluation
 * @param checkpointEvery  checkpoint every N steps (and at the end); 0 only at the end
 * @param logEvery         plain-text log line every N steps when not on a terminal
 * @param maxBadSteps      stop after this many non-finite losses or gradients in a row (each is skipped)
 * @param seed             seeds the parameter init and everything random in the run
 */
public record TrainConfig(int batchSize, int gradAccum, int steps, float lr, float minLrRatio, int warmupSteps,
                          float weightDecay, float beta1, float beta2, float eps, float gradClip,
                          int evalEvery, int evalBatches, int checkpointEvery, int logEvery, int maxBadSteps, long seed) {

    public TrainConfig {
        require(batchSize > 0, "train.batch_size must be > 0, got " + batchSize);
        require(gradAccum > 0, "train.grad_accum must be > 0, got " + gradAccum);
        require(steps > 0, "train.steps must be > 0, got " + steps);
        require(lr > 0 && Float.isFinite(lr), "train.lr must be a positive number, got " + lr);
        require(minLrRatio >= 0 && minLrRatio <= 1, "train.min_lr_ratio must be in [0, 1], got " + minLrRatio);
        require(warmupSteps >= 0, "train.warmup_steps must be >= 0, got " + warmupSteps);
        require(weightDecay >= 0, "train.weight_decay must be >= 0, got " + weightDecay);
        require(beta1 >= 0 && beta1 < 1, "train.beta1 must be in [0, 1), got " + beta1);
        require(beta2 >= 0 && beta2 < 1, "train.beta2 must be in [0, 1), got " + beta2);
        require(eps > 0, "train.eps must be > 0, got " + eps);
        require(gradClip >= 0, "train.grad_clip must be >= 0 (0 disables), got " + gradClip);
        require(evalEvery >= 0, "train.eval_every must be >= 0, got " + evalEvery);
        require(evalBatches > 0, "train.eval_batches must be > 0, got " + evalBatches);
        require(checkpointEvery >= 0, "train.checkpoint_every must be >= 0, got " + checkpointEvery);
        require(logEvery > 0, "train.log_every must be > 0, got " + logEvery);
        require(maxBadSteps > 0, "train.max_bad_steps must be > 0, got " + maxBadSteps);
    }

    /** Learning rate at optimizer step {@code step} (1-based): linear warmup, then cosine to lr·minLrRatio. */
    public float lrAt(int step) {
        if (warmupSteps > 0 && step <= warmupSteps) return lr * step / warmupSteps;
        double progress = steps <= warmupSteps ? 1 : (double) (step - warmupSteps) / (steps - warmupSteps);
        progress = Math.min(1, Math.max(0, progress));
        double min = lr * minLrRatio;
        return (float) (min + 0.5 * (lr - min) * (1 + Math.cos(Math.PI * progress)));
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new ConfigException(message);
    }
}
