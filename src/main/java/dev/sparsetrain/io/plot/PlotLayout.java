package dev.sparsetrain.io.plot;

import dev.sparsetrain.io.plot.Ticks.Tick;
import java.util.ArrayList;
import java.util.List;

/**
 * Where everything of a line plot goes, in pixels: the data ranges and ticks, the plot area, each series
 * reduced to a pixel polyline and the legend. The SVG and PNG renderers both draw from one layout, so the
 * two files show the same picture. Sizes of text come from {@link BitmapFont} at {@link #FONT_SCALE}.
 */
final class PlotLayout {
    static final int FONT_SCALE = 2;
    /** Line colours by series index: blue, orange, green, red, purple (high contrast, colour-blind tolerant first two). */
    static final int[] PALETTE = {0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD};
    /** Series with at most this many points also get a dot per point, so sparse validation points stay visible. */
    static final int MARKER_LIMIT = 64;
    static final double LINE_WIDTH = 2.0;
    static final double MARKER_RADIUS = 3.5;
    static final int LEGEND_ROW = 22;
    static final int LEGEND_SWATCH = 24;
    static final int PAD = 8;

    /** A series ready to draw. */
    record Line(String label, int color, Downsample.Polyline points, boolean markers) {}

    final int width;
    final int height;
    final String xLabel;
    final String yLabel;
    final double left, right, top, bottom;
    final double xMin, xMax, yMin, yMax;
    final List<Tick> xTicks;
    final List<Tick> yTicks;
    final List<Line> lines = new ArrayList<>();
    final int legendX, legendY, legendWidth, legendHeight;

    PlotLayout(List<PlotSeries> series, int width, int height, String xLabel, String yLabel) {
        this.width = width;
        this.height = height;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        double[] xr = range(series, true);
        double[] yr = range(series, false);
        double ypad = (yr[1] - yr[0]) * 0.05;
        yMin = yr[0] - ypad;
        yMax = yr[1] + ypad;
        xMin = xr[0];
        xMax = xr[1];
        int textHeight = BitmapFont.height(FONT_SCALE);
        top = PAD + textHeight + 2 * PAD;
        bottom = height - (2 * textHeight + 4 * PAD);
        yTicks = Ticks.of(yMin, yMax, Math.max(2, (int) ((bottom - top) / 60)));
        int yLabelWidth = 0;
        for (Tick t : yTicks) yLabelWidth = Math.max(yLabelWidth, BitmapFont.width(t.label(), FONT_SCALE));
        left = 2 * PAD + yLabelWidth + PAD;
        right = width - 3 * PAD;
        if (right - left < 10 || bottom - top < 10) {
            throw new IllegalArgumentException("A plot of " + width + "x" + height + " pixels leaves no room for the data");
        }
        xTicks = Ticks.of(xMin, xMax, Math.max(2, (int) ((right - left) / 110)));
        int labelWidth = 0;
        for (int i = 0; i < series.size(); i++) {
            PlotSeries s = series.get(i);
            var points = Downsample.toPixels(s, this::px, this::py);
            lines.add(new Line(s.label(), PALETTE[i % PALETTE.length], points, s.finiteCount() <= MARKER_LIMIT));
            labelWidth = Math.max(labelWidth, BitmapFont.width(s.label(), FONT_SCALE));
        }
        legendWidth = PAD + LEGEND_SWATCH + PAD + labelWidth + PAD;
        legendHeight = PAD + LEGEND_ROW * series.size() + PAD / 2;
        legendX = (int) right - PAD - legendWidth;
        legendY = (int) top + PAD;
    }

    /** Pixel x of data x. */
    double px(double x) {
        return left + (x - xMin) / (xMax - xMin) * (right - left);
    }

    /** Pixel y of data y (pixel rows grow downwards). */
    double py(double y) {
        return bottom - (y - yMin) / (yMax - yMin) * (bottom - top);
    }

    /**
     * The range of the finite x (or y) values of all series, widened when it is a single value so a lone
     * point or a constant series sits in the middle of the plot, and [0, 1] when there is no data at all.
     */
    private static double[] range(List<PlotSeries> series, boolean xAxis) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (PlotSeries s : series) {
            double[] v = xAxis ? s.x() : s.y();
            for (int i = 0; i < v.length; i++) {
                if (Double.isFinite(s.x()[i]) && Double.isFinite(s.y()[i])) {
                    min = Math.min(min, v[i]);
                    max = Math.max(max, v[i]);
                }
            }
        }
        if (min > max) return new double[] {0, 1};
        if (min == max) {
            double pad = min == 0 ? 1 : Math.abs(min) * 0.1;
            return new double[] {min - pad, max + pad};
        }
        return new double[] {min, max};
    }
}
