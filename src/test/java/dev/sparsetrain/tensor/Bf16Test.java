package dev.sparsetrain.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Bf16Test {
    @Test
    void knownValuesRoundToNearestEven() {
        assertBits(0x3F80, 1.0f);
        assertBits(0xBF80, -1.0f);
        // 1/3 = 0x3EAAAAAB: the dropped half 0xAAAB is above 0x8000, so it rounds up.
        assertBits(0x3EAB, 1.0f / 3.0f);
        // Exact ties go to the even neighbour: 0x3F80|8000 down to 0x3F80, 0x3F81|8000 up to 0x3F82.
        assertBits(0x3F80, Float.intBitsToFloat(0x3F808000));
        assertBits(0x3F82, Float.intBitsToFloat(0x3F818000));
        // Just above a tie rounds up, just below rounds down.
        assertBits(0x3F81, Float.intBitsToFloat(0x3F808001));
        assertBits(0x3F80, Float.intBitsToFloat(0x3F807FFF));
        // The largest float is closer to 2^128 than to the largest bfloat16, so it becomes infinity.
        assertBits(0x7F80, Float.MAX_VALUE);
        assertBits(0xFF80, -Float.MAX_VALUE);
        assertBits(0x7F80, Float.POSITIVE_INFINITY);
        assertBits(0x0000, 0.0f);
        assertBits(0x8000, -0.0f);
    }

    @Test
    void nanStaysNan() {
        assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.NaN))));
        // A NaN whose payload lies only in the 16 bits that are dropped must not turn into infinity.
        assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x7F800001)))));
        short negative = Bf16.fromFloat(Float.intBitsToFloat(0xFF800001));
        assertTrue(Float.isNaN(Bf16.toFloat(negative)));
        assertEquals(0x8000, negative & 0x8000, "sign kept");
    }

    @Test
    void roundingErrorIsAtMostHalfAnUlp() {
        long seed = 0xBF16L;
        var rng = new SplittableRandom(seed);
        for (int i = 0; i < 100_000; i++) {
            float f = (float) ((rng.nextDouble() - 0.5) * Math.pow(2, rng.nextInt(-30, 30)));
            float r = Bf16.toFloat(Bf16.fromFloat(f));
            // bfloat16 keeps 8 significant bits, so half an ulp is 2^-8 relative to the exponent's power of two.
            double halfUlp = Math.scalb(1.0, Math.getExponent(f) - 8);
            assertTrue(Math.abs(r - f) <= halfUlp, "seed " + seed + ": " + f + " -> " + r);
        }
    }

    private static void assertBits(int expected, float f) {
        assertEquals(expected, Bf16.fromFloat(f) & 0xFFFF,
                () -> String.format("bf16 bits of %s (0x%08X)", f, Float.floatToRawIntBits(f)));
    }
}
