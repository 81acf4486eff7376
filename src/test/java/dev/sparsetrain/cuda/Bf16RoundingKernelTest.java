package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparsetrain.tensor.Bf16;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fp32 → bf16 rounding of convert.cu, bit for bit against {@link Bf16#fromFloat} (the Java twin of
 * the same rule), without a GPU: the .cu's rounding function is {@code __host__ __device__}, so nvcc
 * compiles it into a small host program that converts the test values here. Skipped where nvcc is not
 * on the PATH.
 */
class Bf16RoundingKernelTest {
    private static final long SEED = 20261128L;

    /** Specials, exact ties (halfway, with an even and with an odd kept bit) and their neighbours, and seeded random bit patterns. */
    static List<Integer> values() {
        var bits = new ArrayList<Integer>(List.of(
                0x00000000, 0x80000000,                          // ±0
                0x7F800000, 0xFF800000,                          // ±infinity
                0x7FC00000, 0xFFC00000,                          // quiet NaNs
                0x7F800001, 0xFF800001, 0x7F80FFFF, 0x7FBF0000,  // signalling NaNs whose payload is only in the dropped bits
                0x7FFFFFFF, 0xFFFFFFFF,                          // NaNs that would carry into the sign if rounded like numbers
                0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F8000, 0x7F7F7FFF,  // largest floats: round to infinity, tie, just below
                0x00000001, 0x807FFFFF, 0x00008000, 0x00018000,  // subnormals, including ties
                0x3F800000, 0x3F808000, 0x3F818000, 0x3F807FFF, 0x3F808001, 0xBF808000, 0xBF818000));
        var random = new SplittableRandom(SEED);
        for (int i = 0; i < 120; i++) {
            int high = random.nextInt() & 0xFFFF0000;
            bits.add(high | 0x8000);                 // an exact tie
            bits.add(high | random.nextInt(0x10000)); // anything
        }
        for (int i = 0; i < 100; i++) bits.add(Float.floatToRawIntBits((float) random.nextGaussian()));
        return bits;
    }

    @Test
    void deviceRoundingMatchesBf16FromFloatOnEveryValue(@TempDir Path dir) throws Exception {
        Path nvcc = onPath("nvcc");
        assumeTrue(nvcc != null, "nvcc is not on the PATH; the conversion's rounding is checked where it is (CI)");
        Path harness = dir.resolve("round.cu");
        Files.writeString(harness, "#include <cstdio>\n" + KernelSignatures.text("convert.cu") + """

                int main() {
                    unsigned int bits;
                    while (std::scanf("%x", &bits) == 1) {
                        union { unsigned int u; float f; } v;
                        v.u = bits;
                        std::printf("%04x\\n", (unsigned int) bf16_bits_round_nearest_even(v.f));
                    }
                    return 0;
                }
                """);
        Path program = dir.resolve("round");
        run(List.of(nvcc.toString(), "-std=c++17", "-o", program.toString(), harness.toString()), "");

        List<Integer> values = values();
        var input = new StringBuilder();
        for (int b : values) input.append(Integer.toHexString(b)).append('\n');
        String[] lines = run(List.of(program.toString()), input.toString()).strip().split("\n");

        assertEquals(values.size(), lines.length, "one result per value; seed " + SEED);
        assertTrue(values.size() >= 300, "a few hundred values");
        for (int i = 0; i < lines.length; i++) {
            int b = values.get(i);
            int want = Bf16.fromFloat(Float.intBitsToFloat(b)) & 0xFFFF;
            assertEquals(want, Integer.parseInt(lines[i].strip(), 16),
                    "bf16 of float bits 0x" + Integer.toHexString(b) + " (" + Float.intBitsToFloat(b) + "); seed " + SEED);
        }
    }

    @Test
    void theJavaTwinRoundsTiesToEvenAndKeepsNaNsNaN() {
        // The rule both sides implement, pinned on the cases that distinguish it from truncation.
        assertEquals((short) 0x3F80, Bf16.fromFloat(Float.intBitsToFloat(0x3F808000)), "tie with an even kept bit stays");
        assertEquals((short) 0x3F82, Bf16.fromFloat(Float.intBitsToFloat(0x3F818000)), "tie with an odd kept bit rounds up");
        assertEquals((short) 0x3F81, Bf16.fromFloat(Float.intBitsToFloat(0x3F808001)), "above the tie rounds up");
        assertEquals((short) 0x7F80, Bf16.fromFloat(Float.intBitsToFloat(0x7F7FFFFF)), "the largest float rounds to infinity");
        assertEquals((short) 0x7FC0, Bf16.fromFloat(Float.intBitsToFloat(0x7F800001)), "a NaN with a low payload stays NaN");
        assertEquals((short) 0xFFFF, Bf16.fromFloat(Float.intBitsToFloat(0xFFFFFFFF)), "a NaN keeps its sign and top bits");
    }

    private static String run(List<String> command, String input) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try (var in = p.getOutputStream()) {
            in.write(input.getBytes(StandardCharsets.US_ASCII));
        }
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish within 120 s");
        }
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + output);
        return output;
    }

    private static Path onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) return candidate;
        }
        return null;
    }
}
