package dev.sparsetrain.io.safetensors;

import dev.sparsetrain.tensor.Bf16;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * An open safetensors file: its validated header (tensor index and metadata) and readers that convert
 * one named tensor to a Java array. Opening reads and checks only the header; tensor data is read on
 * request, in bounded chunks.
 */
public final class SafeTensorsFile implements AutoCloseable {
    private static final int CHUNK_BYTES = 1 << 20;

    private final Path path;
    private final FileChannel channel;
    private final SafeTensorsHeader header;
    private final long dataStart;

    private SafeTensorsFile(Path path, FileChannel channel, SafeTensorsHeader header, long dataStart) {
        this.path = path;
        this.channel = channel;
        this.header = header;
        this.dataStart = dataStart;
    }

    /** Opens {@code path} and validates its header; a malformed file raises {@link SafeTensorsFormatException}. */
    public static SafeTensorsFile open(Path path) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toString(), null, "safetensors file not found");
        }
        try {
            long size = ch.size();
            if (size < Long.BYTES) {
                throw new SafeTensorsFormatException(path, "the file has " + size
                        + " bytes, fewer than the 8-byte header length");
            }
            ByteBuffer prefix = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, prefix, 0, path);
            long n = prefix.flip().getLong();
            if (n < 0 || n > SafeTensorsHeader.MAX_HEADER_BYTES) {
                throw new SafeTensorsFormatException(path, "the header length " + Long.toUnsignedString(n)
                        + " exceeds the limit of " + SafeTensorsHeader.MAX_HEADER_BYTES + " bytes (not a safetensors file?)");
            }
            if (Long.BYTES + n > size) {
                throw new SafeTensorsFormatException(path, "the header length " + n + " exceeds the "
                        + (size - Long.BYTES) + " bytes after the length prefix (truncated file?)");
            }
            ByteBuffer json = ByteBuffer.allocate((int) n);
            readFully(ch, json, Long.BYTES, path);
            long dataStart = Long.BYTES + n;
            SafeTensorsHeader header = SafeTensorsHeader.parse(path, json.array(), size - dataStart);
            return new SafeTensorsFile(path, ch, header, dataStart);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The tensors in header order, by name. */
    public Map<String, TensorInfo> tensors() { return header.tensors(); }

    /** The {@code __metadata__} string map; empty when the file has none. */
    public Map<String, String> metadata() { return header.metadata(); }

    /** The index entry of {@code name}; fails naming the file when there is no such tensor. */
    public TensorInfo info(String name) {
        TensorInfo t = header.tensors().get(name);
        if (t == null) {
            throw new IllegalArgumentException("No tensor '" + name + "' in " + path + " (it has "
                    + header.tensors().size() + " tensors" + firstNames() + ")");
        }
        return t;
    }

    /** The elements of an F32, BF16 or F16 tensor as floats (16-bit types are widened exactly). */
    public float[] readFloats(String name) throws IOException {
        float[] out = new float[arrayLength(info(name))];
        readFloats(name, out, 0);
        return out;
    }

    /** Reads an F32, BF16 or F16 tensor into {@code dst[offset ..]}, e.g. a slice of a flat parameter buffer. */
    public void readFloats(String name, float[] dst, int offset) throws IOException {
        TensorInfo t = info(name);
        int n = arrayLength(t);
        checkDestination(t, n, dst.length, offset);
        switch (t.dtype()) {
            case F32 -> readChunks(t, (buf, at, count) -> buf.asFloatBuffer().get(dst, offset + at, count));
            case BF16 -> readChunks(t, (buf, at, count) -> {
                for (int i = 0; i < count; i++) dst[offset + at + i] = Bf16.toFloat(buf.getShort());
            });
            case F16 -> readChunks(t, (buf, at, count) -> {
                for (int i = 0; i < count; i++) dst[offset + at + i] = Float.float16ToFloat(buf.getShort());
            });
            default -> throw wrongType(t, "floats", "F32, BF16 or F16");
        }
    }

    /** The elements of an I32 tensor. */
    public int[] readInts(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.dtype() != SafeTensorsDType.I32) throw wrongType(t, "ints", "I32");
        int[] out = new int[arrayLength(t)];
        readChunks(t, (buf, at, count) -> buf.asIntBuffer().get(out, at, count));
        return out;
    }

    @Override
    public void close() throws IOException { channel.close(); }

    @FunctionalInterface
    private interface ChunkConsumer {
        /** Consumes {@code count} elements, the first being element {@code at} of the tensor. */
        void accept(ByteBuffer buf, int at, int count);
    }

    private void readChunks(TensorInfo t, ChunkConsumer consumer) throws IOException {
        int size = t.dtype().bytes();
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) t.numel();
        int perChunk = CHUNK_BYTES / size;
        for (int at = 0; at < n; at += perChunk) {
            int count = Math.min(perChunk, n - at);
            buf.clear().limit(count * size);
            readFully(channel, buf, dataStart + t.begin() + (long) at * size, path);
            consumer.accept(buf.flip(), at, count);
        }
    }

    private int arrayLength(TensorInfo t) {
        long n = t.numel();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("Tensor '" + t.name() + "' in " + path + " has " + n
                    + " elements, more than a Java array holds");
        }
        return (int) n;
    }

    private void checkDestination(TensorInfo t, int n, int length, int offset) {
        if (offset < 0 || (long) offset + n > length) {
            throw new IllegalArgumentException("Tensor '" + t.name() + "' has " + n + " elements, which do not fit at offset "
                    + offset + " of an array of " + length);
        }
    }

    private IllegalArgumentException wrongType(TensorInfo t, String what, String accepted) {
        return new IllegalArgumentException("Tensor '" + t.name() + "' in " + path + " is " + t.dtype()
                + "; reading " + what + " needs " + accepted);
    }

    private String firstNames() {
        var names = header.tensors().keySet().stream().limit(5).toList();
        return names.isEmpty() ? "" : ", e.g. " + String.join(", ", names);
    }

    /** Fills {@code buf} from {@code position}; the file ending first means it shrank after it was validated. */
    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path path) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, pos);
            if (r < 0) {
                throw new SafeTensorsFormatException(path, "the file ends at byte " + pos + " but " + buf.remaining()
                        + " more bytes were expected (truncated file?)");
            }
            pos += r;
        }
    }
}
