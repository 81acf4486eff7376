package dev.sparsetrain.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The 1024-byte header of a token shard: 256 little-endian int32, as in llm.c, so llm.c can read our
 * GPT-2 shards and we can read its.
 *
 * <pre>
 * int32 [0]        magic 20240520
 * int32 [1]        version: 1 = tokens are uint16 (llm.c), 2 = tokens are uint32 (vocabularies over 65536)
 * int32 [2]        token count
 * int32 [3]        vocabulary size of the tokenizer (ours; llm.c writes 0 there, read as "unknown")
 * bytes 64..127    tokenizer name, ASCII, zero-padded (ours; llm.c writes zeros, read as "")
 * the rest         zero
 * </pre>
 * Then {@code count} tokens of 2 or 4 bytes each, little-endian.
 *
 * @param version       {@link #VERSION_U16} or {@link #VERSION_U32}
 * @param tokenCount    number of tokens after the header
 * @param vocabSize     tokenizer vocabulary size, 0 when unknown (llm.c shards)
 * @param tokenizerName tokenizer name, empty when unknown
 */
public record ShardHeader(int version, int tokenCount, int vocabSize, String tokenizerName) {
    public static final int MAGIC = 20240520;
    public static final int HEADER_BYTES = 1024;
    public static final int VERSION_U16 = 1;
    public static final int VERSION_U32 = 2;
    /** Largest vocabulary whose ids all fit in a uint16. */
    public static final int MAX_U16_VOCAB = 65536;
    private static final int NAME_OFFSET = 64;
    private static final int NAME_BYTES = 64;

    public ShardHeader {
        if (version != VERSION_U16 && version != VERSION_U32) {
            throw new IllegalArgumentException("shard version must be 1 (uint16) or 2 (uint32), got " + version);
        }
        if (tokenCount < 0) throw new IllegalArgumentException("token count must be >= 0, got " + tokenCount);
        if (vocabSize < 0) throw new IllegalArgumentException("vocab size must be >= 0, got " + vocabSize);
        if (version == VERSION_U16 && vocabSize > MAX_U16_VOCAB) {
            throw new IllegalArgumentException("vocab " + vocabSize + " does not fit uint16 tokens (version 1); use version 2");
        }
        if (tokenizerName.length() > NAME_BYTES || !tokenizerName.chars().allMatch(ShardHeader::printableAscii)) {
            throw new IllegalArgumentException("tokenizer name must be at most " + NAME_BYTES
                    + " printable ASCII characters, got '" + tokenizerName + "'");
        }
    }

    /** A header for {@code tokenCount} tokens of {@code tokenizer}, in the narrowest version that holds its ids. */
    public static ShardHeader forTokenizer(Tokenizer tokenizer, int tokenCount) {
        int vocab = tokenizer.vocabSize();
        return new ShardHeader(vocab <= MAX_U16_VOCAB ? VERSION_U16 : VERSION_U32, tokenCount, vocab, tokenizer.name());
    }

    /** Bytes per token: 2 for version 1, 4 for version 2. */
    public int tokenBytes() {
        return version == VERSION_U16 ? 2 : 4;
    }

    /** Exact size of a well-formed file with this header. */
    public long fileBytes() {
        return HEADER_BYTES + (long) tokenCount * tokenBytes();
    }

    /** The header as its 1024 on-disk bytes. */
    public ByteBuffer toBytes() {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, MAGIC).putInt(4, version).putInt(8, tokenCount).putInt(12, vocabSize);
        b.put(NAME_OFFSET, tokenizerName.getBytes(StandardCharsets.US_ASCII));
        return b;
    }

    /**
     * Parses and checks the header of {@code file}, given its first 1024 bytes and its length.
     *
     * @throws DataException naming the file and what is wrong: magic, version, or a length that does not
     *                       match the token count (truncated or padded file)
     */
    public static ShardHeader parse(Path file, ByteBuffer header, long fileBytes) {
        if (fileBytes < HEADER_BYTES) {
            throw new DataException("shard " + file + " is " + fileBytes + " bytes, shorter than the " + HEADER_BYTES
                    + "-byte header: the file is truncated or not a token shard; re-run prepare");
        }
        ByteBuffer b = header.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(0);
        if (magic != MAGIC) {
            throw new DataException("shard " + file + " has magic " + magic + ", expected " + MAGIC
                    + ": it is not a token shard (or is corrupt); re-run prepare");
        }
        int version = b.getInt(4);
        if (version != VERSION_U16 && version != VERSION_U32) {
            throw new DataException("shard " + file + " has version " + version + "; this build reads version "
                    + VERSION_U16 + " (uint16 tokens) and " + VERSION_U32 + " (uint32 tokens); re-run prepare");
        }
        int count = b.getInt(8);
        if (count < 0) {
            throw new DataException("shard " + file + " has a negative token count " + count + ": the header is corrupt; re-run prepare");
        }
        int vocab = b.getInt(12);
        if (vocab < 0 || (version == VERSION_U16 && vocab > MAX_U16_VOCAB)) {
            throw new DataException("shard " + file + " has vocabulary size " + vocab + ", impossible for version "
                    + version + ": the header is corrupt; re-run prepare");
        }
        String name = readName(file, b);
        var parsed = new ShardHeader(version, count, vocab, name);
        long expected = parsed.fileBytes();
        if (fileBytes < expected) {
            throw new DataException("shard " + file + " is truncated: its header promises " + count + " tokens of "
                    + parsed.tokenBytes() + " bytes, so " + expected + " bytes, but the file has " + fileBytes
                    + "; re-run prepare");
        }
        if (fileBytes > expected) {
            throw new DataException("shard " + file + " has " + (fileBytes - expected) + " extra bytes: its header promises "
                    + count + " tokens of " + parsed.tokenBytes() + " bytes, so " + expected + " bytes, but the file has "
                    + fileBytes + "; re-run prepare");
        }
        return parsed;
    }

    private static String readName(Path file, ByteBuffer b) {
        var name = new StringBuilder();
        for (int i = NAME_OFFSET; i < NAME_OFFSET + NAME_BYTES; i++) {
            int c = b.get(i) & 0xFF;
            if (c == 0) break;
            if (!printableAscii(c)) {
                throw new DataException("shard " + file + " has a non-ASCII byte " + c + " in its tokenizer name (bytes 64..127): "
                        + "the header is corrupt; re-run prepare");
            }
            name.append((char) c);
        }
        return name.toString();
    }

    private static boolean printableAscii(int c) {
        return c >= 0x20 && c <= 0x7E;
    }
}
