package dev.sparsetrain.sparse;

import java.util.Arrays;

/**
 * Where each token of a micro-batch goes (SPEC §3.2): tokens stable-sorted by expert, each expert's
 * rows padded with zero rows to a multiple of {@code blockRows} (V). The padded layout has
 * {@link #paddedRows()} rows; expert e owns rows [offset(e), offset(e+1)). Array accessors return
 * copies.
 */
public final class Routing {
    private final int[] expertOf;
    private final int experts;
    private final int blockRows;
    private final int[] counts;
    private final int[] offsets;
    private final int[] perm;
    private final int[] inv;

    private Routing(int[] expertOf, int experts, int blockRows, int[] counts, int[] offsets, int[] perm, int[] inv) {
        this.expertOf = expertOf;
        this.experts = experts;
        this.blockRows = blockRows;
        this.counts = counts;
        this.offsets = offsets;
        this.perm = perm;
        this.inv = inv;
    }

    /** The routing of tokens with the given experts (each in [0, experts)). */
    public static Routing of(int[] expertOf, int experts, int blockRows) {
        Checks.positive(experts, "experts");
        Checks.positive(blockRows, "blockRows");
        int tokens = expertOf.length;
        int[] counts = new int[experts];
        for (int t = 0; t < tokens; t++) {
            int e = expertOf[t];
            if (e < 0 || e >= experts) {
                throw new IllegalArgumentException("token " + t + " routed to expert " + e + ", outside [0, " + experts + ")");
            }
            counts[e]++;
        }
        int[] offsets = paddedOffsets(counts, blockRows);
        int[] perm = new int[offsets[experts]];
        Arrays.fill(perm, -1);
        int[] inv = new int[tokens];
        int[] next = Arrays.copyOf(offsets, experts);
        for (int t = 0; t < tokens; t++) { // increasing t: a stable sort by expert
            int row = next[expertOf[t]]++;
            perm[row] = t;
            inv[t] = row;
        }
        return new Routing(expertOf.clone(), experts, blockRows, counts, offsets, perm, inv);
    }

    /** Row offsets [E+1] of experts with these token counts, each padded to a multiple of blockRows. */
    public static int[] paddedOffsets(int[] counts, int blockRows) {
        Checks.positive(blockRows, "blockRows");
        int[] offsets = new int[counts.length + 1];
        for (int e = 0; e < counts.length; e++) {
            offsets[e + 1] = Math.addExact(offsets[e], (counts[e] + blockRows - 1) / blockRows * blockRows);
        }
        return offsets;
    }

    /** Expert of each token. */
    public int[] expertOf() {
        return expertOf.clone();
    }

    /** Number of experts E. */
    public int experts() {
        return experts;
    }

    /** V, the row-block height every expert's row count is padded to. */
    public int blockRows() {
        return blockRows;
    }

    /** Real (unpadded) tokens of expert e. */
    public int count(int e) {
        return counts[e];
    }

    /** First padded row of expert e; {@code offset(experts())} is {@link #paddedRows()}. */
    public int offset(int e) {
        return offsets[e];
    }

    /** Padded row → token, or −1 for a padding row. */
    public int[] perm() {
        return perm.clone();
    }

    /** Token → padded row. */
    public int[] inv() {
        return inv.clone();
    }

    /** Tokens routed. */
    public int tokens() {
        return expertOf.length;
    }

    /** Rows of the padded, expert-sorted layout. */
    public int paddedRows() {
        return perm.length;
    }

    /** Padded rows of expert e (a multiple of blockRows). */
    public int paddedCount(int e) {
        return offsets[e + 1] - offsets[e];
    }

    /** {@code out[row,:] = x[perm[row],:]}, zero for padding rows; x is [tokens, d], out [paddedRows, d]. */
    public void gather(float[] x, int d, float[] out) {
        Checks.positive(d, "d");
        Checks.length(x, (long) tokens() * d, "x");
        Checks.length(out, (long) paddedRows() * d, "out");
        Checks.distinct(out, x, "out", "x");
        for (int row = 0; row < perm.length; row++) {
            if (perm[row] < 0) Arrays.fill(out, row * d, (row + 1) * d, 0f);
            else System.arraycopy(x, perm[row] * d, out, row * d, d);
        }
    }

    /** {@code out[t,:] = y[inv[t],:]}, dropping padding rows; y is [paddedRows, d], out [tokens, d]. */
    public void scatter(float[] y, int d, float[] out) {
        Checks.positive(d, "d");
        Checks.length(y, (long) paddedRows() * d, "y");
        Checks.length(out, (long) tokens() * d, "out");
        Checks.distinct(out, y, "out", "y");
        for (int t = 0; t < inv.length; t++) System.arraycopy(y, inv[t] * d, out, t * d, d);
    }

    /** The fraction of tokens each expert receives (the router load); all zero for no tokens. */
    public double[] load() {
        double[] load = new double[experts];
        for (int e = 0; e < experts; e++) load[e] = tokens() == 0 ? 0 : (double) counts[e] / tokens();
        return load;
    }
}
