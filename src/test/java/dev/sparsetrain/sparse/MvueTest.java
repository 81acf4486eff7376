package dev.sparsetrain.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MvueTest {
    private static final float[] X = {1, -3, 0.5f, 2};

    @Test
    void inclusionProbabilitiesOfTheOracleGroup() {
        double[] p = Mvue.inclusionProbabilities(X, 0);
        double[] expected = {0.3669, 0.7890, 0.1910, 0.6530};
        for (int i = 0; i < 4; i++) assertEquals(expected[i], p[i], 1e-4, "p" + i);
        assertEquals(2, Arrays.stream(p).sum(), 1e-12, "two indices are always drawn");
    }

    @Test
    void meanOverManyDrawsMatchesTheInput() {
        long seed = 101;
        int draws = 200_000;
        float[] x = new float[draws * 4];
        for (int i = 0; i < draws; i++) System.arraycopy(X, 0, x, 4 * i, 4);
        float[] out = TestData.poisoned(x.length);
        Mvue.apply(x, draws, 4, seed, out);
        for (int i = 0; i < 4; i++) {
            double sum = 0;
            for (int r = 0; r < draws; r++) sum += out[4 * r + i];
            double mean = sum / draws;
            assertEquals(X[i], mean, 0.01 * Math.abs(X[i]), "element " + i + ", seed " + seed);
        }
    }

    @Test
    void keepsExactlyTwoPerGroupScaledByTheirProbabilities() {
        long seed = 102;
        int rows = 16, cols = 32;
        float[] x = TestData.uniform(new SplittableRandom(seed), rows * cols);
        float[] out = TestData.poisoned(x.length);
        Mvue.apply(x, rows, cols, seed, out);
        for (int base = 0; base < x.length; base += 4) {
            double[] p = Mvue.inclusionProbabilities(x, base);
            int kept = 0;
            for (int i = 0; i < 4; i++) {
                if (out[base + i] != 0) {
                    kept++;
                    assertEquals(x[base + i] / p[i], out[base + i], 1e-5 * Math.abs(out[base + i]), "element " + (base + i));
                }
            }
            assertEquals(2, kept, "group " + base / 4 + ", seed " + seed);
        }
    }

    @Test
    void drawsDependOnlyOnTheSeed() {
        long seed = 103;
        float[] x = TestData.uniform(new SplittableRandom(seed), 64 * 16);
        float[] a = TestData.poisoned(x.length), b = TestData.poisoned(x.length), c = TestData.poisoned(x.length);
        Mvue.apply(x, 64, 16, 5, a);
        Mvue.apply(x, 64, 16, 5, b);
        Mvue.apply(x, 64, 16, 6, c);
        assertTrue(Arrays.equals(a, b), "same seed, same draws");
        assertFalse(Arrays.equals(a, c), "another seed, other draws");
    }
}
