package dev.sparsetrain.cuda.selftest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ComparisonTest {

    @Test
    void relativeErrorIsMeasuredAgainstTheValueOrOnePercentOfTheLargest() {
        float[] want = {100f, 0.001f, -50f};
        float[] got = {100.005f, 0.0015f, -50f};
        CheckRow r = Comparison.compare("op", "[3]", got, want, 1e-4);
        // Element 0: 0.005/100 = 5e-5. Element 1: 0.0005 against the floor 1.0 = 5e-4: the largest.
        assertEquals(5e-4, r.maxRelError(), 1e-6);
        assertEquals(0.005, r.maxAbsError(), 1e-5);
        assertFalse(r.passed());
        assertTrue(Comparison.compare("op", "[3]", got, want, 1e-3).passed());
    }

    @Test
    void nanWhereTheReferenceIsFiniteFails() {
        CheckRow r = Comparison.compare("op", "[2]", new float[] {1f, Float.NaN}, new float[] {1f, 2f}, 1e-4);
        assertFalse(r.passed());
        assertEquals(Double.POSITIVE_INFINITY, r.maxRelError());
    }

    @Test
    void differentLengthsFailWithAMessage() {
        CheckRow r = Comparison.compare("op", "[2]", new float[] {1f}, new float[] {1f, 2f}, 1e-4);
        assertFalse(r.passed());
        assertTrue(r.error().contains("length 1"), r.error());
    }

    @Test
    void scalarsCompareRelatively() {
        assertTrue(Comparison.compareScalar("sum", "", 1000.05, 1000.0, 1e-4).passed());
        assertFalse(Comparison.compareScalar("sum", "", 1000.2, 1000.0, 1e-4).passed());
    }
}
