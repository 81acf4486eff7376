package dev.sparsetrain.cuda.selftest;

/**
 * One line of the selftest table: an op on one shape, its largest absolute and relative errors
 * against the reference backend, and whether they are within tolerance.
 *
 * @param error why the check could not run (an exception's message), or null when it ran
 */
public record CheckRow(String op, String shape, double maxAbsError, double maxRelError, double tolerance, boolean passed, String error) {

    /** A check that threw instead of producing numbers; it counts as failed. */
    public static CheckRow failed(String op, String shape, Throwable cause) {
        String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        return new CheckRow(op, shape, Double.NaN, Double.NaN, Double.NaN, false, message);
    }
}
