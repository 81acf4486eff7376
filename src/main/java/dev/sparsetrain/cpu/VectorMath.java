package dev.sparsetrain.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * exp built only from IEEE basic operations (add, multiply, fused multiply-add, conversions).
 *
 * <p>Why not {@code lanewise(VectorOperators.EXP)}: the JDK computes it with an intrinsic once C2 has
 * compiled the caller and with a Java fallback before that, and the two round differently. Results
 * would then depend on JIT timing, which breaks bit-for-bit resume and run-to-run reproducibility.
 * Basic operations round the same in every execution mode.
 *
 * <p>Method: x = n·ln2 + r with |r| ≤ ln2/2 (Cody-Waite split of ln2), exp(r) by its degree-7
 * Taylor polynomial (truncation error below 6e-9 relative), 2^n as two exponent-field halves so the
 * full normal range works. Relative error is a few float ulps.
 */
public final class VectorMath {
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5·2^23: adding and subtracting it rounds to an integer
    private static final float MAX_X = 88.72283f; // above: +inf
    private static final float MIN_X = -87.33654f; // below: 0 (no subnormals)

    private VectorMath() {}

    public static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(MIN_X).min(MAX_X);
        FloatVector n = xc.mul(LOG2E).add(ROUND).sub(ROUND);
        // n·LN2_HI is exact (LN2_HI has 9 significant bits, |n| <= 128), so r keeps its low bits.
        FloatVector r = xc.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
        FloatVector p = r.broadcast(1f / 5040f);
        p = p.fma(r, r.broadcast(1f / 720f));
        p = p.fma(r, r.broadcast(1f / 120f));
        p = p.fma(r, r.broadcast(1f / 24f));
        p = p.fma(r, r.broadcast(1f / 6f));
        p = p.fma(r, r.broadcast(0.5f));
        p = p.fma(r, r.broadcast(1f));
        p = p.fma(r, r.broadcast(1f));
        IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0);
        IntVector half = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = ni.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector result = p.mul(s1).mul(s2);
        result = result.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, MAX_X));
        return result.blend(0f, x.compare(VectorOperators.LT, MIN_X));
    }
}
