package dev.sparsetrain.data;

import dev.sparsetrain.io.AtomicFiles;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@code manifest.json}: what a prepared folder holds and what it was made from. Written last by
 * {@link CorpusPreparer}, so a folder with a manifest has all its shards; {@link DemoCorpus} compares its
 * {@link #sources} with the files on disk to decide whether to prepare again.
 *
 * @param format      version of this manifest layout and of the preparation rules ({@link #FORMAT})
 * @param tokenizer   tokenizer name ({@link Tokenizers#byName})
 * @param vocabSize   tokenizer vocabulary size
 * @param shardTokens the most tokens a shard holds
 * @param train       training shards
 * @param val         validation shards (empty when no validation inputs were given)
 * @param sources     every input file, with the size and modification time it had when it was read
 */
public record Manifest(int format, String tokenizer, int vocabSize, int shardTokens, Split train, Split val,
                       List<Source> sources) {
    /** Bump when shard contents for the same inputs would change (separator rule, document order, ...). */
    public static final int FORMAT = 1;
    public static final String FILE_NAME = "manifest.json";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    /**
     * One split (train or val).
     *
     * @param documents number of documents (a .txt file, or a .jsonl line)
     * @param textBytes UTF-8 bytes of the documents' text, separators excluded
     * @param tokens    tokens in all shards, separators included
     * @param shards    shard files in reading order
     */
    public record Split(long documents, long textBytes, long tokens, List<Shard> shards) {
        public Split {
            shards = List.copyOf(shards);
        }

        /** Bytes of text per token: the tokenizer's compression on this data. */
        public double bytesPerToken() {
            return tokens == 0 ? 0 : (double) textBytes / tokens;
        }
    }

    /**
     * One shard file.
     *
     * @param file   file name, relative to the manifest's folder
     * @param tokens token count (as in the shard header)
     */
    public record Shard(String file, int tokens) {
        private static final Pattern NAME = Pattern.compile("(train|val)_\\d{6,}\\.bin");

        public Shard {
            // Only plain shard names: a manifest must not point a reader at files outside its folder.
            if (file == null || !NAME.matcher(file).matches()) throw new IllegalArgumentException("not a shard file name: " + file);
            if (tokens < 0) throw new IllegalArgumentException("negative token count " + tokens + " for " + file);
        }

        /** Whether {@code name} is a shard file name ({@code train_000000.bin}, {@code val_000012.bin}, ...). */
        static boolean isShardName(String name) {
            return NAME.matcher(name).matches();
        }
    }

    /**
     * One input file.
     *
     * @param path               absolute path as read
     * @param split              {@code train} or {@code val}
     * @param bytes              file size when read
     * @param lastModifiedMillis modification time when read
     */
    public record Source(String path, String split, long bytes, long lastModifiedMillis) {
        /** The description of {@code file} as it is on disk now. */
        static Source of(Path file, String split) throws IOException {
            return new Source(file.toAbsolutePath().normalize().toString(), split, Files.size(file),
                    Files.getLastModifiedTime(file).toMillis());
        }
    }

    public Manifest {
        sources = List.copyOf(sources);
    }

    /** Writes {@code dir/manifest.json} atomically. */
    void write(Path dir) throws IOException {
        byte[] json = (GSON.toJson(this) + "\n").getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(dir.resolve(FILE_NAME), json);
    }

    /**
     * Reads {@code dir/manifest.json}.
     *
     * @throws DataException if it is missing or not a manifest
     */
    public static Manifest read(Path dir) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        String json;
        try {
            json = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new DataException("no " + FILE_NAME + " in " + dir + ": prepare the data first (sparsetrain prepare --out " + dir + ")");
        }
        Manifest m;
        try {
            m = GSON.fromJson(json, Manifest.class);
        } catch (RuntimeException e) {
            // Gson throws JsonParseException for bad syntax and wraps exceptions of the records' constructors
            // (a null list, a bad shard entry) in plain RuntimeExceptions: either way the file is unusable.
            throw new DataException(file + " is not a valid manifest (" + e.getMessage() + "); delete it and prepare again", e);
        }
        if (m == null || m.tokenizer() == null || m.train() == null || m.val() == null || m.sources() == null) {
            throw new DataException(file + " lacks required fields (tokenizer, train, val, sources); delete it and prepare again");
        }
        return m;
    }
}
