package dev.sparsetrain.io.safetensors;

import dev.sparsetrain.tensor.Bf16;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsRoundTripTest {
    private static final long SEED = 20240611L;

    @TempDir
    Path dir;

    @Test
    void f32I32Bf16AndMetadataRoundTrip() throws IOException {
        var rng = new SplittableRandom(SEED);
        float[] weights = randomFloats(rng, 12);
        int[] tokens = rng.ints(5, -1000, 50_000).toArray();
        float[] halfWeights = randomFloats(rng, 6);
        float[] scalar = {rng.nextFloat() + 0.5f};
        var metadata = new LinkedHashMap<String, String>();
        metadata.put("format", "pt");
        metadata.put("step", "100");
        Path file = dir.resolve("m.safetensors");
        SafeTensorsWriter.write(file, List.of(
                SafeTensorsEntry.f32("layers.0.w", new long[] {3, 4}, weights),
                SafeTensorsEntry.i32("tokens", new long[] {5}, tokens),
                SafeTensorsEntry.bf16("layers.0.w_bf16", new long[] {2, 3}, halfWeights),
                SafeTensorsEntry.f32("scale", new long[] {}, scalar),
                SafeTensorsEntry.f32("empty", new long[] {0, 7}, new float[0])), metadata);

        try (var f = SafeTensorsFile.open(file)) {
            assertEquals(List.of("layers.0.w", "tokens", "layers.0.w_bf16", "scale", "empty"),
                    List.copyOf(f.tensors().keySet()));
            assertEquals(metadata, f.metadata());
            TensorInfo w = f.info("layers.0.w");
            assertEquals(new TensorInfo("layers.0.w", SafeTensorsDType.F32, List.of(3L, 4L), 0, 48), w);
            assertEquals(new TensorInfo("tokens", SafeTensorsDType.I32, List.of(5L), 48, 68), f.info("tokens"));
            assertEquals(new TensorInfo("layers.0.w_bf16", SafeTensorsDType.BF16, List.of(2L, 3L), 68, 80),
                    f.info("layers.0.w_bf16"));
            assertEquals(List.of(), f.info("scale").shape());
            assertEquals(1, f.info("scale").numel());

            assertArrayEquals(weights, f.readFloats("layers.0.w"), "seed " + SEED);
            assertArrayEquals(tokens, f.readInts("tokens"), "seed " + SEED);
            float[] rounded = f.readFloats("layers.0.w_bf16");
            for (int i = 0; i < halfWeights.length; i++) {
                assertEquals(Bf16.toFloat(Bf16.fromFloat(halfWeights[i])), rounded[i], "seed " + SEED + " i " + i);
                assertEquals(halfWeights[i], rounded[i], Math.abs(halfWeights[i]) / 256, "seed " + SEED + " i " + i);
            }
            assertArrayEquals(scalar, f.readFloats("scale"));
            assertEquals(0, f.readFloats("empty").length);
        }
    }

    @Test
    void slicesOfAFlatBufferWriteAndReadInPlace() throws IOException {
        var rng = new SplittableRandom(SEED + 1);
        float[] flat = randomFloats(rng, 30);
        Path file = dir.resolve("flat.safetensors");
        SafeTensorsWriter.write(file, List.of(
                SafeTensorsEntry.f32("a", new long[] {2, 5}, flat, 0),
                SafeTensorsEntry.f32("b", new long[] {20}, flat, 10)), Map.of());
        float[] back = new float[34];
        Arrays.fill(back, Float.NaN);
        try (var f = SafeTensorsFile.open(file)) {
            assertEquals(Map.of(), f.metadata());
            f.readFloats("b", back, 3);
            f.readFloats("a", back, 23);
        }
        for (int i = 0; i < 3; i++) assertTrue(Float.isNaN(back[i]), "element before the slice was written");
        assertArrayEquals(Arrays.copyOfRange(flat, 10, 30), Arrays.copyOfRange(back, 3, 23), "seed " + (SEED + 1));
        assertArrayEquals(Arrays.copyOfRange(flat, 0, 10), Arrays.copyOfRange(back, 23, 33), "seed " + (SEED + 1));
        assertTrue(Float.isNaN(back[33]), "element after the slice was written");
    }

    @Test
    void tensorsLargerThanTheStreamingBufferRoundTrip() throws IOException {
        var rng = new SplittableRandom(SEED + 2);
        // 1 MiB buffers: these span several chunks, with a partial last one.
        float[] big = randomFloats(rng, 700_003);
        int[] ids = rng.ints(300_001).toArray();
        Path file = dir.resolve("big.safetensors");
        SafeTensorsWriter.write(file, List.of(
                SafeTensorsEntry.bf16("h", new long[] {700_003}, big),
                SafeTensorsEntry.f32("f", new long[] {700_003}, big),
                SafeTensorsEntry.i32("i", new long[] {300_001}, ids)), Map.of());
        assertEquals(8 + headerLength(file) + 700_003L * 6 + 300_001L * 4, Files.size(file));
        try (var f = SafeTensorsFile.open(file)) {
            assertArrayEquals(big, f.readFloats("f"), "seed " + (SEED + 2));
            assertArrayEquals(ids, f.readInts("i"), "seed " + (SEED + 2));
            float[] h = f.readFloats("h");
            for (int i = 0; i < big.length; i++) {
                if (Bf16.toFloat(Bf16.fromFloat(big[i])) != h[i]) {
                    throw new AssertionError("seed " + (SEED + 2) + ": bf16 element " + i + " is " + h[i]);
                }
            }
        }
    }

    @Test
    void misuseIsReportedClearly() throws IOException {
        float[] two = {1, 2};
        var e = assertThrows(IllegalArgumentException.class, () -> SafeTensorsEntry.f32("w", new long[] {3}, two));
        assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("3 elements"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SafeTensorsEntry.f32("w", new long[] {2}, two, 1));
        assertThrows(IllegalArgumentException.class, () -> SafeTensorsEntry.f32("__metadata__", new long[] {2}, two));
        assertThrows(IllegalArgumentException.class, () -> SafeTensorsWriter.write(dir.resolve("dup.safetensors"),
                List.of(SafeTensorsEntry.f32("w", new long[] {2}, two), SafeTensorsEntry.f32("w", new long[] {2}, two)),
                Map.of()));

        Path file = dir.resolve("ok.safetensors");
        SafeTensorsWriter.write(file, List.of(SafeTensorsEntry.i32("ids", new long[] {2}, new int[] {4, 5})), Map.of());
        try (var f = SafeTensorsFile.open(file)) {
            var missing = assertThrows(IllegalArgumentException.class, () -> f.readFloats("nope"));
            assertTrue(missing.getMessage().contains("'nope'") && missing.getMessage().contains(file.toString()),
                    missing.getMessage());
            var type = assertThrows(IllegalArgumentException.class, () -> f.readFloats("ids"));
            assertTrue(type.getMessage().contains("I32"), type.getMessage());
            assertThrows(IllegalArgumentException.class, () -> f.readFloats("ids", new float[1], 0));
        }
    }

    private static long headerLength(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return ByteBuffer.wrap(in.readNBytes(8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        }
    }

    private static float[] randomFloats(SplittableRandom rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rng.nextGaussian() * 0.02 + (i % 7 == 0 ? 1 : 0));
        return a;
    }
}
