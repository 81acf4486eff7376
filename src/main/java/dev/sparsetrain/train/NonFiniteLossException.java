package dev.sparsetrain.train;

/** Too many non-finite losses or gradients in a row: the run stops, keeping its last checkpoint. */
public final class NonFiniteLossException extends RuntimeException {
    public NonFiniteLossException(int step, int inRow, double loss, double gradNorm) {
        super("step " + step + ": " + inRow + " non-finite steps in a row (last loss " + loss + ", grad norm " + gradNorm
                + "); stopping. Lower train.lr, raise train.warmup_steps, or check the data; the last checkpoint is intact.");
    }
}
