package dev.sparsetrain.cuda;

import dev.sparsetrain.tensor.Bf16;
import java.util.SplittableRandom;

/**
 * Host-side random bfloat16 data for the checks of the sparse GEMM path: dense values, and rows
 * pruned to exactly two non-zeros in every group of four consecutive elements (2:4 along a row of
 * a row-major matrix whose row length is a multiple of 4).
 */
final class RandomBf16 {
    /** The six ordered position pairs of a 2:4 group. */
    private static final int[][] PAIRS = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};

    private RandomBf16() {}

    /** {@code out[0..count)} = bf16 of uniform values in [-1, 1). */
    static void fill(short[] out, int count, SplittableRandom random) {
        for (int i = 0; i < count; i++) out[i] = Bf16.fromFloat((float) (2 * random.nextDouble() - 1));
    }

    /**
     * {@code out[0..count)}, count a multiple of 4, as groups of four with exactly two non-zeros at
     * random positions. Their magnitudes are at least 1/8, so no product term rounds away and a
     * kept position can never be mistaken for a pruned one.
     */
    static void fillTwoFour(short[] out, int count, SplittableRandom random) {
        if (count % 4 != 0) throw new IllegalArgumentException("2:4 groups need a multiple of 4 elements, got " + count);
        for (int g = 0; g < count; g += 4) {
            int[] pair = PAIRS[random.nextInt(PAIRS.length)];
            for (int j = 0; j < 4; j++) out[g + j] = 0;
            for (int p : pair) {
                double magnitude = 0.125 + 0.875 * random.nextDouble();
                out[g + p] = Bf16.fromFloat((float) (random.nextBoolean() ? magnitude : -magnitude));
            }
        }
    }
}
