package dev.sparsetrain.data;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * The OpenAI byte-pair encodings bundled with jtokkit: GPT-2 ({@code r50k_base}), {@code cl100k_base} and
 * {@code o200k_base}. Their rank files ship inside the jtokkit jar, so this works offline.
 *
 * <p>Documents are separated by each encoding's {@code <|endoftext|>} token, as GPT-2 was trained.
 */
public final class JtokkitTokenizer implements Tokenizer {

    /**
     * The supported encodings. jtokkit does not expose vocabulary sizes, so they are written here: one past
     * the largest id (regular or special) of each encoding. Ids inside that range with no token (cl100k
     * has a gap below {@code <|endofprompt|>}) decode to U+FFFD.
     */
    public enum Kind {
        GPT2("gpt2", EncodingType.R50K_BASE, 50257, 50256, new int[] {50256}),
        CL100K("cl100k", EncodingType.CL100K_BASE, 100277, 100257, new int[] {100257, 100258, 100259, 100260, 100276}),
        O200K("o200k", EncodingType.O200K_BASE, 200019, 199999, new int[] {199999, 200018});

        private final String tokenizerName;
        private final EncodingType type;
        private final int vocab;
        private final int endOfText;
        private final int[] specialIds;

        Kind(String tokenizerName, EncodingType type, int vocab, int endOfText, int[] specialIds) {
            this.tokenizerName = tokenizerName;
            this.type = type;
            this.vocab = vocab;
            this.endOfText = endOfText;
            this.specialIds = specialIds;
        }

        /** Name used on the command line and in shard headers. */
        public String tokenizerName() { return tokenizerName; }
    }

    private static final byte[] REPLACEMENT = "\uFFFD".getBytes(StandardCharsets.UTF_8);

    private final Kind kind;
    private final Encoding encoding;
    /** UTF-8 length of each id's text; 0 for special tokens and for ids with no token (see {@link #known}). */
    private final int[] textBytes;
    /** Whether jtokkit can decode the id (regular or special). */
    private final boolean[] known;

    /** Loads {@code kind}'s ranks (about a second for o200k), so build one per kind and share it. */
    public JtokkitTokenizer(Kind kind) {
        this.kind = Objects.requireNonNull(kind, "kind");
        this.encoding = Registry.INSTANCE.getEncoding(kind.type);
        this.textBytes = new int[kind.vocab];
        this.known = new boolean[kind.vocab];
        IntArrayList one = new IntArrayList(1);
        one.add(0);
        for (int id = 0; id < kind.vocab; id++) {
            one.set(0, id);
            try {
                textBytes[id] = encoding.decodeBytes(one).length;
                known[id] = true;
            } catch (NullPointerException undefinedId) {
                // jtokkit reports an id it does not define through Objects.requireNonNull; such ids
                // (the gaps between regular and special tokens) stay unknown.
            }
        }
        for (int special : kind.specialIds) textBytes[special] = 0;
    }

    @Override
    public String name() { return kind.tokenizerName; }

    @Override
    public int vocabSize() { return kind.vocab; }

    /** The kind of encoding this tokenizer wraps. */
    public Kind kind() { return kind; }

    @Override
    public int[] encode(String text) {
        return encoding.encodeOrdinary(Objects.requireNonNull(text, "text")).toArray();
    }

    @Override
    public String decode(int[] tokens) {
        var out = new ByteArrayOutputStream(tokens.length * 4);
        var run = new IntArrayList(tokens.length);
        for (int t : tokens) {
            if (t >= 0 && t < known.length && known[t]) {
                run.add(t);
            } else {
                out.writeBytes(encoding.decodeBytes(run));
                run.clear();
                out.writeBytes(REPLACEMENT);
            }
        }
        out.writeBytes(encoding.decodeBytes(run));
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public int[] documentSeparator() { return new int[] {kind.endOfText}; }

    @Override
    public long byteCount(int[] tokens, int from, int to) {
        Objects.checkFromToIndex(from, to, tokens.length);
        long n = 0;
        for (int i = from; i < to; i++) {
            int t = tokens[i];
            if (t >= 0 && t < textBytes.length) n += textBytes[t];
        }
        return n;
    }

    /** The special-token ids of this encoding, which {@link #byteCount} counts as 0 bytes. */
    public int[] specialIds() { return Arrays.copyOf(kind.specialIds, kind.specialIds.length); }

    @Override
    public String toString() { return kind.tokenizerName; }

    /** One registry per JVM: building it loads every bundled rank file, which takes a few seconds. */
    private static final class Registry {
        static final EncodingRegistry INSTANCE = Encodings.newDefaultEncodingRegistry();
    }
}
