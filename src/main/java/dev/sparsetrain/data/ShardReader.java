package dev.sparsetrain.data;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;

/**
 * An open token shard, memory-mapped read-only. Opening validates the header and that the file length is
 * exactly header + count x width (see {@link ShardHeader#parse}); token values are checked only on request
 * ({@link #checkTokensBelow}), since that reads the whole file. Safe to read from several threads; close it
 * once, when no thread reads any more.
 */
public final class ShardReader implements AutoCloseable {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final ShardHeader header;
    private final Arena arena;
    private final MemorySegment data;

    private ShardReader(Path file, ShardHeader header, Arena arena, MemorySegment data) {
        this.file = file;
        this.header = header;
        this.arena = arena;
        this.data = data;
    }

    /**
     * Opens and validates {@code file}.
     *
     * @throws DataException if the file is missing or is not a well-formed shard (the message says which check failed)
     */
    public static ShardReader open(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        if (!Files.isRegularFile(file)) {
            throw new DataException("shard " + file + " does not exist (or is not a file); run `sparsetrain prepare` to create shards");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = ByteBuffer.allocate(ShardHeader.HEADER_BYTES);
            // A read may return fewer bytes than asked: read until the header is full or the file ends.
            while (head.hasRemaining()) {
                if (ch.read(head, head.position()) < 0) break;
            }
            ShardHeader header = ShardHeader.parse(file, head.flip().limit(ShardHeader.HEADER_BYTES), size);
            Arena arena = Arena.ofShared();
            try {
                return new ShardReader(file, header, arena, ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena));
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    public Path file() { return file; }

    public ShardHeader header() { return header; }

    public int tokenCount() { return header.tokenCount(); }

    /** Token at {@code index}, in {@code [0, tokenCount())}. */
    public int token(long index) {
        Objects.checkIndex(index, header.tokenCount());
        long at = ShardHeader.HEADER_BYTES + index * header.tokenBytes();
        return header.tokenBytes() == 2 ? Short.toUnsignedInt(data.get(U16, at)) : data.get(U32, at);
    }

    /** Copies tokens {@code [from, from + len)} into {@code dst[off, off + len)}. */
    public void read(long from, int[] dst, int off, int len) {
        Objects.checkFromIndexSize(from, len, header.tokenCount());
        Objects.checkFromIndexSize(off, len, dst.length);
        for (int i = 0; i < len; i++) dst[off + i] = token(from + i);
    }

    /**
     * Reads every token and checks it is in {@code [0, limit)}.
     *
     * @throws DataException naming the file, the first bad index and value, and the limit
     */
    public void checkTokensBelow(int limit) {
        for (long i = 0; i < header.tokenCount(); i++) {
            int t = token(i);
            if (t < 0 || t >= limit) {
                throw new DataException("shard " + file + " holds token " + Integer.toUnsignedString(t) + " at index " + i
                        + ", outside the vocabulary [0, " + limit + "): the shard is corrupt or from another tokenizer; re-run prepare");
            }
        }
    }

    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return file + " (" + header.tokenCount() + " tokens, " + header.tokenizerName() + ")";
    }
}
