package dev.sparsetrain.io.plot;

import dev.sparsetrain.io.AtomicFiles;
import dev.sparsetrain.io.metrics.MetricsTable;
import dev.sparsetrain.io.metrics.MetricsWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a run's loss curves as {@code loss.svg} and {@code loss.png} (x = step, y = loss; axes, ticks,
 * legend). Needs nothing outside {@code java.base}: the PNG comes from our own rasteriser and encoder.
 * Both files are replaced atomically, so a viewer never sees a half-written plot.
 */
public final class LossPlot {
    public static final String SVG_FILE = "loss.svg";
    public static final String PNG_FILE = "loss.png";
    public static final int WIDTH = 960;
    public static final int HEIGHT = 600;

    private LossPlot() {}

    /** Plots {@code series} (e.g. "train" and "val") into {@code dir}. */
    public static void write(Path dir, List<PlotSeries> series) throws IOException {
        var layout = new PlotLayout(series, WIDTH, HEIGHT, "step", "loss");
        AtomicFiles.writeString(dir.resolve(SVG_FILE), SvgPlot.render(layout));
        AtomicFiles.write(dir.resolve(PNG_FILE), PngEncoder.encode(PngPlot.render(layout, true)));
    }

    /**
     * Plots the {@code loss} column ("train") and, when present, the {@code val_loss} column ("val") of
     * {@code runDir/metrics.csv} into {@code runDir}.
     */
    public static void writeFromMetrics(Path runDir) throws IOException {
        MetricsTable table = MetricsTable.read(runDir.resolve(MetricsWriter.CSV_FILE));
        if (!table.columns().contains("loss")) {
            throw new IOException(runDir.resolve(MetricsWriter.CSV_FILE) + " has no 'loss' column to plot (columns: "
                    + table.columns() + ")");
        }
        double[] step = table.column("step");
        var series = new ArrayList<PlotSeries>();
        series.add(new PlotSeries("train", step, table.column("loss")));
        if (table.columns().contains("val_loss")) series.add(new PlotSeries("val", step, table.column("val_loss")));
        write(runDir, series);
    }

    /** The SVG document for {@code series} at the given size. */
    static String svg(List<PlotSeries> series, int width, int height) {
        return SvgPlot.render(new PlotLayout(series, width, height, "step", "loss"));
    }

    /** The PNG file bytes for {@code series} at the given size. */
    static byte[] png(List<PlotSeries> series, int width, int height, boolean antialias) {
        return PngEncoder.encode(PngPlot.render(new PlotLayout(series, width, height, "step", "loss"), antialias));
    }
}
