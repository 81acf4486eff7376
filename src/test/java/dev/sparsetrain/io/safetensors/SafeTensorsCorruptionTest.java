package dev.sparsetrain.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each kind of damage is refused with a message that names the file and the problem. */
class SafeTensorsCorruptionTest {
    private static final String TWO_TENSORS = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";

    @TempDir
    Path dir;

    @Test
    void wellFormedBaselineOpens() throws IOException {
        try (var f = SafeTensorsFile.open(file(TWO_TENSORS, 12))) {
            assertTrue(f.tensors().containsKey("b"));
        }
    }

    @Test
    void headerLengthBeyondTheLimit() throws IOException {
        Path p = write(withPrefix(200_000_000L, TWO_TENSORS, 12));
        assertRefused(p, "exceeds the limit");
        Path negative = write(withPrefix(-8L, TWO_TENSORS, 12));
        assertRefused(negative, "exceeds the limit");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        byte[] valid = bytes(TWO_TENSORS, 12);
        Path p = write(withPrefix(valid.length, TWO_TENSORS, 12));
        assertRefused(p, "truncated");
    }

    @Test
    void fileShorterThanTheLengthPrefix() throws IOException {
        assertRefused(write(new byte[] {1, 2, 3}), "fewer than the 8-byte header length");
    }

    @Test
    void badJson() throws IOException {
        assertRefused(file("{\"a\":{\"dtype\":\"F32\",", 0), "not valid JSON");
        assertRefused(file("{\"a\" 1}", 0), "not valid JSON");
        assertRefused(file("[1, 2]", 0), "must be a JSON object");
        assertRefused(file(TWO_TENSORS + "{}", 12), "content after");
        assertRefused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 12), "not valid JSON");
        assertRefused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}", 8), "must be a JSON array");
        assertRefused(file("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8), "lacks one of");
        assertRefused(file("{\"__metadata__\":{\"k\":1}}", 0), "metadata value 'k' must be a JSON string");
        byte[] invalidUtf8 = withPrefix(8, "{}      ", 0);
        invalidUtf8[9] = (byte) 0xFF;
        assertRefused(write(invalidUtf8), "not valid UTF-8");
    }

    @Test
    void offsetsOutOfRange() throws IOException {
        assertRefused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[250],\"data_offsets\":[0,1000]}}", 12), "beyond the 12 data bytes");
        assertRefused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 12), "end before they begin");
        assertRefused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 12), "negative");
        assertRefused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 12), "[begin, end]");
    }

    @Test
    void overlappingTensors() throws IOException {
        String overlap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        assertRefused(file(overlap, 12), "overlap");
    }

    @Test
    void unknownDtype() throws IOException {
        assertRefused(file("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "unknown dtype 'F33'");
    }

    @Test
    void shapeDisagreesWithOffsets() throws IOException {
        assertRefused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 12), "span 8 bytes");
        assertRefused(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 12),
                "overflows");
    }

    @Test
    void duplicateNames() throws IOException {
        String dup = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
        assertRefused(file(dup, 8), "names 'a' twice");
    }

    @Test
    void truncatedData() throws IOException {
        byte[] full = bytes(TWO_TENSORS, 12);
        Path p = write(Arrays.copyOf(full, full.length - 4));
        assertRefused(p, "tensor 'b'");
        assertRefused(p, "truncated");
    }

    private void assertRefused(Path p, String problem) {
        var e = assertThrows(SafeTensorsFormatException.class, () -> SafeTensorsFile.open(p).close());
        assertTrue(e.getMessage().contains(p.toString()), "message should name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(problem), "message should say '" + problem + "': " + e.getMessage());
    }

    private int counter;

    private Path file(String json, int dataBytes) throws IOException {
        return write(bytes(json, dataBytes));
    }

    private Path write(byte[] content) throws IOException {
        Path p = dir.resolve("case" + counter++ + ".safetensors");
        Files.write(p, content);
        return p;
    }

    /** A file with {@code json} padded to 8 bytes and {@code dataBytes} of non-zero data. */
    private static byte[] bytes(String json, int dataBytes) {
        byte[] header = padded(json);
        return withPrefix(header.length, json, dataBytes);
    }

    private static byte[] withPrefix(long declaredLength, String json, int dataBytes) {
        var out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(declaredLength).array());
        out.writeBytes(padded(json));
        byte[] data = new byte[dataBytes];
        for (int i = 0; i < dataBytes; i++) data[i] = (byte) (i + 1);
        out.writeBytes(data);
        return out.toByteArray();
    }

    private static byte[] padded(String json) {
        byte[] raw = json.getBytes(StandardCharsets.UTF_8);
        byte[] out = Arrays.copyOf(raw, (raw.length + 7) / 8 * 8);
        Arrays.fill(out, raw.length, out.length, (byte) ' ');
        return out;
    }
}
