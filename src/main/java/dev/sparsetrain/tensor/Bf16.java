package dev.sparsetrain.tensor;

/**
 * Conversions between float and bfloat16 (the upper 16 bits of an IEEE float). Narrowing rounds to
 * nearest, ties to even, as PyTorch and CUDA's {@code __float2bfloat16} do, so files we write hold the
 * same bits a PyTorch export of the same weights would.
 */
public final class Bf16 {
    private Bf16() {}

    /** The bfloat16 bits nearest to {@code f}; NaN stays a (quiet) NaN of the same sign. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            // Truncating could clear every mantissa bit that is left and turn the NaN into an infinity.
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }

    /** The float with exactly the value of the bfloat16 {@code bits}. */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Every element of {@code x} narrowed with {@link #fromFloat}. */
    public static short[] fromFloats(float[] x) {
        short[] out = new short[x.length];
        for (int i = 0; i < x.length; i++) out[i] = fromFloat(x[i]);
        return out;
    }
}
