package dev.sparsetrain.sparse;

import dev.sparsetrain.cpu.Parallel;

/**
 * Squared ReLU followed by 2:4 top-k along a row (SPEC §3.3): for each row and group of 4
 * consecutive columns of the pre-activation Z, keep the two largest {@code relu(z)²}, ties to the
 * higher index.
 *
 * <p>The ranking key is {@code relu(z)} (via {@link GroupTopTwo}), which orders exactly as
 * {@code relu(z)²} in exact arithmetic but, unlike the rounded float square, never creates ties
 * between distinct z. Every non-positive z has key 0, so a group with fewer than two positive
 * values keeps its highest-index zeros: (−3,−1,−2,−5) keeps columns 2 and 3. Kept values are
 * {@code relu(z)²}, dropped ones 0; masks are one byte per (row, group), bit i = column
 * {@code 4·group + i} kept.
 */
public final class ActivationTopK {
    private ActivationTopK() {}

    /** The 4-bit keep mask of the group {@code z[offset .. offset+3]}. */
    public static int groupMask(float[] z, int offset) {
        return GroupTopTwo.keepMask(reluKey(z[offset]), reluKey(z[offset + 1]),
                reluKey(z[offset + 2]), reluKey(z[offset + 3]));
    }

    /**
     * Writes the kept activations {@code a} (relu(z)² where kept, else 0) and the keep masks of a
     * row-major rows×cols Z; cols must be a multiple of 4.
     */
    public static void apply(float[] z, int rows, int cols, float[] a, byte[] masks) {
        int n = Checks.elements(rows, cols);
        Checks.multipleOf(cols, 4, "cols (activation groups of 4 run along a row)");
        Checks.length(z, n, "z");
        Checks.length(a, n, "a");
        Checks.length(masks, n / 4, "masks");
        Checks.distinct(a, z, "a", "z");
        Parallel.forRange(rows, Checks.rowGrain(cols), (from, to) -> {
            for (int base = from * cols, end = to * cols; base < end; base += 4) {
                int mask = groupMask(z, base);
                for (int i = 0; i < 4; i++) {
                    float r = Math.max(z[base + i], 0f);
                    a[base + i] = (mask & (1 << i)) != 0 ? r * r : 0f;
                }
                masks[base >> 2] = (byte) mask;
            }
        });
    }

    /**
     * The dropped mass {@code Σ removed relu(z)² / Σ relu(z)²} = {@code 1 − Σa / Σ relu(z)²}
     * (double accumulation), given Z and the kept activations {@code a} from {@link #apply}. Zero
     * when no activation is positive (nothing to drop).
     */
    public static double droppedMassFraction(float[] z, float[] a) {
        Checks.length(a, z.length, "a");
        double total = 0, kept = 0;
        for (int i = 0; i < z.length; i++) {
            float r = Math.max(z[i], 0f);
            total += r * r; // the same float square as apply writes, so nothing dropped gives exactly 0
            kept += a[i];
        }
        return total == 0 ? 0 : 1 - kept / total;
    }

    private static int reluKey(float z) {
        // Math.max maps every negative z and −0 to +0 and keeps NaN, which then ranks highest.
        return GroupTopTwo.magnitudeKey(Math.max(z, 0f));
    }
}
