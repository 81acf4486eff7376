package dev.sparsetrain.io.plot;

import java.util.Arrays;
import java.util.function.DoubleUnaryOperator;

/**
 * Reduces a series to at most four points per pixel column (the first, lowest, highest and last point
 * that fall in it, in their original order). The line drawn through them covers exactly the pixels the
 * full series would, so a run of hundreds of thousands of steps plots as fast as a short one.
 */
final class Downsample {
    private Downsample() {}

    /** Pixel coordinates: {@code xs[i], ys[i]} for {@code i < n}. */
    record Polyline(double[] xs, double[] ys, int n) {}

    /** Maps the finite points of {@code s} to pixels with {@code toX}, {@code toY} and reduces them per column. */
    static Polyline toPixels(PlotSeries s, DoubleUnaryOperator toX, DoubleUnaryOperator toY) {
        double[] x = s.x();
        double[] y = s.y();
        double[] xs = new double[16];
        double[] ys = new double[16];
        int n = 0;
        int[] bucket = new int[4];
        long column = Long.MIN_VALUE;
        int first = -1, low = -1, high = -1, last = -1;
        for (int i = 0; i <= x.length; i++) {
            boolean end = i == x.length;
            if (!end && !(Double.isFinite(x[i]) && Double.isFinite(y[i]))) continue;
            long col = end ? Long.MAX_VALUE : (long) Math.floor(toX.applyAsDouble(x[i]));
            if (col != column && first >= 0) {
                bucket[0] = first;
                bucket[1] = low;
                bucket[2] = high;
                bucket[3] = last;
                int[] sorted = Arrays.stream(bucket).sorted().distinct().toArray();
                if (n + sorted.length > xs.length) {
                    xs = Arrays.copyOf(xs, 2 * xs.length + sorted.length);
                    ys = Arrays.copyOf(ys, xs.length);
                }
                for (int k : sorted) {
                    xs[n] = toX.applyAsDouble(x[k]);
                    ys[n] = toY.applyAsDouble(y[k]);
                    n++;
                }
                first = -1;
            }
            if (end) break;
            if (first < 0) {
                column = col;
                first = low = high = i;
            }
            if (y[i] < y[low]) low = i;
            if (y[i] > y[high]) high = i;
            last = i;
        }
        return new Polyline(xs, ys, n);
    }
}
