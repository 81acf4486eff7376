package dev.sparsetrain.data;

import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/** Looks tokenizers up by their command-line name. */
public final class Tokenizers {
    private static final ByteTokenizer BYTES = new ByteTokenizer();
    /** jtokkit tokenizers are costly to build (rank tables), so each kind is built once and shared. */
    private static final Map<JtokkitTokenizer.Kind, JtokkitTokenizer> BUILT = new EnumMap<>(JtokkitTokenizer.Kind.class);

    private Tokenizers() {}

    /** Every valid name, in the order help texts list them. */
    public static List<String> names() {
        return Stream.concat(Stream.of(ByteTokenizer.NAME),
                Stream.of(JtokkitTokenizer.Kind.values()).map(JtokkitTokenizer.Kind::tokenizerName)).toList();
    }

    /**
     * The tokenizer called {@code name} (case-insensitive): {@code bytes}, {@code gpt2}, {@code cl100k} or
     * {@code o200k}.
     *
     * @throws IllegalArgumentException for any other name, listing the valid ones
     */
    public static Tokenizer byName(String name) {
        String key = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        if (key.equals(ByteTokenizer.NAME)) return BYTES;
        for (var kind : JtokkitTokenizer.Kind.values()) {
            if (kind.tokenizerName().equals(key)) return jtokkit(kind);
        }
        throw new IllegalArgumentException("unknown tokenizer '" + name + "'; valid tokenizers: " + String.join(", ", names()));
    }

    private static synchronized JtokkitTokenizer jtokkit(JtokkitTokenizer.Kind kind) {
        return BUILT.computeIfAbsent(kind, JtokkitTokenizer::new);
    }
}
