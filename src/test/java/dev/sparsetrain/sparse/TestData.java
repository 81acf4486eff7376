package dev.sparsetrain.sparse;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Random inputs and poisoned outputs for the sparse tests. */
final class TestData {
    private TestData() {}

    /** Uniform values in [−1, 1), never all zero. */
    static float[] uniform(SplittableRandom rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (rng.nextDouble() * 2 - 1);
        return a;
    }

    /** An array of NaN, so an element the code under test fails to write shows up. */
    static float[] poisoned(int n) {
        float[] a = new float[n];
        Arrays.fill(a, Float.NaN);
        return a;
    }

    /** A byte array of 0x7F, which is neither a valid mask nor a valid nibble. */
    static byte[] poisonedBytes(int n) {
        byte[] a = new byte[n];
        Arrays.fill(a, (byte) 0x7F);
        return a;
    }

    /**
     * A rows×cols 2:4 matrix whose groups hold 0, 1 or 2 non-zeros at random positions (never all
     * zero: the first group holds two).
     */
    static float[] twoFour(SplittableRandom rng, int rows, int cols) {
        float[] a = new float[rows * cols];
        for (int base = 0; base < a.length; base += 4) {
            int keep = base == 0 ? 2 : rng.nextInt(3);
            int[] positions = {0, 1, 2, 3};
            shuffle(rng, positions);
            for (int j = 0; j < keep; j++) a[base + positions[j]] = (float) (rng.nextDouble() + 0.5) * (rng.nextBoolean() ? 1 : -1);
        }
        return a;
    }

    /** A random permutation of 0..n−1. */
    static int[] permutation(SplittableRandom rng, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        shuffle(rng, p);
        return p;
    }

    static void shuffle(SplittableRandom rng, int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1), t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** Frobenius-norm relative error ‖actual − expected‖ / ‖expected‖. */
    static double relativeError(float[] actual, double[] expected) {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            diff += (actual[i] - expected[i]) * (actual[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        return Math.sqrt(diff / norm);
    }
}
