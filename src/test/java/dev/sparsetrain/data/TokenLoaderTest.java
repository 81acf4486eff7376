package dev.sparsetrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenLoaderTest {
    private static final long SEED = 4242L;
    private static final int VOCAB = 256;

    @TempDir
    Path dir;

    /** Writes shards of random tokens with the given lengths; returns their contents. */
    private List<int[]> writeShards(List<Path> paths, long seed, int... lengths) throws IOException {
        var rnd = new SplittableRandom(seed);
        var contents = new ArrayList<int[]>();
        for (int i = 0; i < lengths.length; i++) {
            int[] t = rnd.ints(lengths[i], 0, VOCAB).toArray();
            Path p = dir.resolve("train_%06d.bin".formatted(i));
            ShardWriter.write(p, new ShardHeader(1, t.length, VOCAB, "bytes"), t);
            paths.add(p);
            contents.add(t);
        }
        return contents;
    }

    private static int[][] poisonedBatch(int b, int s) {
        int[][] io = new int[2][b * s];
        Arrays.fill(io[0], -1);
        Arrays.fill(io[1], -1);
        return io;
    }

    @Test
    void rowsAreContiguousWindowsWithShiftedTargetsAndWrapAround() throws IOException {
        var paths = new ArrayList<Path>();
        List<int[]> data = writeShards(paths, SEED, 50, 23, 40);
        int b = 2, s = 8;
        // Expected row starts: rows of S advance by S inside a shard; a shard with fewer than S+1 tokens
        // left is left for the next one, and after the last shard reading restarts at the first.
        record Start(int shard, int offset) {}
        var starts = new ArrayList<Start>();
        for (int pass = 0; pass < 2; pass++) {
            for (int sh = 0; sh < data.size(); sh++) {
                for (int off = 0; off + s + 1 <= data.get(sh).length; off += s) starts.add(new Start(sh, off));
            }
        }
        try (TokenLoader loader = TokenLoader.open(paths, VOCAB, b, s)) {
            assertEquals(113, loader.totalTokens());
            for (int step = 0; step * b + b <= starts.size(); step++) {
                int[][] io = poisonedBatch(b, s);
                loader.next(io[0], io[1]);
                for (int r = 0; r < b; r++) {
                    Start st = starts.get(step * b + r);
                    int[] shard = data.get(st.shard());
                    for (int t = 0; t < s; t++) {
                        String where = "seed " + SEED + " step " + step + " row " + r + " t " + t;
                        assertEquals(shard[st.offset() + t], io[0][r * s + t], where);
                        assertEquals(shard[st.offset() + t + 1], io[1][r * s + t], where);
                    }
                }
            }
        }
    }

    @Test
    void seekToASavedPositionReplaysTheSameBatches() throws IOException {
        var paths = new ArrayList<Path>();
        writeShards(paths, SEED + 1, 300, 170, 211);
        int b = 3, s = 16;
        var expected = new ArrayList<int[]>();
        LoaderPosition saved;
        try (TokenLoader loader = TokenLoader.open(paths, VOCAB, b, s)) {
            int[][] io = poisonedBatch(b, s);
            for (int step = 0; step < 7; step++) loader.next(io[0], io[1]);
            saved = loader.position();
            for (int step = 0; step < 20; step++) {
                io = poisonedBatch(b, s);
                loader.next(io[0], io[1]);
                expected.add(io[0]);
                expected.add(io[1]);
            }
        }
        try (TokenLoader resumed = TokenLoader.open(paths, VOCAB, b, s)) {
            resumed.seek(saved);
            assertEquals(saved, resumed.position());
            for (int step = 0; step < 20; step++) {
                int[][] io = poisonedBatch(b, s);
                resumed.next(io[0], io[1]);
                assertArrayEquals(expected.get(2 * step), io[0], "seed " + (SEED + 1) + " step " + step);
                assertArrayEquals(expected.get(2 * step + 1), io[1], "seed " + (SEED + 1) + " step " + step);
            }
            var bad = assertThrows(DataException.class, () -> resumed.seek(new LoaderPosition(3, 0)));
            assertTrue(bad.getMessage().contains("3 shards"), bad.getMessage());
            bad = assertThrows(DataException.class, () -> resumed.seek(new LoaderPosition(1, 171)));
            assertTrue(bad.getMessage().contains("170 tokens"), bad.getMessage());
        }
    }

    @Test
    void ranksSplitEachGlobalBatchAndKeepOnePosition() throws IOException {
        var paths = new ArrayList<Path>();
        writeShards(paths, SEED + 2, 400, 257);
        int b = 2, s = 10, world = 3;
        try (TokenLoader all = TokenLoader.open(paths, VOCAB, b * world, s);
             TokenLoader r0 = TokenLoader.open(paths, VOCAB, b, s, 0, world);
             TokenLoader r1 = TokenLoader.open(paths, VOCAB, b, s, 1, world);
             TokenLoader r2 = TokenLoader.open(paths, VOCAB, b, s, 2, world)) {
            List<TokenLoader> ranks = List.of(r0, r1, r2);
            for (int step = 0; step < 12; step++) {
                int[][] global = poisonedBatch(b * world, s);
                all.next(global[0], global[1]);
                for (int r = 0; r < world; r++) {
                    int[][] io = poisonedBatch(b, s);
                    ranks.get(r).next(io[0], io[1]);
                    int from = r * b * s;
                    assertArrayEquals(Arrays.copyOfRange(global[0], from, from + b * s), io[0], "seed " + (SEED + 2) + " step " + step + " rank " + r);
                    assertArrayEquals(Arrays.copyOfRange(global[1], from, from + b * s), io[1], "seed " + (SEED + 2) + " step " + step + " rank " + r);
                    assertEquals(all.position(), ranks.get(r).position());
                }
            }
        }
    }

    @Test
    void fixedBatchesAreTheSameEveryCallAndNeverRepeatRows() throws IOException {
        var paths = new ArrayList<Path>();
        List<int[]> data = writeShards(paths, SEED + 3, 100);
        int b = 2, s = 12;
        try (TokenLoader val = TokenLoader.open(paths, VOCAB, b, s)) {
            List<Batch> first = val.fixedBatches(3);
            int[][] io = poisonedBatch(b, s);
            val.next(io[0], io[1]);
            List<Batch> again = val.fixedBatches(3);
            assertEquals(3, first.size());
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(first.get(i).inputs(), again.get(i).inputs(), "batch " + i);
                assertArrayEquals(first.get(i).targets(), again.get(i).targets(), "batch " + i);
            }
            assertEquals(data.get(0)[0], first.get(0).inputs()[0]);
            assertEquals(data.get(0)[s], first.get(0).inputs()[s], "second row starts S tokens later");
            // 100 tokens hold 8 rows of 12 (+1), so 4 batches of 2; asking for more does not wrap around.
            assertEquals(4, val.fixedBatches(10).size());
        }
        try (TokenLoader tooBig = TokenLoader.open(paths, VOCAB, 9, s)) {
            var e = assertThrows(DataException.class, () -> tooBig.fixedBatches(1));
            assertTrue(e.getMessage().contains("100 tokens"), e.getMessage());
        }
    }

    @Test
    void vocabularyMismatchNamesBothSizesAndTheTokenizer() throws IOException {
        var paths = new ArrayList<Path>();
        writeShards(paths, SEED + 4, 64);
        // A model vocabulary smaller than the shards' tokenizer cannot embed every token.
        var e = assertThrows(DataException.class, () -> TokenLoader.open(paths, 200, 2, 8));
        String msg = e.getMessage();
        assertTrue(msg.contains("256") && msg.contains("200") && msg.contains("'bytes'") && msg.contains(paths.get(0).toString()), msg);
        // A padded model vocabulary (more rows than the tokenizer has ids) is fine.
        assertDoesNotThrow(() -> TokenLoader.open(paths, 320, 2, 8).close());
    }

    @Test
    void unlabelledShardsAreScannedAgainstTheModelVocabulary() throws IOException {
        Path p = dir.resolve("llmc.bin");
        int[] t = new SplittableRandom(SEED + 5).ints(64, 0, 1000).toArray();
        ShardWriter.write(p, new ShardHeader(1, t.length, 0, ""), t);
        assertThrows(DataException.class, () -> TokenLoader.open(List.of(p), 500, 2, 8));
        try (TokenLoader ok = TokenLoader.open(List.of(p), 1000, 2, 8)) {
            assertEquals(64, ok.totalTokens());
        }
    }

    @Test
    void missingShardsAreListed() throws IOException {
        var paths = new ArrayList<Path>();
        writeShards(paths, SEED + 6, 64);
        Path gone = dir.resolve("train_000001.bin");
        Path gone2 = dir.resolve("val_000000.bin");
        var e = assertThrows(DataException.class, () -> TokenLoader.open(List.of(paths.get(0), gone, gone2), VOCAB, 2, 8));
        String msg = e.getMessage();
        assertTrue(msg.contains("2 of 3") && msg.contains(gone.toString()) && msg.contains(gone2.toString()) && msg.contains("prepare"), msg);
        assertThrows(DataException.class, () -> TokenLoader.open(List.of(), VOCAB, 2, 8));
    }

    @Test
    void shardShorterThanOneRowIsAnError() throws IOException {
        var paths = new ArrayList<Path>();
        writeShards(paths, SEED + 7, 100, 16);
        var e = assertThrows(DataException.class, () -> TokenLoader.open(paths, VOCAB, 1, 16));
        assertTrue(e.getMessage().contains(paths.get(1).toString()) && e.getMessage().contains("16 tokens")
                && e.getMessage().contains("17"), e.getMessage());
        try (TokenLoader ok = TokenLoader.open(paths, VOCAB, 1, 15)) {
            assertNotEquals(0, ok.totalTokens());
        }
    }
}
