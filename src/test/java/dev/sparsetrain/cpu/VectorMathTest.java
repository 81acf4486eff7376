package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class VectorMathTest {
    static final long SEED = 99L;

    @Test
    void expMatchesMathExpToAFewUlpsAndTheScalarTailIsBitIdentical() {
        SplittableRandom r = new SplittableRandom(SEED);
        int n = 20_003; // not a multiple of any vector length: exercises the scalar tail
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextDouble() * 175 - 87);
        Arrays.fill(y, Float.NaN);
        VectorMath.exp(x, 0, y, 0, n, 1f, 0f);
        for (int i = 0; i < n; i++) {
            double want = Math.exp(x[i]);
            assertTrue(Math.abs(y[i] - want) <= 4 * Math.ulp((float) want), "seed " + SEED + " exp(" + x[i] + ") = " + y[i] + ", want " + want);
            assertEquals(Float.floatToIntBits(VectorMath.exp(x[i])), Float.floatToIntBits(y[i]), "vector lane vs scalar at " + x[i]);
        }
        float[] z = {2f, 4f, 6f};
        VectorMath.exp(z, 0, z, 0, 3, 0.5f, 1f); // in place, affine: exp(z/2 − 1)
        assertEquals(1f, z[0], 1e-6f);
        assertEquals((float) Math.E, z[1], 1e-6f);
    }

    @Test
    void edgesSaturateAndNaNPropagates() {
        assertTrue(VectorMath.exp(100f) > 3e38f && Float.isFinite(VectorMath.exp(100f)));
        assertTrue(VectorMath.exp(-100f) >= 0 && VectorMath.exp(-100f) < 2e-38f);
        assertTrue(Float.isNaN(VectorMath.exp(Float.NaN)));
        assertEquals(1f, VectorMath.exp(0f));
    }

    @Test
    void lanesAreSummedInDoubleAsAFixedTree() {
        var p = FloatVector.SPECIES_PREFERRED;
        int n = p.length();
        float[] x = new float[n];
        SplittableRandom r = new SplittableRandom(SEED);
        for (int t = 0; t < 1000; t++) {
            double want = 0;
            for (int i = 0; i < n; i++) want += x[i] = (float) r.nextGaussian();
            assertEquals(want, VectorMath.sumInDouble(FloatVector.fromArray(p, x, 0)), 1e-12, "seed " + SEED);
        }
    }
}
