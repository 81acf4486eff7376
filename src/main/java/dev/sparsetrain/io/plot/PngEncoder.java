package dev.sparsetrain.io.plot;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Encodes an {@link RgbImage} as a PNG (8-bit truecolour, no interlace) using only java.util.zip, so
 * plots work on a runtime without {@code java.desktop}. Every row uses filter type 0: plot images are
 * mostly runs of one colour, which deflate compresses well without prediction.
 */
final class PngEncoder {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    private static final int COLOR_TYPE_RGB = 2;

    private PngEncoder() {}

    static byte[] encode(RgbImage image) {
        var out = new ByteArrayOutputStream();
        out.writeBytes(SIGNATURE);
        ByteBuffer ihdr = ByteBuffer.allocate(13)
                .putInt(image.width()).putInt(image.height())
                .put((byte) 8).put((byte) COLOR_TYPE_RGB)
                .put((byte) 0).put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IDAT", compress(image));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static byte[] compress(RgbImage image) {
        int stride = image.width() * 3;
        byte[] pixels = image.pixels();
        byte[] raw = new byte[(stride + 1) * image.height()];
        for (int y = 0; y < image.height(); y++) {
            // raw[y * (stride + 1)] stays 0: filter type "None".
            System.arraycopy(pixels, y * stride, raw, y * (stride + 1) + 1, stride);
        }
        var deflater = new Deflater(Deflater.BEST_COMPRESSION);
        try {
            deflater.setInput(raw);
            deflater.finish();
            var out = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            while (!deflater.finished()) out.write(buf, 0, deflater.deflate(buf));
            return out.toByteArray();
        } finally {
            deflater.end();
        }
    }

    /** Writes length, type, data and the CRC-32 of type and data, as every PNG chunk is framed. */
    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        var crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(typeBytes);
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
