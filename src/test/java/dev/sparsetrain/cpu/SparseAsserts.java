package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Array comparisons of the sparse kernel tests. */
final class SparseAsserts {
    private SparseAsserts() {}

    /** max|actual − expected| ≤ tol·max|expected|, every element finite, and expected not all zero. */
    static void assertRelClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 0;
        for (float e : expected) scale = Math.max(scale, Math.abs(e));
        assertTrue(scale > 0, what + ": the expected values are all zero, so the comparison proves nothing");
        for (int j = 0; j < expected.length; j++) {
            assertTrue(Float.isFinite(actual[j]), what + ": element " + j + " is " + actual[j] + " (unwritten?)");
            assertTrue(Math.abs(actual[j] - expected[j]) <= tol * scale,
                    what + ": element " + j + " expected " + expected[j] + " got " + actual[j] + " (scale " + scale + ")");
        }
    }

    static void assertRelClose(double expected, double actual, double tol, String what) {
        assertTrue(Math.abs(actual - expected) <= tol * Math.max(Math.abs(expected), 1e-30),
                what + ": expected " + expected + " got " + actual);
    }
}
