package dev.sparsetrain.sparse;

/**
 * bfloat16 bit patterns (the high 16 bits of an IEEE float) held in a {@code short}: what the GPU
 * packers write, so host-built buffers can be compared with device ones byte for byte.
 */
public final class Bf16 {
    private Bf16() {}

    /**
     * Rounds to the nearest bf16, ties to even; overflow rounds to ±∞ as IEEE rounding does. NaN
     * stays NaN (sign kept, quiet bit set) instead of rounding into an infinity.
     */
    public static short fromFloat(float x) {
        int bits = Float.floatToRawIntBits(x);
        if (Float.isNaN(x)) return (short) ((bits >>> 16) | 0x0040);
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7fff + lsb) >>> 16);
    }

    /** The float of a bf16 bit pattern (exact). */
    public static float toFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xffff) << 16);
    }

    /** {@link #fromFloat} of every element. */
    public static short[] fromFloats(float[] x) {
        short[] out = new short[x.length];
        for (int i = 0; i < x.length; i++) out[i] = fromFloat(x[i]);
        return out;
    }
}
