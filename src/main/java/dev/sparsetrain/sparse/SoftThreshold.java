package dev.sparsetrain.sparse;

import dev.sparsetrain.cpu.Parallel;

/**
 * S-STE soft-thresholding of weights to 2:4 (SPEC §3.1), over row-major matrices whose groups of 4
 * run along a row.
 *
 * <p>Per group: the two largest |w| are kept (ties to the higher index, see {@link GroupTopTwo}),
 * {@code t} is the larger of the two dropped magnitudes (the 2nd-smallest |w|), and a kept value
 * becomes {@code sign(w)·(|w| − t)}. A kept value equal in magnitude to {@code t} becomes zero but
 * stays in the mask, e.g. (2,2,2,2) → mask (0,0,1,1), output all zero.
 *
 * <p>Masks are one byte per (row, group): bit i set when column {@code 4·group + i} is kept.
 */
public final class SoftThreshold {
    private SoftThreshold() {}

    /** The threshold {@code t} of the group {@code w[offset .. offset+3]}. */
    public static float groupThreshold(float[] w, int offset) {
        int mask = groupMask(w, offset);
        float t = 0f;
        for (int i = 0; i < 4; i++) {
            if ((mask & (1 << i)) == 0) t = Math.max(t, Math.abs(w[offset + i]));
        }
        return t;
    }

    /** The 4-bit keep mask of the group {@code w[offset .. offset+3]}. */
    public static int groupMask(float[] w, int offset) {
        return GroupTopTwo.keepMask(GroupTopTwo.magnitudeKey(w[offset]), GroupTopTwo.magnitudeKey(w[offset + 1]),
                GroupTopTwo.magnitudeKey(w[offset + 2]), GroupTopTwo.magnitudeKey(w[offset + 3]));
    }

    /** {@code out = scale·S(w)} for a row-major rows×cols matrix; cols must be a multiple of 4. */
    public static void apply(float[] w, int rows, int cols, float scale, float[] out) {
        run(w, rows, cols, scale, out, null);
    }

    /** As {@link #apply(float[], int, int, float, float[])}, also writing the keep mask of every group. */
    public static void apply(float[] w, int rows, int cols, float scale, float[] out, byte[] masks) {
        Checks.length(masks, (long) rows * cols / 4, "masks");
        run(w, rows, cols, scale, out, masks);
    }

    private static void run(float[] w, int rows, int cols, float scale, float[] out, byte[] masks) {
        int n = Checks.elements(rows, cols);
        Checks.multipleOf(cols, 4, "cols (S-STE groups of 4 run along a row)");
        Checks.length(w, n, "w");
        Checks.length(out, n, "out");
        Checks.distinct(out, w, "out", "w");
        Parallel.forRange(rows, Checks.rowGrain(cols), (from, to) -> {
            for (int base = from * cols, end = to * cols; base < end; base += 4) {
                int mask = groupMask(w, base);
                float t = 0f;
                for (int i = 0; i < 4; i++) {
                    if ((mask & (1 << i)) == 0) t = Math.max(t, Math.abs(w[base + i]));
                }
                for (int i = 0; i < 4; i++) {
                    float x = w[base + i];
                    out[base + i] = (mask & (1 << i)) != 0 ? scale * Math.copySign(Math.abs(x) - t, x) : 0f;
                }
                if (masks != null) masks[base >> 2] = (byte) mask;
            }
        });
    }

    /**
     * The frozen per-tensor scale {@code β = ⟨W, S(W)⟩ / ⟨S(W), S(W)⟩}, accumulated in double
     * ({@code s} is S(W) as written by {@code apply} with scale 1). It is the least-squares fit of
     * W by β·S(W).
     *
     * @throws IllegalArgumentException if S(W) is all zero (every group has equal top magnitudes),
     *         where β is undefined
     */
    public static double beta(float[] w, float[] s) {
        Checks.length(s, w.length, "s");
        double ws = 0, ss = 0;
        for (int i = 0; i < w.length; i++) {
            ws += (double) w[i] * s[i];
            ss += (double) s[i] * s[i];
        }
        if (ss == 0) {
            throw new IllegalArgumentException("S(W) is all zero, so β = <W,S(W)>/<S(W),S(W)> is undefined;"
                    + " the weights have no group whose two largest magnitudes exceed the threshold");
        }
        return ws / ss;
    }

    /**
     * The fraction of weight magnitude the thresholding removes, {@code 1 − Σ|S(W)| / Σ|W|}
     * (double accumulation; {@code s} is S(W) at scale 1). It counts both the dropped weights and
     * the threshold subtracted from the kept ones. Zero when W is all zero (nothing to remove).
     */
    public static double removedMagnitudeFraction(float[] w, float[] s) {
        Checks.length(s, w.length, "s");
        double sumW = 0, sumS = 0;
        for (int i = 0; i < w.length; i++) {
            sumW += Math.abs(w[i]);
            sumS += Math.abs(s[i]);
        }
        return sumW == 0 ? 0 : 1 - sumS / sumW;
    }
}
