package dev.sparsetrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ShardFormatTest {
    private static final long SEED = 7L;

    @TempDir
    Path dir;

    private static int[] randomTokens(SplittableRandom rnd, int n, int vocab) {
        // Draw from the top of the vocabulary too, so a width bug (uint16 overflow) cannot hide.
        int[] t = rnd.ints(n, 0, vocab).toArray();
        t[0] = vocab - 1;
        return t;
    }

    private Path roundTrip(String name, int vocab, int expectedVersion) throws IOException {
        var rnd = new SplittableRandom(SEED + vocab);
        int[] tokens = randomTokens(rnd, 3000, vocab);
        Path file = dir.resolve(name + ".bin");
        var header = new ShardHeader(vocab <= 65536 ? 1 : 2, tokens.length, vocab, name);
        assertEquals(expectedVersion, header.version());
        ShardWriter.write(file, header, tokens);
        assertEquals(1024 + tokens.length * (long) header.tokenBytes(), Files.size(file));
        try (ShardReader r = ShardReader.open(file)) {
            assertEquals(header, r.header());
            int[] back = new int[tokens.length];
            Arrays.fill(back, -1);
            r.read(0, back, 0, back.length);
            assertArrayEquals(tokens, back, "seed " + (SEED + vocab));
            assertEquals(tokens[1234], r.token(1234));
            r.checkTokensBelow(vocab);
        }
        return file;
    }

    @Test
    void uint16RoundTripIsLlmcLayout() throws IOException {
        Path file = roundTrip("gpt2", 50257, 1);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(20240520, b.getInt(0));
        assertEquals(1, b.getInt(4));
        assertEquals(3000, b.getInt(8));
        assertEquals(50257, b.getInt(12));
        assertEquals('g', b.get(64));
        assertEquals(0, b.get(68), "the name is zero-padded");
        for (int slot = 4; slot < 16; slot++) assertEquals(0, b.getInt(slot * 4), "slot " + slot + " is reserved");
        assertEquals(50256, Short.toUnsignedInt(b.getShort(1024)), "first token, little-endian uint16");
        roundTrip("bytes", 256, 1);
        roundTrip("full16", 65536, 1);
    }

    @Test
    void uint32RoundTripForLargeVocabularies() throws IOException {
        Path file = roundTrip("o200k", 200019, 2);
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(2, b.getInt(4));
        assertEquals(200018, b.getInt(1024));
        assertEquals(1, ShardHeader.forTokenizer(Tokenizers.byName("bytes"), 5).version(), "256 ids fit uint16");
    }

    @Test
    void writerRejectsTokensOutsideTheVocabulary() {
        Path file = dir.resolve("bad.bin");
        var e = assertThrows(IllegalArgumentException.class,
                () -> ShardWriter.write(file, new ShardHeader(1, 3, 256, "bytes"), new int[] {1, 256, 2}));
        assertTrue(e.getMessage().contains("256") && e.getMessage().contains("index 1"), e.getMessage());
        assertFalse(Files.exists(file), "nothing is written for bad tokens");
    }

    private Path validShard() throws IOException {
        Path file = dir.resolve("good.bin");
        ShardWriter.write(file, new ShardHeader(1, 100, 256, "bytes"), new SplittableRandom(SEED).ints(100, 1, 256).toArray());
        return file;
    }

    private static void putInt(Path file, long at, int value) throws IOException {
        try (var ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value), at);
        }
    }

    private static String openError(Path file) {
        return assertThrows(DataException.class, () -> ShardReader.open(file).close()).getMessage();
    }

    @Test
    void wrongMagicIsReported() throws IOException {
        Path file = validShard();
        putInt(file, 0, 12345);
        String msg = openError(file);
        assertTrue(msg.contains(file.toString()) && msg.contains("magic 12345") && msg.contains("20240520"), msg);
    }

    @Test
    void wrongVersionIsReported() throws IOException {
        Path file = validShard();
        putInt(file, 4, 3);
        String msg = openError(file);
        assertTrue(msg.contains(file.toString()) && msg.contains("version 3"), msg);
    }

    @Test
    void truncatedFileIsReportedWithSizes() throws IOException {
        Path file = validShard();
        try (var ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(1024 + 200 - 2);
        }
        String msg = openError(file);
        assertTrue(msg.contains(file.toString()) && msg.contains("truncated") && msg.contains("1224") && msg.contains("1222"), msg);
    }

    @Test
    void extraBytesAreReportedWithSizes() throws IOException {
        Path file = validShard();
        Files.write(file, new byte[] {9, 9, 9}, StandardOpenOption.APPEND);
        String msg = openError(file);
        assertTrue(msg.contains(file.toString()) && msg.contains("3 extra bytes") && msg.contains("1224") && msg.contains("1227"), msg);
    }

    @Test
    void fileShorterThanHeaderAndMissingFileAreReported() throws IOException {
        Path tiny = dir.resolve("tiny.bin");
        Files.write(tiny, new byte[] {1, 2, 3});
        String msg = openError(tiny);
        assertTrue(msg.contains("3 bytes") && msg.contains("1024"), msg);
        msg = openError(dir.resolve("absent.bin"));
        assertTrue(msg.contains("absent.bin") && msg.contains("does not exist"), msg);
    }

    @Test
    void tokenCheckFindsOutOfVocabularyTokensOfUnlabelledShards() throws IOException {
        // llm.c writes 0 in the vocabulary slot; such a shard can only be checked token by token.
        Path file = dir.resolve("llmc.bin");
        int[] tokens = new SplittableRandom(SEED).ints(50, 0, 256).toArray();
        tokens[37] = 40000;
        ShardWriter.write(file, new ShardHeader(1, tokens.length, 0, ""), tokens);
        try (ShardReader r = ShardReader.open(file)) {
            assertEquals("", r.header().tokenizerName());
            var e = assertThrows(DataException.class, () -> r.checkTokensBelow(256));
            assertTrue(e.getMessage().contains("40000") && e.getMessage().contains("index 37"), e.getMessage());
            r.checkTokensBelow(65536);
        }
    }
}
