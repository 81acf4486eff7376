package dev.sparsetrain.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * Finite-difference check of one tensor's analytic gradient along a random sparse direction: a few
 * random coordinates with Gaussian weights. Central differences of the loss, compared on the
 * directional derivative with a relative tolerance suited to fp32 forwards.
 */
final class GradientCheck {
    static final double EPS = 3e-3;
    static final double REL_TOL = 2e-2;
    /** Absolute floor so a direction the loss barely depends on compares against fp32 noise, not 0. */
    static final double ABS_TOL = 1e-5;
    private static final int COORDS = 4;

    private GradientCheck() {}

    /**
     * Asserts that ∂loss/∂value · dir equals (loss(value + EPS·dir) − loss(value − EPS·dir)) / 2EPS.
     * {@code grad} must already hold the analytic gradient of {@code loss} at the current value; the
     * value is restored afterwards.
     */
    static void check(Backend b, Tensor value, Tensor grad, DoubleSupplier loss, SplittableRandom rng, String what) {
        float[] original = b.toHost(value), g = b.toHost(grad);
        int n = original.length;
        int[] coords = distinctCoordinates(rng, n, Math.min(COORDS, n));
        double[] dir = new double[coords.length];
        double analytic = 0;
        for (int j = 0; j < coords.length; j++) {
            dir[j] = rng.nextGaussian();
            analytic += g[coords[j]] * dir[j];
        }
        double plus = lossAt(b, value, original, coords, dir, EPS, loss);
        double minus = lossAt(b, value, original, coords, dir, -EPS, loss);
        b.upload(value, original, 0);
        double numeric = (plus - minus) / (2 * EPS);
        double err = Math.abs(numeric - analytic);
        double tol = REL_TOL * Math.max(Math.abs(numeric), Math.abs(analytic)) + ABS_TOL;
        assertTrue(err <= tol, what + ": analytic " + analytic + " vs finite difference " + numeric
                + " (error " + err + " > " + tol + ")");
    }

    private static double lossAt(Backend b, Tensor value, float[] original, int[] coords, double[] dir, double step,
                                 DoubleSupplier loss) {
        float[] moved = original.clone();
        for (int j = 0; j < coords.length; j++) moved[coords[j]] = (float) (original[coords[j]] + step * dir[j]);
        b.upload(value, moved, 0);
        return loss.getAsDouble();
    }

    private static int[] distinctCoordinates(SplittableRandom rng, int n, int k) {
        return rng.ints(0, n).distinct().limit(k).toArray();
    }
}
