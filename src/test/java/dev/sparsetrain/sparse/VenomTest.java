package dev.sparsetrain.sparse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class VenomTest {
    private static final int[][] PATTERNS = {{2, 4}, {4, 8}, {8, 16}, {4, 12}, {16, 32}};

    /** A random dense V:2:M matrix: per block ≤ 4 random columns, per row 0–2 of them non-zero. */
    private static float[] randomVenom(SplittableRandom rng, int rows, int cols, int v, int m) {
        float[] a = new float[rows * cols];
        for (int row0 = 0; row0 < rows; row0 += v) {
            for (int col0 = 0; col0 < cols; col0 += m) {
                int[] offsets = TestData.permutation(rng, m);
                for (int r = row0; r < row0 + v; r++) {
                    int[] four = {0, 1, 2, 3};
                    TestData.shuffle(rng, four);
                    int keep = r == 0 ? 2 : rng.nextInt(3);
                    for (int j = 0; j < keep; j++) {
                        a[r * cols + col0 + offsets[four[j]]] = (float) (rng.nextDouble() * 2 - 1);
                    }
                }
            }
        }
        return a;
    }

    /** A random packed matrix built directly from the format's arrays. */
    private static VenomMatrix randomPacked(SplittableRandom rng, int rows, int cols, int v, int m) {
        int groups = cols / m;
        int[] columns = new int[rows / v * groups * 4];
        for (int b = 0; b < columns.length; b += 4) {
            int[] offsets = TestData.permutation(rng, m);
            Arrays.sort(offsets, 0, 4);
            System.arraycopy(offsets, 0, columns, b, 4);
        }
        byte[] nibbles = new byte[rows * groups];
        int[] valid = {0x4, 0x8, 0x9, 0xC, 0xD, 0xE};
        for (int i = 0; i < nibbles.length; i++) nibbles[i] = (byte) valid[rng.nextInt(valid.length)];
        return new VenomMatrix(rows, cols, v, m, TestData.uniform(rng, rows * groups * 2), nibbles, columns);
    }

    @Test
    void packThenUnpackIsTheIdentity() {
        long seed = 51;
        var rng = new SplittableRandom(seed);
        for (int[] p : PATTERNS) {
            int v = p[0], m = p[1], rows = 2 * v, cols = 3 * m;
            float[] a = randomVenom(rng, rows, cols, v, m);
            float[] back = TestData.poisoned(a.length);
            Venom.unpack(Venom.pack(a, rows, cols, v, m), back);
            assertArrayEquals(a, back, v + ":2:" + m + ", seed " + seed);
        }
    }

    @Test
    void everyPackedMatrixIsV2M() {
        long seed = 52;
        var rng = new SplittableRandom(seed);
        for (int[] p : PATTERNS) {
            int v = p[0], m = p[1], rows = 3 * v, cols = 2 * m;
            float[] a = TestData.poisoned(rows * cols);
            Venom.unpack(randomPacked(rng, rows, cols, v, m), a);
            // Count directly rather than trusting the validator under test.
            for (int row0 = 0; row0 < rows; row0 += v) {
                for (int col0 = 0; col0 < cols; col0 += m) {
                    int usedColumns = 0;
                    for (int c = col0; c < col0 + m; c++) {
                        boolean any = false;
                        for (int r = row0; r < row0 + v; r++) any |= a[r * cols + c] != 0;
                        if (any) usedColumns++;
                    }
                    assertTrue(usedColumns <= 4, usedColumns + " columns in block (" + row0 + "," + col0 + "), seed " + seed);
                    for (int r = row0; r < row0 + v; r++) {
                        int nz = 0;
                        for (int c = col0; c < col0 + m; c++) nz += a[r * cols + c] != 0 ? 1 : 0;
                        assertTrue(nz <= 2, nz + " non-zeros in row " + r + " group " + col0 / m + ", seed " + seed);
                    }
                }
            }
            assertTrue(Venom.isVenom(a, rows, cols, v, m), v + ":2:" + m + ", seed " + seed);
        }
    }

    @Test
    void allZeroBlockSelectsTheTopColumns() {
        float[] a = new float[2 * 16];
        a[9] = 1; // block 0 / group 1 gets column offset 1; group 0 is empty
        VenomMatrix p = Venom.pack(a, 2, 16, 2, 8);
        assertArrayEquals(new int[] {4, 5, 6, 7, 1, 5, 6, 7}, p.columns());
    }

    @Test
    void validatorRejectsAFifthColumnInABlock() {
        int v = 4, m = 8, cols = 16;
        float[] a = new float[v * cols];
        a[0] = a[1] = 1;                   // row 0: columns 0, 1
        a[cols + 2] = a[cols + 3] = 1;     // row 1: columns 2, 3
        a[2 * cols + 1] = a[2 * cols + 3] = 1; // row 2: columns 1, 3 (shared)
        assertTrue(Venom.isVenom(a, v, cols, v, m), "four shared columns are allowed");
        a[3 * cols + 4] = 1;               // row 3: column 4, the fifth of the block
        assertFalse(Venom.isVenom(a, v, cols, v, m));
        var e = assertThrows(IllegalArgumentException.class, () -> Venom.pack(a, v, cols, v, m));
        assertTrue(e.getMessage().contains("columns [0, 8) uses 5 columns"), e.getMessage());
    }

    @Test
    void validatorRejectsThreeNonZerosInARowGroup() {
        int v = 2, m = 8, cols = 16;
        float[] a = new float[v * cols];
        a[cols + 8] = a[cols + 9] = a[cols + 10] = 1; // row 1, group 1: three values in three columns
        var e = assertThrows(IllegalArgumentException.class, () -> Venom.requireVenom(a, v, cols, v, m));
        assertTrue(e.getMessage().contains("row 1 has 3 non-zeros in columns [8, 16)"), e.getMessage());
    }

    @Test
    void spmmEqualsDenseMatmulOfTheUnpackedMatrix() {
        long seed = 53;
        var rng = new SplittableRandom(seed);
        for (int[] p : PATTERNS) {
            int v = p[0], m = p[1], rows = 4 * v, cols = 4 * m, n = 24;
            VenomMatrix packed = randomPacked(rng, rows, cols, v, m);
            float[] a = TestData.poisoned(rows * cols);
            Venom.unpack(packed, a);
            float[] b = TestData.uniform(rng, cols * n);
            double[] expected = new double[rows * n];
            for (int r = 0; r < rows; r++) {
                for (int k = 0; k < cols; k++) {
                    for (int j = 0; j < n; j++) expected[r * n + j] += (double) a[r * cols + k] * b[k * n + j];
                }
            }
            float[] c = TestData.poisoned(rows * n);
            Venom.spmm(packed, b, n, c);
            double error = TestData.relativeError(c, expected);
            assertTrue(error <= 1e-5, v + ":2:" + m + " relative error " + error + ", seed " + seed);
        }
    }

    /**
     * SPEC §3.2: tokens sorted by expert and padded to V rows, each with a 2:4 activation pattern
     * inside its expert's neurons, form a V:2:M matrix once neuron n of the M-group is read as
     * belonging to expert (n mod M)/4, i.e. each M-group holds 4 neurons of every expert.
     */
    @Test
    void routedTwoFourActivationsAreAV2MPattern() {
        long seed = 54;
        var rng = new SplittableRandom(seed);
        int experts = 3, m = 4 * experts, v = 4, tokens = 19, neurons = 5 * m, perExpert = neurons / experts;
        int[] expertOf = new int[tokens];
        for (int t = 0; t < tokens; t++) expertOf[t] = rng.nextInt(experts);
        Routing routing = Routing.of(expertOf, experts, v);
        int rows = routing.paddedRows();
        int[] perm = routing.perm();
        float[] full = new float[rows * neurons];
        for (int e = 0; e < experts; e++) {
            int count = routing.paddedCount(e);
            if (count == 0) continue;
            float[] z = TestData.uniform(rng, count * perExpert);
            for (int i = 0; i < count; i++) {
                if (perm[routing.offset(e) + i] < 0) Arrays.fill(z, i * perExpert, (i + 1) * perExpert, 0f);
            }
            float[] act = TestData.poisoned(z.length);
            ActivationTopK.apply(z, count, perExpert, act, new byte[z.length / 4]);
            for (int i = 0; i < count; i++) {
                for (int j = 0; j < perExpert; j++) {
                    int column = j / 4 * m + 4 * e + j % 4; // expert-local neuron j in the interleaved order
                    full[(routing.offset(e) + i) * neurons + column] = act[i * perExpert + j];
                }
            }
        }
        assertTrue(Venom.isVenom(full, rows, neurons, v, m), "seed " + seed);
        float[] back = TestData.poisoned(full.length);
        Venom.unpack(Venom.pack(full, rows, neurons, v, m), back);
        assertArrayEquals(full, back, "seed " + seed);
    }

    @Test
    void packedMatrixRejectsUnorderedColumns() {
        var e = assertThrows(IllegalArgumentException.class, () -> new VenomMatrix(2, 8, 2, 8, new float[4],
                new byte[] {0xE, 0xE}, new int[] {0, 3, 2, 7}));
        assertTrue(e.getMessage().contains("strictly increasing"), e.getMessage());
        assertEquals(8, new VenomMatrix(2, 8, 2, 8, new float[4], new byte[] {0xE, 0xE}, new int[] {0, 2, 3, 7}).cols());
    }
}
