package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.tensor.Bf16;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The random operands of the sparse GEMM checks. */
class RandomBf16Test {
    private static final long SEED = 31_0611L;

    @Test
    void everyGroupHasExactlyTwoNonZerosOfMagnitudeAtLeastAnEighth() {
        short[] x = new short[4096];
        Arrays.fill(x, (short) 0x7FC0); // NaN: every element must be written
        RandomBf16.fillTwoFour(x, 4000, new SplittableRandom(SEED));
        int[] pairs = new int[16];
        for (int g = 0; g < 4000; g += 4) {
            int positions = 0;
            for (int j = 0; j < 4; j++) {
                float v = Bf16.toFloat(x[g + j]);
                if (v == 0f) continue;
                positions |= 1 << j;
                assertTrue(Math.abs(v) >= 0.125f && Math.abs(v) <= 1f, "seed " + SEED + " element " + (g + j) + " = " + v);
            }
            assertEquals(2, Integer.bitCount(positions), "seed " + SEED + " group " + g / 4);
            pairs[positions]++;
        }
        for (int mask : new int[] {0b0011, 0b0101, 0b1001, 0b0110, 0b1010, 0b1100}) {
            assertTrue(pairs[mask] > 100, "seed " + SEED + ": position pair " + Integer.toBinaryString(mask) + " drawn " + pairs[mask] + " times of 1000");
        }
        assertEquals((short) 0x7FC0, x[4000], "elements past count stay untouched");
    }

    @Test
    void denseValuesAreFiniteAndSpanMinusOneToOne() {
        short[] x = new short[1000];
        Arrays.fill(x, (short) 0x7FC0);
        RandomBf16.fill(x, x.length, new SplittableRandom(SEED + 1));
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (short s : x) {
            float v = Bf16.toFloat(s);
            assertTrue(v >= -1f && v <= 1f, "seed " + (SEED + 1) + ": " + v);
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertTrue(min < -0.9f && max > 0.9f, "seed " + (SEED + 1) + ": range " + min + ".." + max);
    }

    @Test
    void aCountThatIsNotWholeGroupsIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> RandomBf16.fillTwoFour(new short[8], 6, new SplittableRandom(SEED)));
    }
}
