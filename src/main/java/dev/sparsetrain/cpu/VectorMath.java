package dev.sparsetrain.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector math whose results do not depend on how the JIT compiled the caller.
 *
 * <p>Two Vector API operations round differently in interpreted and C2-compiled code: the
 * transcendental {@code lanewise(EXP)} and the horizontal {@code reduceLanes(ADD)} (a tree in compiled
 * code, lane order in the fallback). Either would make results depend on JIT timing and break
 * bit-for-bit resume and run-to-run reproducibility, so kernels use the functions here instead.
 *
 * <p>{@link #exp} is built only from IEEE basic operations (add, multiply, fused multiply-add,
 * conversions), which round the same in every execution mode.
 *
 * <p>Why not {@code lanewise(VectorOperators.EXP)}: the JDK computes it with an intrinsic once C2 has
 * compiled the caller and with a Java fallback before that, and the two round differently. Results
 * would then depend on JIT timing, which breaks bit-for-bit resume and run-to-run reproducibility.
 * Basic operations round the same in every execution mode.
 *
 * <p>exp: x = n·ln2 + r with |r| ≤ ln2/2 (Cody-Waite split of ln2), exp(r) by its degree-7
 * Taylor polynomial, 2^n as two exponent-field halves so the full normal range works. Relative
 * error is a few float ulps.
 */
public final class VectorMath {
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5·2^23: adding and subtracting it rounds to an integer
    // Inputs are clamped to the normal range: above it the result saturates near Float.MAX_VALUE
    // instead of +inf, below it at ~1e-38 instead of 0, both harmless for softmax and sigmoid;
    // NaN propagates. Clamping instead of blending keeps the method small enough to inline.
    private static final float MAX_X = 88.72283f;
    private static final float MIN_X = -87.33654f;
    // Taylor coefficients 1/k! of exp(r) for |r| <= ln2/2; degree 7 truncates below 6e-9 relative.
    private static final float C0 = 1f, C1 = 1f, C2 = 0.5f, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    private VectorMath() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /**
     * dst[dstAt + i] = exp(src[srcAt + i]·scale − shift) for i &lt; count (src and dst may be the same
     * range). Array in, array out on purpose: a helper that returns a FloatVector is boxed on the heap
     * whenever C2 declines to inline it, which happened here for a function this size. The tail uses
     * {@link #exp(float)}, whose identical operation sequence gives the same bits as a vector lane.
     */
    public static void exp(float[] src, int srcAt, float[] dst, int dstAt, int count, float scale, float shift) {
        int i = 0;
        for (int end = F.loopBound(count); i < end; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, src, srcAt + i).fma(scale, -shift).max(MIN_X).min(MAX_X);
            FloatVector n = x.mul(LOG2E).add(ROUND).sub(ROUND);
            // n·LN2_HI is exact (LN2_HI has 9 significant bits, |n| <= 128), so r keeps its low bits.
            FloatVector r = x.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
            FloatVector p = r.fma(C7, C6).mul(r).add(C5).mul(r).add(C4).mul(r).add(C3).mul(r).add(C2).mul(r).add(C1).mul(r).add(C0);
            IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0);
            IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
            FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            p.mul(s1).mul(s2).intoArray(dst, dstAt + i);
        }
        for (; i < count; i++) dst[dstAt + i] = exp(Math.fma(src[srcAt + i], scale, -shift));
    }

    /** The scalar twin of the vector loop above: the same operations in the same order. */
    public static float exp(float x) {
        x = Math.min(Math.max(x, MIN_X), MAX_X);
        float n = x * LOG2E + ROUND - ROUND;
        float r = x - n * LN2_HI - n * LN2_LO;
        float p = Math.fma(r, C7, C6);
        p = p * r + C5;
        p = p * r + C4;
        p = p * r + C3;
        p = p * r + C2;
        p = p * r + C1;
        p = p * r + C0;
        int ni = (int) n, half = ni >> 1;
        return p * Float.intBitsToFloat((half + 127) << 23) * Float.intBitsToFloat((ni - half + 127) << 23);
    }

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    // Rotations by a constant lane count; constant shuffles compile to one permute each (a loop with
    // a variable slice origin would box every step).
    private static final VectorShuffle<Double> D4 = VectorShuffle.iota(D, 4 % D.length(), 1, true);
    private static final VectorShuffle<Double> D2 = VectorShuffle.iota(D, 2 % D.length(), 1, true);
    private static final VectorShuffle<Double> D1 = VectorShuffle.iota(D, 1, 1, true);

    /**
     * Σ lanes of a preferred-species vector in double (each float widens exactly) as a fixed halving
     * tree of lane-wise adds: the same order in every execution mode, unlike reduceLanes(ADD).
     */
    public static double sumInDouble(FloatVector v) {
        var low = (DoubleVector) v.convertShape(VectorOperators.F2D, D, 0);
        var high = (DoubleVector) v.convertShape(VectorOperators.F2D, D, 1);
        DoubleVector d = low.add(high);
        if (D.length() >= 8) d = d.add(d.rearrange(D4));
        if (D.length() >= 4) d = d.add(d.rearrange(D2));
        d = d.add(d.rearrange(D1));
        return d.lane(0);
    }
}
