package dev.sparsetrain.io.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exact bytes the Python reference implementation writes for a tiny file, spelled out by hand. */
class SafeTensorsLayoutTest {
    @TempDir
    Path dir;

    @Test
    void tinyFileMatchesThePythonLayoutByteForByte() throws IOException {
        Path file = dir.resolve("tiny.safetensors");
        SafeTensorsWriter.write(file, List.of(
                SafeTensorsEntry.f32("a", new long[] {2}, new float[] {1.0f, -2.0f}),
                SafeTensorsEntry.i32("b", new long[] {1}, new int[] {7}),
                SafeTensorsEntry.bf16("c", new long[] {1}, new float[] {1.0f / 3.0f})), Map.of("format", "pt"));

        // Compact JSON, metadata first, tensors in data order: 195 bytes, padded with 5 spaces to 200.
        String json = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                + "\"c\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[12,14]}}";
        var expected = new ByteArrayOutputStream();
        // Header length 200 = 0xC8 as an unsigned 64-bit little-endian integer.
        expected.writeBytes(new byte[] {(byte) 0xC8, 0, 0, 0, 0, 0, 0, 0});
        expected.writeBytes(json.getBytes(StandardCharsets.US_ASCII));
        expected.writeBytes("     ".getBytes(StandardCharsets.US_ASCII));
        // a: 1.0f = 0x3F800000 and -2.0f = 0xC0000000, little-endian.
        expected.writeBytes(new byte[] {0x00, 0x00, (byte) 0x80, 0x3F, 0x00, 0x00, 0x00, (byte) 0xC0});
        // b: 7 as a little-endian int32.
        expected.writeBytes(new byte[] {0x07, 0x00, 0x00, 0x00});
        // c: 1/3 = 0x3EAAAAAB rounds to bfloat16 0x3EAB, little-endian.
        expected.writeBytes(new byte[] {(byte) 0xAB, 0x3E});

        assertArrayEquals(expected.toByteArray(), Files.readAllBytes(file));
    }
}
