package dev.sparsetrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusPreparerTest {
    private static final long SEED = 99L;

    @TempDir
    Path dir;

    private static int[] concat(List<int[]> parts) {
        return parts.stream().flatMapToInt(IntStream::of).toArray();
    }

    private static int[] readAll(List<Path> shards) throws IOException {
        var parts = new ArrayList<int[]>();
        for (Path p : shards) {
            try (ShardReader r = ShardReader.open(p)) {
                int[] t = new int[r.tokenCount()];
                Arrays.fill(t, -1);
                r.read(0, t, 0, t.length);
                parts.add(t);
            }
        }
        return concat(parts);
    }

    private static long utf8Bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static String jsonLine(String text) {
        var obj = new JsonObject();
        obj.addProperty("id", 1);
        obj.addProperty("text", text);
        return obj.toString();
    }

    @Test
    void txtAndJsonlBecomeSeparatedDocumentsAcrossShards() throws IOException {
        var rnd = new SplittableRandom(SEED);
        String book = TokenizerTest.randomText(rnd, 700);
        String docA = TokenizerTest.randomText(rnd, 90);
        String docB = "line \"quoted\"\nsecond line";
        String held = TokenizerTest.randomText(rnd, 200);
        Path trainDir = Files.createDirectories(dir.resolve("in/train"));
        Files.writeString(trainDir.resolve("b_book.txt"), book);
        Files.writeString(trainDir.resolve("a_docs.jsonl"), jsonLine(docA) + "\n\n" + jsonLine(docB) + "\n");
        Files.writeString(trainDir.resolve("README.md"), "not corpus text");
        Path valFile = Files.writeString(dir.resolve("in/held.txt"), held);

        for (String name : new String[] {"bytes", "gpt2"}) {
            Tokenizer tok = Tokenizers.byName(name);
            Path out = dir.resolve("out-" + name);
            PreparedCorpus pc = new CorpusPreparer(tok, 97, line -> {}).prepare(List.of(trainDir), List.of(valFile), out);

            // Folder contents are read sorted by path: a_docs.jsonl (two documents), then b_book.txt.
            int[] sep = tok.documentSeparator();
            int[] expected = concat(List.of(sep, tok.encode(docA), sep, tok.encode(docB), sep, tok.encode(book)));
            assertArrayEquals(expected, readAll(pc.trainShards()), name + " seed " + SEED);
            assertArrayEquals(concat(List.of(sep, tok.encode(held))), readAll(pc.valShards()), name + " seed " + SEED);

            Manifest m = pc.manifest();
            assertEquals(name, m.tokenizer());
            assertEquals(tok.vocabSize(), m.vocabSize());
            assertEquals(3, m.train().documents());
            assertEquals(expected.length, m.train().tokens());
            assertEquals((expected.length + 96) / 97, m.train().shards().size(), "shards of at most 97 tokens");
            assertEquals("train_000000.bin", m.train().shards().get(0).file());
            assertEquals(97, m.train().shards().get(0).tokens());
            long textBytes = utf8Bytes(docA) + utf8Bytes(docB) + utf8Bytes(book);
            assertEquals(textBytes, m.train().textBytes());
            assertEquals(3, m.sources().size(), "README.md in the folder is not a source");
            assertEquals(Files.size(valFile), m.sources().get(2).bytes());
            assertEquals("val", m.sources().get(2).split());
            assertEquals(m, Manifest.read(out), "the manifest on disk is the one returned");
        }
    }

    @Test
    void jsonlLineWithoutTextNamesFileAndLine() throws IOException {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, jsonLine("fine") + "\n" + jsonLine("also fine") + "\n{\"content\": \"no text here\"}\n");
        var e = assertThrows(DataException.class, () -> prepareBytes(List.of(f)));
        assertTrue(e.getMessage().contains(f + ":3") && e.getMessage().contains("\"text\""), e.getMessage());

        Files.writeString(f, jsonLine("fine") + "\n{\"text\": unquoted}\n");
        e = assertThrows(DataException.class, () -> prepareBytes(List.of(f)));
        assertTrue(e.getMessage().contains(f + ":2") && e.getMessage().contains("not valid JSON"), e.getMessage());

        Files.writeString(f, "{\"text\": 5}\n");
        e = assertThrows(DataException.class, () -> prepareBytes(List.of(f)));
        assertTrue(e.getMessage().contains(f + ":1"), e.getMessage());
    }

    private PreparedCorpus prepareBytes(List<Path> train) throws IOException {
        return new CorpusPreparer(Tokenizers.byName("bytes"), 1000, line -> {}).prepare(train, List.of(), dir.resolve("out"));
    }

    @Test
    void badInputsAreRejectedWithTheFileNamed() throws IOException {
        Path latin1 = dir.resolve("latin1.txt");
        Files.write(latin1, new byte[] {'c', 'a', 'f', (byte) 0xE9});
        var e = assertThrows(DataException.class, () -> prepareBytes(List.of(latin1)));
        assertTrue(e.getMessage().contains("latin1.txt") && e.getMessage().contains("UTF-8"), e.getMessage());

        Path parquet = Files.writeString(dir.resolve("x.parquet"), "PAR1");
        e = assertThrows(DataException.class, () -> prepareBytes(List.of(parquet)));
        assertTrue(e.getMessage().contains("x.parquet") && e.getMessage().contains(".jsonl"), e.getMessage());

        e = assertThrows(DataException.class, () -> prepareBytes(List.of(dir.resolve("nowhere"))));
        assertTrue(e.getMessage().contains("nowhere") && e.getMessage().contains("does not exist"), e.getMessage());

        Path book = Files.writeString(dir.resolve("book.txt"), "some text");
        e = assertThrows(DataException.class, () -> new CorpusPreparer(Tokenizers.byName("bytes"), 10, line -> {})
                .prepare(List.of(dir), List.of(book), dir.resolve("o")));
        assertTrue(e.getMessage().contains("book.txt") && e.getMessage().contains("both"), e.getMessage());
    }

    @Test
    void rerunWithFewerShardsDeletesStaleOnesAndKeepsOtherFiles() throws IOException {
        Path book = Files.writeString(dir.resolve("book.txt"), "x".repeat(500));
        Path out = dir.resolve("out");
        Files.createDirectories(out);
        Path keep = Files.writeString(out.resolve("notes.txt"), "mine");
        var first = new CorpusPreparer(Tokenizers.byName("bytes"), 100, line -> {}).prepare(List.of(book), List.of(), out);
        assertEquals(6, first.trainShards().size(), "502 tokens in shards of 100");
        var second = new CorpusPreparer(Tokenizers.byName("bytes"), 1000, line -> {}).prepare(List.of(book), List.of(), out);
        assertEquals(List.of(out.resolve("train_000000.bin")), second.trainShards());
        assertFalse(Files.exists(out.resolve("train_000001.bin")), "stale shard removed");
        assertTrue(Files.exists(keep), "files that are not shards are left alone");
        assertTrue(second.valShards().isEmpty());
        try (var files = Files.list(out)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temp files left");
        }
    }
}
