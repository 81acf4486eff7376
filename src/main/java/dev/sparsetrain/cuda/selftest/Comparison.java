package dev.sparsetrain.cuda.selftest;

/**
 * How a backend's output is judged against the reference's: element i's relative error is
 * {@code |got − want| / max(|want|, 0.01·max|want|)}, and a tensor passes when its largest relative
 * error is within the tolerance.
 *
 * <p>Why the floor: a pure relative error explodes on elements that cancel to nearly zero (a GEMM
 * output, a gradient), where two correct summation orders legitimately differ by a few ulps of the
 * inputs' magnitude. Measuring those against 1% of the tensor's largest magnitude keeps the test
 * strict (1e-4 of the scale still catches any wrong index, missing term or unwritten element) without
 * flagging rounding. NaN or infinity where the reference is finite is an infinite error.
 */
public final class Comparison {
    /** Fraction of the tensor's largest |value| below which errors are measured against that floor. */
    static final double SCALE_FLOOR = 0.01;

    private Comparison() {}

    /** Compares {@code got} with {@code want} element by element. */
    public static CheckRow compare(String op, String shape, float[] got, float[] want, double tolerance) {
        double[] g = new double[got.length], w = new double[want.length];
        for (int i = 0; i < g.length; i++) g[i] = got[i];
        for (int i = 0; i < w.length; i++) w[i] = want[i];
        return compare(op, shape, g, w, tolerance);
    }

    /** Compares {@code got} with {@code want} element by element. */
    public static CheckRow compare(String op, String shape, double[] got, double[] want, double tolerance) {
        if (got.length != want.length) {
            return new CheckRow(op, shape, Double.NaN, Double.NaN, tolerance, false,
                    "length " + got.length + " differs from the reference's " + want.length);
        }
        double maxWant = 0;
        for (double w : want) if (Double.isFinite(w)) maxWant = Math.max(maxWant, Math.abs(w));
        double floor = Math.max(SCALE_FLOOR * maxWant, Double.MIN_NORMAL);
        double maxAbs = 0, maxRel = 0;
        for (int i = 0; i < got.length; i++) {
            double abs = error(got[i], want[i]);
            maxAbs = Math.max(maxAbs, abs);
            maxRel = Math.max(maxRel, abs / Math.max(Math.abs(want[i]), floor));
        }
        return new CheckRow(op, shape, maxAbs, maxRel, tolerance, maxRel <= tolerance, null);
    }

    /**
     * Compares whole tensors by ‖got − want‖₂ / ‖want‖₂ (reported as the relative error; the absolute
     * column is the largest elementwise difference). For results where a few elements may
     * legitimately differ by order one while the tensor as a whole agrees: a 2:4 selection that
     * bf16 rounding can flip at near-ties. Any NaN or infinity where the reference is finite fails.
     */
    public static CheckRow compareNorm(String op, String shape, float[] got, float[] want, double tolerance) {
        if (got.length != want.length) {
            return new CheckRow(op, shape, Double.NaN, Double.NaN, tolerance, false,
                    "length " + got.length + " differs from the reference's " + want.length);
        }
        double diff = 0, norm = 0, maxAbs = 0;
        for (int i = 0; i < got.length; i++) {
            double e = error(got[i], want[i]);
            maxAbs = Math.max(maxAbs, e);
            diff += e * e;
            norm += (double) want[i] * want[i];
        }
        double rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), Double.MIN_NORMAL);
        return new CheckRow(op, shape, maxAbs, rel, tolerance, rel <= tolerance, null);
    }

    /** Compares two scalars (a reduction's result); the floor is not needed for one value. */
    public static CheckRow compareScalar(String op, String shape, double got, double want, double tolerance) {
        double abs = error(got, want);
        double rel = abs / Math.max(Math.abs(want), Double.MIN_NORMAL);
        return new CheckRow(op, shape, abs, rel, tolerance, rel <= tolerance, null);
    }

    /** |got − want|, infinite when either is NaN or infinite but they are not the same value. */
    private static double error(double got, double want) {
        if (Double.isFinite(got) && Double.isFinite(want)) return Math.abs(got - want);
        return got == want ? 0 : Double.POSITIVE_INFINITY;
    }
}
