package dev.sparsetrain.data;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Byte-level tokenizer: each token is one byte of the text's UTF-8 encoding (vocabulary 256). Made for
 * tiny CPU models, where a 50k-row embedding would dwarf the rest of the network.
 *
 * <p>The vocabulary has no room for an end-of-text token, so documents are separated by a blank line
 * ({@code "\n\n"}, two newline bytes): it reads as a paragraph break, which is what a document boundary
 * looks like in plain prose, and keeps every token real text (so bits per byte counts every token).
 */
public final class ByteTokenizer implements Tokenizer {
    /** Name used on the command line and in shard headers. */
    public static final String NAME = "bytes";
    private static final int VOCAB = 256;
    private static final int[] SEPARATOR = {'\n', '\n'};

    @Override
    public String name() { return NAME; }

    @Override
    public int vocabSize() { return VOCAB; }

    @Override
    public int[] encode(String text) {
        byte[] bytes = Objects.requireNonNull(text, "text").getBytes(StandardCharsets.UTF_8);
        int[] tokens = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) tokens[i] = bytes[i] & 0xFF;
        return tokens;
    }

    @Override
    public String decode(int[] tokens) {
        // Ids outside [0, 256) cannot be a byte; 0xFF is never valid in UTF-8, so the String constructor
        // (which replaces malformed input rather than throwing) turns them into U+FFFD.
        byte[] bytes = new byte[tokens.length];
        for (int i = 0; i < tokens.length; i++) {
            int t = tokens[i];
            bytes[i] = (byte) (t >= 0 && t < VOCAB ? t : 0xFF);
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public int[] documentSeparator() { return SEPARATOR.clone(); }

    @Override
    public long byteCount(int[] tokens, int from, int to) {
        Objects.checkFromToIndex(from, to, tokens.length);
        return to - from;
    }

    @Override
    public String toString() { return NAME; }
}
