package dev.sparsetrain.train;

import com.google.gson.JsonObject;

/**
 * A stream of training batches: {@code rows × seqLen} input tokens and the targets (the next token of
 * each position). Its position is saved in checkpoints so a resumed run sees the identical batches.
 */
public interface BatchSource {
    /** Fills {@code inputs} and {@code targets} (both rows·seqLen long) with the next batch. */
    void next(int[] inputs, int[] targets);

    /** Where the next batch starts, as JSON for the checkpoint. */
    JsonObject position();

    /** Continues from a position returned by {@link #position()}. */
    void seek(JsonObject position);
}
