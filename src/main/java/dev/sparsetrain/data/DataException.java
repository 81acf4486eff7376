package dev.sparsetrain.data;

/**
 * Training data is missing, malformed or does not fit the model: a corrupt or truncated shard, a shard
 * of another tokenizer, a corpus line without text. The message names the file and says what to do.
 */
public final class DataException extends RuntimeException {
    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
