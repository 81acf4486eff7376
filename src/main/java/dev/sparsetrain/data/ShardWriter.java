package dev.sparsetrain.data;

import dev.sparsetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.Objects;

/** Writes token shards in the {@link ShardHeader} format, atomically (temp file + rename). */
public final class ShardWriter {
    /** Tokens are staged through a buffer of this many bytes, so a shard of any size needs little memory. */
    private static final int CHUNK_BYTES = 1 << 20;

    private ShardWriter() {}

    /**
     * Writes {@code header.tokenCount()} tokens from {@code tokens[0..]} to {@code file}.
     *
     * @throws IllegalArgumentException if a token is negative, not below the header's vocabulary (when it
     *                                  is known), or too large for the header's token width; nothing is
     *                                  written then
     */
    public static void write(Path file, ShardHeader header, int[] tokens) throws IOException {
        Objects.requireNonNull(file, "file");
        int count = header.tokenCount();
        if (count > tokens.length) {
            throw new IllegalArgumentException("header promises " + count + " tokens but only " + tokens.length + " were given");
        }
        checkRange(file, header, tokens, count);
        AtomicFiles.write(file, ch -> writeBody(ch, header, tokens, count));
    }

    private static void checkRange(Path file, ShardHeader header, int[] tokens, int count) {
        long limit = header.vocabSize() > 0 ? header.vocabSize() : 1L << (8 * header.tokenBytes());
        for (int i = 0; i < count; i++) {
            if (tokens[i] < 0 || tokens[i] >= limit) {
                throw new IllegalArgumentException("token " + tokens[i] + " at index " + i + " for shard " + file
                        + " is outside [0, " + limit + ") of tokenizer '" + header.tokenizerName() + "'");
            }
        }
    }

    private static void writeBody(FileChannel ch, ShardHeader header, int[] tokens, int count) throws IOException {
        writeFully(ch, header.toBytes());
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        boolean u16 = header.tokenBytes() == 2;
        for (int i = 0; i < count; i++) {
            if (buf.remaining() < 4) writeFully(ch, buf.flip()).clear();
            if (u16) buf.putShort((short) tokens[i]); else buf.putInt(tokens[i]);
        }
        writeFully(ch, buf.flip());
    }

    private static ByteBuffer writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
        return b;
    }
}
