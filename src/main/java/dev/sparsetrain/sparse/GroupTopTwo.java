package dev.sparsetrain.sparse;

/**
 * The one selection rule of the sparse method: keep the two largest of four ranking keys, ties to
 * the higher index. S-STE weights and squared-ReLU activations both use it, so a GPU kernel that
 * reproduces this class reproduces both masks bit for bit.
 *
 * <p>Keys are non-negative floats compared through their raw bits ({@link #magnitudeKey}): for
 * non-negative IEEE values integer order equals numeric order, −0 and +0 are the same key, and NaN
 * ranks above +∞. The order is therefore total and exactly two elements are always kept, so a NaN
 * is kept (and propagates) instead of silently vanishing.
 */
final class GroupTopTwo {
    private GroupTopTwo() {}

    /** The ranking key of |x|. */
    static int magnitudeKey(float x) {
        return Float.floatToRawIntBits(x) & 0x7fff_ffff;
    }

    /**
     * A 4-bit mask (bit i = element i kept) with exactly two bits set: element j beats element i
     * when {@code kj > ki}, or {@code kj == ki} and {@code j > i}; the two elements beaten by fewer
     * than two others are kept.
     */
    static int keepMask(int k0, int k1, int k2, int k3) {
        int r0 = 0, r1 = 0, r2 = 0, r3 = 0;
        // For each pair i < j the higher index wins ties, hence ">=".
        if (k1 >= k0) r0++; else r1++;
        if (k2 >= k0) r0++; else r2++;
        if (k3 >= k0) r0++; else r3++;
        if (k2 >= k1) r1++; else r2++;
        if (k3 >= k1) r1++; else r3++;
        if (k3 >= k2) r2++; else r3++;
        return (r0 < 2 ? 1 : 0) | (r1 < 2 ? 2 : 0) | (r2 < 2 ? 4 : 0) | (r3 < 2 ? 8 : 0);
    }
}
