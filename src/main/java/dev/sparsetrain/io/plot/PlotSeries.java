package dev.sparsetrain.io.plot;

/**
 * One curve of a plot: a label for the legend and its points. Points whose x or y is NaN or infinite are
 * skipped, so a column with gaps (validation loss logged every few hundred steps) can be passed as is.
 */
public record PlotSeries(String label, double[] x, double[] y) {
    public PlotSeries {
        if (x.length != y.length) {
            throw new IllegalArgumentException("Series '" + label + "' has " + x.length + " x values but " + y.length
                    + " y values");
        }
    }

    /** Number of points that will be drawn (both coordinates finite). */
    public int finiteCount() {
        int n = 0;
        for (int i = 0; i < x.length; i++) if (Double.isFinite(x[i]) && Double.isFinite(y[i])) n++;
        return n;
    }
}
