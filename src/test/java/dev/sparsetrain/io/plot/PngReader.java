package dev.sparsetrain.io.plot;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/** An independent, strict decoder for the PNG subset our encoder writes, used to check its output. */
final class PngReader {
    record Image(int width, int height, byte[] rgb) {
        int get(int x, int y) {
            int i = (y * width + x) * 3;
            return (rgb[i] & 0xFF) << 16 | (rgb[i + 1] & 0xFF) << 8 | rgb[i + 2] & 0xFF;
        }

        int count(int color) {
            int n = 0;
            for (int y = 0; y < height; y++) for (int x = 0; x < width; x++) if (get(x, y) == color) n++;
            return n;
        }
    }

    private PngReader() {}

    static Image decode(byte[] png) {
        byte[] magic = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
        assertArrayEquals(magic, java.util.Arrays.copyOf(png, 8), "PNG signature");
        ByteBuffer b = ByteBuffer.wrap(png, 8, png.length - 8);
        List<String> types = new ArrayList<>();
        var idat = new ByteArrayOutputStream();
        int width = -1, height = -1;
        while (b.hasRemaining()) {
            int length = b.getInt();
            byte[] typeBytes = new byte[4];
            b.get(typeBytes);
            byte[] data = new byte[length];
            b.get(data);
            int crc = b.getInt();
            var expected = new CRC32();
            expected.update(typeBytes);
            expected.update(data);
            String type = new String(typeBytes, StandardCharsets.US_ASCII);
            assertEquals((int) expected.getValue(), crc, "CRC of chunk " + type);
            types.add(type);
            switch (type) {
                case "IHDR" -> {
                    ByteBuffer h = ByteBuffer.wrap(data);
                    width = h.getInt();
                    height = h.getInt();
                    assertEquals(8, h.get(), "bit depth");
                    assertEquals(2, h.get(), "colour type RGB");
                    assertEquals(0, h.get(), "compression");
                    assertEquals(0, h.get(), "filter method");
                    assertEquals(0, h.get(), "interlace");
                }
                case "IDAT" -> idat.writeBytes(data);
                default -> { }
            }
        }
        assertEquals("IHDR", types.getFirst());
        assertEquals("IEND", types.getLast());
        assertTrue(types.contains("IDAT"));
        byte[] raw = inflate(idat.toByteArray());
        int stride = width * 3;
        assertEquals((stride + 1) * height, raw.length, "decompressed size");
        byte[] rgb = new byte[stride * height];
        for (int y = 0; y < height; y++) {
            assertEquals(0, raw[y * (stride + 1)], "filter type of row " + y);
            System.arraycopy(raw, y * (stride + 1) + 1, rgb, y * stride, stride);
        }
        return new Image(width, height, rgb);
    }

    private static byte[] inflate(byte[] data) {
        var inflater = new Inflater();
        inflater.setInput(data);
        var out = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        try {
            while (!inflater.finished()) {
                int n = inflater.inflate(buf);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new AssertionError("IDAT stream ends early");
                }
                out.write(buf, 0, n);
            }
        } catch (DataFormatException e) {
            throw new AssertionError("IDAT is not a valid zlib stream", e);
        } finally {
            inflater.end();
        }
        return out.toByteArray();
    }
}
