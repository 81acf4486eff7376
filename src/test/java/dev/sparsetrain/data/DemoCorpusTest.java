package dev.sparsetrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCorpusTest {
    private static final long SEED = 31L;
    /** A time no preparation run can produce, to tell whether a shard was rewritten. */
    private static final FileTime MARK = FileTime.fromMillis(1_000_000_000_000L);

    @TempDir
    Path dir;

    private static int[] tokensOf(Path shard) throws IOException {
        try (ShardReader r = ShardReader.open(shard)) {
            int[] t = new int[r.tokenCount()];
            r.read(0, t, 0, t.length);
            return t;
        }
    }

    @Test
    void preparesOnceAndAgainOnlyWhenSourcesOrShardsChange() throws IOException {
        var rnd = new SplittableRandom(SEED);
        Path data = dir.resolve("data");
        Path a = Files.writeString(Files.createDirectories(data.resolve("train")).resolve("a.txt"), TokenizerTest.randomText(rnd, 300));
        Files.writeString(data.resolve("train/b.txt"), TokenizerTest.randomText(rnd, 200));
        Files.writeString(Files.createDirectories(data.resolve("val")).resolve("c.txt"), TokenizerTest.randomText(rnd, 100));
        Path cache = dir.resolve("cache");
        Tokenizer tok = Tokenizers.byName("bytes");

        PreparedCorpus first = DemoCorpus.ensurePrepared(data, tok, cache);
        assertEquals(cache.resolve("bytes"), first.dir());
        Path shard = first.trainShards().get(0);
        int[] sep = tok.documentSeparator();
        int[] expected = Stream.of(sep, tok.encode(Files.readString(a)), sep, tok.encode(Files.readString(data.resolve("train/b.txt"))))
                .flatMapToInt(IntStream::of).toArray();
        assertArrayEquals(expected, tokensOf(shard), "seed " + SEED);
        assertEquals(1, first.valShards().size());

        Files.setLastModifiedTime(shard, MARK);
        PreparedCorpus second = DemoCorpus.ensurePrepared(data, tok, cache);
        assertEquals(MARK, Files.getLastModifiedTime(shard), "unchanged sources: nothing rewritten");
        assertEquals(first.manifest(), second.manifest());

        Files.writeString(a, "a shorter book");
        PreparedCorpus third = DemoCorpus.ensurePrepared(data, tok, cache);
        assertNotEquals(MARK, Files.getLastModifiedTime(shard), "a changed source is prepared again");
        assertNotEquals(first.manifest().train().tokens(), third.manifest().train().tokens());

        Files.setLastModifiedTime(shard, MARK);
        try (var ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            ch.truncate(Files.size(shard) - 1);
        }
        DemoCorpus.ensurePrepared(data, tok, cache);
        assertNotEquals(MARK, Files.getLastModifiedTime(shard), "a damaged shard is prepared again");
        tokensOf(shard);
    }

    @Test
    void damagedManifestIsRebuiltByTheCacheButReportedByLoad() throws IOException {
        Path data = dir.resolve("data");
        Files.writeString(Files.createDirectories(data.resolve("train")).resolve("a.txt"), "some training text");
        Files.writeString(Files.createDirectories(data.resolve("val")).resolve("b.txt"), "some held-out text");
        Path cache = dir.resolve("cache");
        Tokenizer tok = Tokenizers.byName("bytes");
        Path manifest = DemoCorpus.ensurePrepared(data, tok, cache).dir().resolve(Manifest.FILE_NAME);

        Files.writeString(manifest, "{not json");
        var e = assertThrows(DataException.class, () -> PreparedCorpus.load(manifest.getParent()));
        assertTrue(e.getMessage().contains(manifest.toString()), e.getMessage());
        assertEquals(20, DemoCorpus.ensurePrepared(data, tok, cache).manifest().train().tokens(), "2 separator + 18 text bytes");

        String json = Files.readString(manifest);
        Files.writeString(manifest, json.replace("\"train_000000.bin\"", "\"../outside.bin\""));
        e = assertThrows(DataException.class, () -> PreparedCorpus.load(manifest.getParent()));
        assertTrue(e.getMessage().contains("../outside.bin"), e.getMessage());
    }

    @Test
    void missingCorpusFolderIsReported() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data/train"));
        Files.writeString(data.resolve("a.txt"), "text");
        var e = assertThrows(DataException.class, () -> DemoCorpus.ensurePrepared(dir.resolve("data"), Tokenizers.byName("bytes"), dir.resolve("c")));
        assertTrue(e.getMessage().contains("val") && e.getMessage().contains("missing"), e.getMessage());
    }

    /** The one test that reads the committed corpus: it must be there, split into train and held-out val books. */
    @Test
    void committedDemoCorpusExists() throws IOException {
        for (String split : List.of("train", "val")) {
            Path folder = Path.of("data", split);
            assertTrue(Files.isDirectory(folder), folder + " is missing");
            List<Path> books;
            try (Stream<Path> files = Files.list(folder)) {
                books = files.filter(p -> p.toString().endsWith(".txt")).toList();
            }
            assertFalse(books.isEmpty(), folder + " holds no .txt book");
            for (Path book : books) assertTrue(Files.size(book) > 10_000, book + " is nearly empty");
        }
    }
}
