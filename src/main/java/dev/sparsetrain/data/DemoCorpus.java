package dev.sparsetrain.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The demo corpus committed in the repository's {@code data/} folder ({@code data/train/*.txt},
 * {@code data/val/*.txt}; see {@code data/README.md}), prepared on first use into a cache folder so a
 * training run needs no separate {@code prepare} step.
 */
public final class DemoCorpus {
    private DemoCorpus() {}

    /**
     * Prepares {@code repoDataDir/train} and {@code repoDataDir/val} with {@code tokenizer} into
     * {@code cacheDir/<tokenizer name>/}, unless that folder's manifest already describes the same source
     * files (paths, sizes, modification times), tokenizer, shard size and preparation format, and its shard
     * files are all there with the right sizes. Several processes calling this at once each write complete
     * files by atomic rename, so they cannot leave a broken cache, but calling it on one rank first avoids
     * duplicate work.
     *
     * @return the prepared folder, whose {@link PreparedCorpus#trainShards()} and {@link PreparedCorpus#valShards()}
     *         list the shards
     * @throws DataException if the demo corpus folders are missing or empty
     */
    public static PreparedCorpus ensurePrepared(Path repoDataDir, Tokenizer tokenizer, Path cacheDir) throws IOException {
        Path train = repoDataDir.resolve("train");
        Path val = repoDataDir.resolve("val");
        for (Path dir : List.of(train, val)) {
            if (!Files.isDirectory(dir)) {
                throw new DataException("demo corpus folder " + dir + " is missing: run from the repository root (which has data/train and data/val) "
                        + "or give the training command your own prepared data");
            }
        }
        Path out = cacheDir.resolve(tokenizer.name());
        List<Manifest.Source> current = describe(train, "train");
        current.addAll(describe(val, "val"));
        if (upToDate(out, tokenizer, current)) return PreparedCorpus.load(out);
        return new CorpusPreparer(tokenizer, CorpusPreparer.DEFAULT_SHARD_TOKENS, line -> {}).prepare(List.of(train), List.of(val), out);
    }

    private static List<Manifest.Source> describe(Path dir, String split) throws IOException {
        var sources = new ArrayList<Manifest.Source>();
        for (Path f : CorpusFiles.expand(List.of(dir))) sources.add(Manifest.Source.of(f, split));
        return sources;
    }

    private static boolean upToDate(Path out, Tokenizer tokenizer, List<Manifest.Source> current) throws IOException {
        if (!Files.isRegularFile(out.resolve(Manifest.FILE_NAME))) return false;
        Manifest m;
        try {
            m = Manifest.read(out);
        } catch (DataException unreadable) {
            // A damaged cache is rebuilt, not reported: it holds nothing that cannot be made again.
            return false;
        }
        boolean same = m.format() == Manifest.FORMAT && m.tokenizer().equals(tokenizer.name())
                && m.vocabSize() == tokenizer.vocabSize() && m.shardTokens() == CorpusPreparer.DEFAULT_SHARD_TOKENS
                && m.sources().equals(current);
        return same && shardsIntact(out, m.train(), tokenizer) && shardsIntact(out, m.val(), tokenizer);
    }

    private static boolean shardsIntact(Path out, Manifest.Split split, Tokenizer tokenizer) throws IOException {
        for (Manifest.Shard s : split.shards()) {
            Path f = out.resolve(s.file());
            if (!Files.isRegularFile(f) || Files.size(f) != ShardHeader.forTokenizer(tokenizer, s.tokens()).fileBytes()) return false;
        }
        return true;
    }
}
