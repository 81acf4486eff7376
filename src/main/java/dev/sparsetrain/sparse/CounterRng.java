package dev.sparsetrain.sparse;

/**
 * Counter-based uniforms: draw n of a seed is the n-th output of SplitMix64 started at that seed,
 * {@code mix(seed + (n+1)·0x9E3779B97F4A7C15)}. Being a pure function of (seed, n), it gives the
 * same draws for any thread count or chunking, and a GPU kernel can compute the same values.
 */
final class CounterRng {
    private static final long GOLDEN_GAMMA = 0x9E37_79B9_7F4A_7C15L;

    private CounterRng() {}

    /** A uniform double in [0, 1) from the top 53 bits of draw n. */
    static double uniform(long seed, long n) {
        return (mix(seed + (n + 1) * GOLDEN_GAMMA) >>> 11) * 0x1.0p-53;
    }

    /** The SplitMix64 output function (Stafford's variant 13). */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }
}
