package dev.sparsetrain.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Array assertions shared by the model tests. */
final class TestArrays {
    private TestArrays() {}

    /** Every element finite: catches outputs left unwritten over a NaN poison. */
    static void assertAllFinite(float[] values, String what) {
        for (int j = 0; j < values.length; j++) {
            assertTrue(Float.isFinite(values[j]), what + ": element " + j + " is " + values[j] + " (unwritten or overflowed)");
        }
    }

    /** Elementwise |a − e| ≤ tol·max|e| (gradients span a wide range; relative to the scale is the meaningful bound). */
    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what);
        double bound = tol * maxAbs(expected);
        for (int j = 0; j < expected.length; j++) {
            assertTrue(Math.abs(expected[j] - actual[j]) <= bound,
                    what + ": element " + j + " expected " + expected[j] + " got " + actual[j] + " (bound " + bound + ")");
        }
    }

    static double maxAbs(float[] x) {
        double m = 0;
        for (float v : x) m = Math.max(m, Math.abs(v));
        return m;
    }
}
