package dev.sparsetrain.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Streams training batches from token shards: B rows of S tokens, each row a contiguous window of one shard,
 * with targets shifted by one token. Rows are taken in order through the shards, then from the first shard
 * again; a row never straddles two shards (the few tokens left at a shard's end are skipped).
 *
 * <p>Data parallel: with {@code worldSize} ranks, consecutive groups of B rows go to ranks 0, 1, ..., so the
 * ranks see disjoint rows and all keep the same {@link #position()} after each step (save rank 0's).
 *
 * <p>Not thread-safe: one loader per training thread. Close it to unmap the shards.
 */
public final class TokenLoader implements AutoCloseable {
    private final List<ShardReader> shards;
    private final int batch;
    private final int seqLen;
    private final int rank;
    private final int worldSize;
    private final int[] window;
    private final Cursor cursor = new Cursor(LoaderPosition.START);

    private TokenLoader(List<ShardReader> shards, int batch, int seqLen, int rank, int worldSize) {
        this.shards = shards;
        this.batch = batch;
        this.seqLen = seqLen;
        this.rank = rank;
        this.worldSize = worldSize;
        this.window = new int[seqLen + 1];
    }

    /** A single-process loader; see {@link #open(List, int, int, int, int, int)}. */
    public static TokenLoader open(List<Path> shardFiles, int modelVocab, int batch, int seqLen) throws IOException {
        return open(shardFiles, modelVocab, batch, seqLen, 0, 1);
    }

    /**
     * Opens and checks every shard.
     *
     * @param shardFiles shards in reading order
     * @param modelVocab the model's vocabulary size: each shard's tokenizer vocabulary must fit in it (a model may
     *                   pad its vocabulary, e.g. 50304 rows for gpt2's 50257; shards written by llm.c, which record
     *                   none, are scanned instead: every token must be below it)
     * @param batch      rows per batch on this rank
     * @param seqLen     tokens per row
     * @param rank       this process's rank in {@code [0, worldSize)}
     * @param worldSize  number of data-parallel processes
     * @throws DataException if shards are missing, malformed, of another vocabulary, or shorter than one row
     */
    public static TokenLoader open(List<Path> shardFiles, int modelVocab, int batch, int seqLen, int rank, int worldSize)
            throws IOException {
        if (batch < 1 || seqLen < 1) throw new IllegalArgumentException("batch and seqLen must be >= 1, got " + batch + " and " + seqLen);
        if (worldSize < 1 || rank < 0 || rank >= worldSize) {
            throw new IllegalArgumentException("rank must be in [0, worldSize), got rank " + rank + " of " + worldSize);
        }
        checkAllPresent(shardFiles);
        var readers = new ArrayList<ShardReader>(shardFiles.size());
        try {
            for (Path f : shardFiles) {
                ShardReader r = ShardReader.open(f);
                readers.add(r);
                checkVocab(r, modelVocab);
                if (r.tokenCount() < seqLen + 1L) {
                    throw new DataException("shard " + f + " has " + r.tokenCount() + " tokens, fewer than the seq_len + 1 = "
                            + (seqLen + 1L) + " one training row needs: use a shorter sequence length or prepare larger shards");
                }
            }
        } catch (IOException | RuntimeException e) {
            readers.forEach(ShardReader::close);
            throw e;
        }
        return new TokenLoader(List.copyOf(readers), batch, seqLen, rank, worldSize);
    }

    private static void checkAllPresent(List<Path> files) {
        if (files.isEmpty()) throw new DataException("no shards given: prepare data first (sparsetrain prepare)");
        List<Path> missing = files.stream().filter(f -> !Files.isRegularFile(f)).toList();
        if (!missing.isEmpty()) {
            throw new DataException(missing.size() + " of " + files.size() + " shards are missing: " + missing
                    + "; expected " + files + ". Run `sparsetrain prepare` (or fix the data path) to create them.");
        }
    }

    private static void checkVocab(ShardReader r, int modelVocab) {
        ShardHeader h = r.header();
        if (h.vocabSize() == 0) {
            r.checkTokensBelow(modelVocab);
        } else if (h.vocabSize() > modelVocab) {
            String tok = h.tokenizerName().isEmpty() ? "an unnamed tokenizer" : "tokenizer '" + h.tokenizerName() + "'";
            throw new DataException("shard " + r.file() + " holds tokens of " + tok + " with vocabulary " + h.vocabSize()
                    + ", but the model's vocabulary is " + modelVocab + ": prepare the data with the model's tokenizer, "
                    + "or set the model's vocab_size to at least " + h.vocabSize());
        }
    }

    public int batch() { return batch; }

    public int seqLen() { return seqLen; }

    /** Tokens in all shards together. */
    public long totalTokens() {
        return shards.stream().mapToLong(ShardReader::tokenCount).sum();
    }

    /**
     * Fills {@code inputs} and {@code targets} ({@code batch * seqLen} each, row-major) with this rank's
     * rows of the next step and advances.
     */
    public void next(int[] inputs, int[] targets) {
        fill(cursor, inputs, targets);
    }

    /** Where the next step starts; give it to {@link #seek} to replay from there. */
    public LoaderPosition position() {
        return new LoaderPosition(cursor.shard, cursor.offset);
    }

    /**
     * Continues from {@code position}, as returned by {@link #position()} of a loader over the same shards.
     *
     * @throws DataException if the position does not fit these shards (the data changed since it was saved)
     */
    public void seek(LoaderPosition position) {
        Objects.requireNonNull(position, "position");
        if (position.shard() >= shards.size() || position.offset() > shards.get(position.shard()).tokenCount()) {
            String sizes = position.shard() < shards.size()
                    ? "; shard " + position.shard() + " has " + shards.get(position.shard()).tokenCount() + " tokens" : "";
            throw new DataException("loader position " + position + " does not fit the " + shards.size() + " shards" + sizes
                    + ": the data changed since the position was saved; resume with the data the run started with");
        }
        cursor.shard = position.shard();
        cursor.offset = position.offset();
    }

    /**
     * The first {@code n} batches from the start of the shards, the same on every call and independent of
     * {@link #position()}: a fixed evaluation set. Fewer than {@code n} are returned when the shards hold
     * fewer, rather than repeating rows.
     *
     * @throws DataException if the shards do not hold even one batch for all ranks
     */
    public List<Batch> fixedBatches(int n) {
        if (n < 1) throw new IllegalArgumentException("number of batches must be >= 1, got " + n);
        var from = new Cursor(LoaderPosition.START);
        var out = new ArrayList<Batch>(n);
        while (out.size() < n) {
            var b = new Batch(batch, seqLen, new int[batch * seqLen], new int[batch * seqLen]);
            fill(from, b.inputs(), b.targets());
            if (from.wrapped) break;
            out.add(b);
        }
        if (out.isEmpty()) {
            throw new DataException("the shards hold " + totalTokens() + " tokens, fewer than one batch of " + worldSize + " x "
                    + batch + " rows of " + seqLen + " tokens needs: use a smaller batch or sequence length, or more data");
        }
        return out;
    }

    private void fill(Cursor c, int[] inputs, int[] targets) {
        int rowTokens = batch * seqLen;
        if (inputs.length != rowTokens || targets.length != rowTokens) {
            throw new IllegalArgumentException("inputs and targets must hold batch x seqLen = " + rowTokens
                    + " tokens, got " + inputs.length + " and " + targets.length);
        }
        for (int g = 0; g < worldSize * batch; g++) {
            if (g / batch == rank) c.copyRow(inputs, targets, (g % batch) * seqLen); else c.skipRow();
        }
    }

    @Override
    public void close() {
        shards.forEach(ShardReader::close);
    }

    /** A read position that moves one row at a time and notes when it wraps back to the first shard. */
    private final class Cursor {
        int shard;
        long offset;
        boolean wrapped;

        Cursor(LoaderPosition p) {
            shard = p.shard();
            offset = p.offset();
        }

        void copyRow(int[] inputs, int[] targets, int at) {
            makeRoom();
            shards.get(shard).read(offset, window, 0, seqLen + 1);
            System.arraycopy(window, 0, inputs, at, seqLen);
            System.arraycopy(window, 1, targets, at, seqLen);
            offset += seqLen;
        }

        void skipRow() {
            makeRoom();
            offset += seqLen;
        }

        /** Moves to the next shard when this one has fewer than S+1 tokens left; every shard holds one row. */
        private void makeRoom() {
            if (offset + seqLen + 1 > shards.get(shard).tokenCount()) {
                offset = 0;
                if (++shard == shards.size()) {
                    shard = 0;
                    wrapped = true;
                }
            }
        }
    }
}
