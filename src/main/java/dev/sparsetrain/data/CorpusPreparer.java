package dev.sparsetrain.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Tokenizes a corpus into shards: {@code train_000000.bin, ...} and {@code val_000000.bin, ...} plus
 * {@code manifest.json} in one output folder.
 *
 * <p>Documents are read in input order (folders sorted by path), each preceded by the tokenizer's
 * {@link Tokenizer#documentSeparator() separator} (the llm.c / nanoGPT convention of an end-of-text token
 * before every document, so the first token of each document is predicted from a clean start). Shards are
 * filled to {@code shardTokens} and a document may continue into the next shard; the last shard of a split
 * holds the remainder. Validation inputs are separate files, so whole books can be held out rather than a
 * slice of books the model also trains on.
 *
 * <p>Each shard and the manifest are written atomically; the old manifest is deleted first and the new one
 * written last, so an interrupted run never leaves a manifest describing shards that are not there. Shard
 * files of an earlier, longer run are deleted.
 */
public final class CorpusPreparer {
    /** Default shard size: 10M tokens is 20-40 MB on disk and a 40 MB staging buffer. */
    public static final int DEFAULT_SHARD_TOKENS = 10_000_000;

    private final Tokenizer tokenizer;
    private final int shardTokens;
    private final Consumer<String> log;

    /**
     * @param tokenizer   tokenizer for every document
     * @param shardTokens the most tokens per shard (at least 1)
     * @param log         receives one line per file read (e.g. {@code System.out::println}); may ignore them
     */
    public CorpusPreparer(Tokenizer tokenizer, int shardTokens, Consumer<String> log) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        if (shardTokens < 1) throw new IllegalArgumentException("shard tokens must be >= 1, got " + shardTokens);
        this.shardTokens = shardTokens;
        this.log = Objects.requireNonNull(log, "log");
    }

    /**
     * Prepares {@code trainInputs} and {@code valInputs} (files or folders of .txt / .jsonl) into {@code outDir}.
     *
     * @param valInputs may be empty: then no validation shards are written
     * @throws DataException if an input is missing or malformed, or a file is both a train and a val input
     */
    public PreparedCorpus prepare(List<Path> trainInputs, List<Path> valInputs, Path outDir) throws IOException {
        if (trainInputs.isEmpty()) throw new DataException("no training inputs given: pass at least one .txt/.jsonl file or folder");
        List<Path> trainFiles = CorpusFiles.expand(trainInputs);
        List<Path> valFiles = CorpusFiles.expand(valInputs);
        checkDisjoint(trainFiles, valFiles);

        Files.createDirectories(outDir);
        Files.deleteIfExists(outDir.resolve(Manifest.FILE_NAME));
        var sources = new ArrayList<Manifest.Source>();
        Manifest.Split train = writeSplit("train", trainFiles, outDir, sources);
        Manifest.Split val = writeSplit("val", valFiles, outDir, sources);
        deleteStaleShards(outDir, train, val);
        var manifest = new Manifest(Manifest.FORMAT, tokenizer.name(), tokenizer.vocabSize(), shardTokens, train, val, sources);
        manifest.write(outDir);
        return new PreparedCorpus(outDir, manifest);
    }

    private static void checkDisjoint(List<Path> train, List<Path> val) throws IOException {
        Set<Path> trainReal = new HashSet<>();
        for (Path p : train) trainReal.add(p.toRealPath());
        for (Path p : val) {
            if (trainReal.contains(p.toRealPath())) {
                throw new DataException(p + " is both a training and a validation input: validation must be held-out text");
            }
        }
    }

    private Manifest.Split writeSplit(String split, List<Path> files, Path outDir, List<Manifest.Source> sources) throws IOException {
        var out = new SplitWriter(split, outDir);
        try {
            for (Path file : files) {
                // Size and time are taken before reading, so a file edited during the run looks stale next time.
                sources.add(Manifest.Source.of(file, split));
                long before = out.tokens;
                DocumentReader.forEachDocument(file, out::addDocument);
                log.accept(split + ": " + file + " -> " + (out.tokens - before) + " tokens");
            }
            return out.finish();
        } catch (UncheckedIOException e) {
            // Shards are written from inside the document callback, which cannot throw IOException.
            throw e.getCause();
        }
    }

    private static void deleteStaleShards(Path outDir, Manifest.Split train, Manifest.Split val) throws IOException {
        Set<String> current = new HashSet<>();
        Stream.concat(train.shards().stream(), val.shards().stream()).forEach(s -> current.add(s.file()));
        try (Stream<Path> files = Files.list(outDir)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (Manifest.Shard.isShardName(name) && !current.contains(name)) Files.delete(f);
            }
        }
    }

    /** Accumulates one split's tokens and writes a shard each time {@code shardTokens} are collected. */
    private final class SplitWriter {
        private final String split;
        private final Path outDir;
        private final int[] buffer;
        private final int[] separator = tokenizer.documentSeparator();
        private final List<Manifest.Shard> shards = new ArrayList<>();
        private int filled;
        private long documents;
        private long textBytes;
        private long tokens;

        SplitWriter(String split, Path outDir) {
            this.split = split;
            this.outDir = outDir;
            this.buffer = new int[shardTokens];
        }

        void addDocument(String text) {
            documents++;
            textBytes += text.getBytes(StandardCharsets.UTF_8).length;
            append(separator);
            append(tokenizer.encode(text));
        }

        private void append(int[] toks) {
            int i = 0;
            while (i < toks.length) {
                int n = Math.min(toks.length - i, buffer.length - filled);
                System.arraycopy(toks, i, buffer, filled, n);
                filled += n;
                i += n;
                tokens += n;
                if (filled == buffer.length) flush();
            }
        }

        private void flush() {
            String name = "%s_%06d.bin".formatted(split, shards.size());
            try {
                ShardWriter.write(outDir.resolve(name), ShardHeader.forTokenizer(tokenizer, filled), buffer);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            shards.add(new Manifest.Shard(name, filled));
            filled = 0;
        }

        Manifest.Split finish() {
            if (filled > 0) flush();
            return new Manifest.Split(documents, textBytes, tokens, shards);
        }
    }
}
