package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparsetrain.sparse.Router;
import dev.sparsetrain.sparse.Routing;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernels of sparse_routing.cu run on the CPU ({@code sparse_routing_emulator.cpp}: every CUDA
 * thread a fiber, __syncthreads and the warp ballots and shuffles emulated across the block's
 * threads, guard bytes around every buffer), launched exactly as {@link RoutingKernels#nearest}
 * records them, and compared with {@code Router.route(..., NEAREST, blockRows)}: perm, counts and
 * offsets, with the rows past the padded layout left untouched. Skipped where nvcc is not on the PATH.
 */
class RoutingKernelsEmulationTest {
    private static final long SEED = 20260401L;
    private static final String HARNESS = "sparse_routing_emulator.cpp";
    /** Every output word starts as this NaN bit pattern, which is neither a token nor −1. */
    private static final int POISON = Float.floatToRawIntBits(Float.NaN);
    /** Made-up device addresses of the four buffers, far apart. */
    private static final Map<String, Long> ADDRESSES = new LinkedHashMap<>(Map.of(
            "perm", 0x7a00_0000_0000L, "countsAndOffsets", 0x7b00_0000_0000L, "workspace", 0x7c00_0000_0000L, "scores", 0x7d00_0000_0000L));

    @TempDir
    static Path dir;
    private static Path emulator;

    @BeforeAll
    static void compile() throws Exception {
        Path nvcc = KernelHostProgram.nvcc();
        assumeTrue(nvcc != null, "nvcc is not on the PATH; the routing kernels are emulated where it is (CI)");
        for (String source : RoutingKernels.SOURCES) Files.writeString(dir.resolve(source), KernelSignatures.text(source));
        Path harness = dir.resolve(HARNESS);
        try (InputStream in = RoutingKernelsEmulationTest.class.getResourceAsStream(HARNESS)) {
            if (in == null) throw new IllegalStateException(HARNESS + " is not on the test class path");
            Files.write(harness, in.readAllBytes());
        }
        emulator = dir.resolve("sparse_routing_emulator");
        run(List.of(nvcc.toString(), "-x", "c++", "-std=c++17", "-O2", "-o", emulator.toString(), harness.toString()));
    }

    @Test
    void unevenLoadsWithTiesAndNaNsMatchTheHostRouter() throws Exception {
        // tokens, experts, blockRows, empty expert (-1: none): partial tiles, exactly one tile, a
        // partial round, one token, padding of 1 (none) to 256, and every lane an expert (32).
        int[][] cases = {{5000, 3, 64, -1}, {4096, 2, 256, -1}, {4097, 8, 256, 5}, {9000, 8, 1, -1}, {1, 1, 1, -1},
                {1, 4, 256, -1}, {1100, 32, 64, 17}, {12289, 5, 64, 1}};
        var rng = new SplittableRandom(SEED);
        for (int[] c : cases) {
            Routing routed = check(RoutingScores.of(rng, c[0], c[1], c[3]), c[0], c[1], c[2], "forward");
            if (c[3] >= 0) assertEquals(0, routed.count(c[3]), "expert " + c[3] + " is empty; seed " + SEED);
            if (c[0] > 1000) {
                assertTrue(routed.count(0) > routed.count(c[1] - 1), "the lower experts take more tokens: " + Arrays.toString(routed.load()) + "; seed " + SEED);
            }
        }
    }

    @Test
    void resultDoesNotDependOnTheOrderThreadsRunBetweenBarriers() throws Exception {
        var rng = new SplittableRandom(SEED + 1);
        for (int[] c : new int[][] {{6000, 8, 256}, {4100, 32, 1}}) check(RoutingScores.of(rng, c[0], c[1], -1), c[0], c[1], c[2], "reverse");
    }

    @Test
    void everyTokenOfOneExpertFillsConsecutiveRows() throws Exception {
        int tokens = 8200, experts = 4;
        float[] scores = new float[tokens * experts];
        for (int t = 0; t < tokens; t++) {
            for (int e = 0; e < experts; e++) scores[t * experts + e] = e == 2 ? -1f : t % 7 + e;  // expert 2 wins everywhere
        }
        check(scores, tokens, experts, 64, "forward");
    }

    /** Routes on the emulator and compares with the host router, which it returns; {@code order} is the emulator's thread order. */
    private static Routing check(float[] scores, int tokens, int experts, int blockRows, String order) throws Exception {
        String what = tokens + " tokens, " + experts + " experts, blockRows " + blockRows + ", " + order + " thread order; seed " + SEED;
        Routing expected = Router.route(scores, tokens, experts, Router.Mode.NEAREST, blockRows);
        int capacity = Math.toIntExact(RoutingKernels.permCapacity(tokens, experts, blockRows));
        var l = new RecordingLauncher();
        RoutingKernels.nearest(l, ADDRESSES.get("perm"), ADDRESSES.get("countsAndOffsets"), ADDRESSES.get("workspace"), ADDRESSES.get("scores"),
                tokens, experts, blockRows);

        var buffers = new LinkedHashMap<String, byte[]>();
        buffers.put("perm", poisoned(capacity));
        buffers.put("countsAndOffsets", poisoned(2 * experts + 1));
        buffers.put("workspace", poisoned(Math.toIntExact(RoutingKernels.workspaceBytes(tokens, experts) / 4)));
        buffers.put("scores", SparseOracles.bytes(scores));
        var script = new StringBuilder();
        for (var b : buffers.entrySet()) {
            Files.write(dir.resolve(b.getKey() + ".bin"), b.getValue());
            script.append("buffer ").append(b.getKey()).append(' ').append(b.getValue().length).append('\n');
        }
        for (var launch : l.launches) script.append(line(launch, buffers)).append('\n');
        Files.writeString(dir.resolve("launches.txt"), script);
        run(List.of(emulator.toString(), dir.toString(), order));

        int[] perm = ints(dir.resolve("perm.out")), countsAndOffsets = ints(dir.resolve("countsAndOffsets.out"));
        int[] counts = new int[experts], offsets = new int[experts + 1];
        for (int e = 0; e < experts; e++) counts[e] = expected.count(e);
        for (int e = 0; e <= experts; e++) offsets[e] = expected.offset(e);
        assertArrayEquals(counts, Arrays.copyOf(countsAndOffsets, experts), "counts; " + what);
        assertArrayEquals(offsets, Arrays.copyOfRange(countsAndOffsets, experts, 2 * experts + 1), "offsets; " + what);
        int rows = expected.paddedRows();
        int[] want = expected.perm();
        for (int r = 0; r < rows; r++) {
            if (perm[r] != want[r]) throw new AssertionError("perm[" + r + "]: expected " + want[r] + ", got " + perm[r] + "; " + what);
        }
        for (int r = rows; r < capacity; r++) assertEquals(POISON, perm[r], "perm row " + r + " past the " + rows + " padded rows must stay untouched; " + what);
        return expected;
    }

    /** One launch as a line of the emulator's script, pointers named by the buffer they point into. */
    private static String line(RecordingLauncher.Launch launch, Map<String, byte[]> buffers) {
        var s = new StringBuilder("launch ").append(launch.kernel());
        for (int v : new int[] {launch.gridX(), launch.gridY(), launch.gridZ(), launch.blockX(), launch.blockY(), launch.sharedBytes()}) {
            s.append(' ').append(v);
        }
        s.append(' ').append(launch.args().size());
        for (Object a : launch.args()) {
            switch (a) {
                case Long address -> s.append(" p:").append(bufferAt(address, buffers));
                case Integer v -> s.append(" i:").append(v);
                default -> throw new AssertionError(launch.kernel() + ": argument " + a + " is neither a pointer nor an int");
            }
        }
        return s.toString();
    }

    /** NAME+OFFSET of the buffer holding {@code address}. */
    private static String bufferAt(long address, Map<String, byte[]> buffers) {
        for (var b : ADDRESSES.entrySet()) {
            long offset = address - b.getValue();
            if (offset >= 0 && offset < buffers.get(b.getKey()).length) return b.getKey() + "+" + offset;
        }
        throw new AssertionError("pointer 0x" + Long.toHexString(address) + " is inside none of the test's buffers");
    }

    private static byte[] poisoned(int words) {
        int[] w = new int[words];
        Arrays.fill(w, POISON);
        return SparseOracles.bytes(w);
    }

    private static int[] ints(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        var buffer = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
        int[] out = new int[buffer.remaining()];
        buffer.get(out);
        return out;
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish within 120 s");
        }
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + output);
    }
}
