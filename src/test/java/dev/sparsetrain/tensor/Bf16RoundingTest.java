package dev.sparsetrain.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class Bf16RoundingTest {
    private static float round(float x) {
        return Bf16.toFloat(Bf16.fromFloat(x));
    }

    @Test
    void representableValuesAreExact() {
        for (float x : new float[] {0f, -0f, 1f, -2.5f, 0.15625f, 256f, 0x1p-130f}) {
            assertEquals(x, round(x), "x = " + x);
        }
        assertEquals((short) 0x3F80, Bf16.fromFloat(1f));
    }

    @Test
    void halfwayRoundsToEven() {
        assertEquals(1f, round(1f + 0x1p-8f), "1 + 2^-8 lies between 1 (even) and 1 + 2^-7");
        assertEquals(1f + 0x1p-6f, round(1f + 0x1p-7f + 0x1p-8f), "between 1 + 2^-7 (odd) and 1 + 2^-6");
        assertEquals(-1f, round(-1f - 0x1p-8f), "negative ties too");
    }

    @Test
    void aboveHalfwayRoundsUp() {
        assertEquals(1f + 0x1p-7f, round(1f + 0x1p-8f + 0x1p-20f));
    }

    @Test
    void specialValues() {
        assertTrue(Float.isNaN(round(Float.NaN)), "NaN stays NaN");
        assertTrue(Float.isNaN(round(Float.intBitsToFloat(0x7F80_0001))), "a NaN with low payload bits stays NaN");
        assertEquals(Float.POSITIVE_INFINITY, round(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, round(Float.MAX_VALUE), "overflow rounds to infinity");
        assertEquals(Float.NEGATIVE_INFINITY, round(-Float.MAX_VALUE));
    }
}
