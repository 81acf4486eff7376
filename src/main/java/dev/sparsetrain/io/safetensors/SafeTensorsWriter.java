package dev.sparsetrain.io.safetensors;

import dev.sparsetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * Writes a safetensors file that PyTorch's {@code safetensors.torch.load_file} reads: an 8-byte
 * little-endian header length, the padded JSON header, then each tensor's little-endian bytes in the
 * order given. The data streams through one bounded buffer, so a multi-gigabyte model never needs a
 * second copy in memory; the file appears atomically (see {@link AtomicFiles}).
 */
public final class SafeTensorsWriter {
    /** Large enough that each channel write is efficient, small enough to be irrelevant next to a model. */
    private static final int BUFFER_BYTES = 1 << 20;

    private SafeTensorsWriter() {}

    /** Writes {@code entries} and the string map {@code metadata} (may be empty) to {@code file}. */
    public static void write(Path file, List<SafeTensorsEntry> entries, Map<String, String> metadata)
            throws IOException {
        var names = new HashSet<String>();
        for (SafeTensorsEntry e : entries) {
            if (!names.add(e.name())) {
                throw new IllegalArgumentException("Tensor name '" + e.name() + "' appears twice; names must be unique");
            }
        }
        byte[] header = SafeTensorsHeader.encode(entries, metadata);
        AtomicFiles.write(file, ch -> writeBody(ch, header, entries));
    }

    private static void writeBody(FileChannel ch, byte[] header, List<SafeTensorsEntry> entries) throws IOException {
        ByteBuffer prefix = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length);
        AtomicFiles.writeFully(ch, prefix.flip());
        AtomicFiles.writeFully(ch, ByteBuffer.wrap(header));
        ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (SafeTensorsEntry e : entries) {
            int perChunk = BUFFER_BYTES / e.dtype().bytes();
            for (int from = 0; from < e.numel(); from += perChunk) {
                int count = Math.min(perChunk, e.numel() - from);
                buf.clear();
                e.put(buf, from, count);
                AtomicFiles.writeFully(ch, buf.flip());
            }
        }
    }
}
