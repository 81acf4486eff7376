package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

class VectorMathTest {
    static final long SEED = 99L;

    @Test
    void expMatchesMathExpToAFewUlpsOnEverySpecies() {
        SplittableRandom r = new SplittableRandom(SEED);
        for (VectorSpecies<Float> s : new VectorSpecies[] {FloatVector.SPECIES_128, FloatVector.SPECIES_256, FloatVector.SPECIES_512}) {
            float[] x = new float[s.length()], y = new float[s.length()];
            for (int trial = 0; trial < 20000; trial++) {
                for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 175 - 87);
                VectorMath.exp(FloatVector.fromArray(s, x, 0)).intoArray(y, 0);
                for (int i = 0; i < x.length; i++) {
                    double want = Math.exp(x[i]);
                    assertTrue(Math.abs(y[i] - want) <= 4 * Math.ulp((float) want), "seed " + SEED + " exp(" + x[i] + ") = " + y[i] + ", want " + want);
                }
            }
        }
    }

    @Test
    void edgesOverflowUnderflowAndNaN() {
        var s = FloatVector.SPECIES_128;
        float[] x = {100f, -100f, Float.NaN, 0f}, y = new float[4];
        VectorMath.exp(FloatVector.fromArray(s, x, 0)).intoArray(y, 0);
        assertEquals(Float.POSITIVE_INFINITY, y[0]);
        assertEquals(0f, y[1]);
        assertTrue(Float.isNaN(y[2]));
        assertEquals(1f, y[3]);
    }
}
