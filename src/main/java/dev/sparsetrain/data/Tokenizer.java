package dev.sparsetrain.data;

/**
 * Turns text into token ids and back. Implementations are immutable and safe to share between threads.
 *
 * <p>{@link #encode} treats its whole input as ordinary text: a literal {@code "<|endoftext|>"} inside a
 * document is encoded as plain characters, so a document can never inject a separator token. Separators
 * are added only by {@link CorpusPreparer} through {@link #documentSeparator()}.
 */
public interface Tokenizer {

    /** Short name used on the command line, in shard headers and in cache folder names (e.g. {@code gpt2}). */
    String name();

    /** Number of token ids: every id this tokenizer emits is in {@code [0, vocabSize)}. */
    int vocabSize();

    /** Token ids of {@code text}; special-token strings are encoded as ordinary text. */
    int[] encode(String text);

    /**
     * Text of {@code tokens}. Never throws: sampled sequences may cut a multi-byte character in half or
     * contain ids with no text (unused or out-of-range ids); those become U+FFFD.
     */
    String decode(int[] tokens);

    /**
     * Tokens written before every document when a corpus is prepared, so the model sees where one
     * document ends and the next begins (an end-of-text token where the vocabulary has one).
     */
    int[] documentSeparator();

    /**
     * UTF-8 bytes of text that {@code tokens[from, to)} stand for, with special tokens (such as
     * end-of-text) counted as 0 bytes. Used to report bits per byte, which compares across tokenizers:
     * {@code bpb = sum(loss in nats) / (ln 2 * byteCount)}.
     */
    long byteCount(int[] tokens, int from, int to);

    /** {@link #byteCount(int[], int, int)} over the whole array. */
    default long byteCount(int[] tokens) {
        return byteCount(tokens, 0, tokens.length);
    }
}
