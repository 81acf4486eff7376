package dev.sparsetrain.io.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.io.metrics.MetricsWriter;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

class LossPlotTest {
    private static final long SEED = 77L;

    @TempDir
    Path dir;

    @Test
    void pngIsValidAndShowsBothSeries() {
        var series = trainAndVal(2000, SEED);
        for (boolean antialias : new boolean[] {true, false}) {
            PngReader.Image img = PngReader.decode(LossPlot.png(series, 640, 400, antialias));
            assertEquals(640, img.width());
            assertEquals(400, img.height());
            assertTrue(img.count(PlotLayout.PALETTE[0]) > 500, "train line pixels (aa " + antialias + ")");
            assertTrue(img.count(PlotLayout.PALETTE[1]) > 50, "val line pixels (aa " + antialias + ")");
            assertTrue(img.count(PngPlot.BACKGROUND) > 640 * 400 / 2, "mostly background");
            assertTrue(img.count(PngPlot.TEXT) > 100, "tick labels drawn");
        }
    }

    @Test
    void antialiasingAddsIntermediateShadesOnlyWhenOn() {
        var series = List.of(new PlotSeries("train", new double[] {0, 1}, new double[] {0, 0.37}));
        PngReader.Image aa = PngReader.decode(LossPlot.png(series, 300, 200, true));
        PngReader.Image hard = PngReader.decode(LossPlot.png(series, 300, 200, false));
        assertTrue(countBlueTints(aa) > 0, "anti-aliased edge pixels");
        assertEquals(0, countBlueTints(hard), "no blended pixels without anti-aliasing");
    }

    @Test
    void svgIsWellFormedXmlWithAxesTicksLegendAndSeries() throws Exception {
        var series = trainAndVal(500, SEED + 1);
        Document doc = parseXml(LossPlot.svg(series, LossPlot.WIDTH, LossPlot.HEIGHT));
        assertEquals("svg", doc.getDocumentElement().getTagName());
        assertEquals(2, doc.getElementsByTagName("polyline").getLength());
        List<String> texts = texts(doc.getElementsByTagName("text"));
        assertTrue(texts.containsAll(List.of("step", "loss", "train", "val")), texts.toString());
        assertTrue(texts.contains("250") && texts.contains("500"), "x tick labels: " + texts);
        assertTrue(texts.stream().anyMatch(t -> t.matches("\\d+(\\.\\d+)?")) && texts.size() > 8, texts.toString());
    }

    @Test
    void labelsAreEscapedInSvg() throws Exception {
        var series = List.of(new PlotSeries("a<b & \"c\"\u0001", new double[] {1, 2}, new double[] {3, 4}));
        List<String> texts = texts(parseXml(LossPlot.svg(series, 400, 300)).getElementsByTagName("text"));
        assertTrue(texts.contains("a<b & \"c\""), texts.toString());
    }

    @Test
    void degenerateSeriesStillPlot() throws Exception {
        double nan = Double.NaN;
        List<List<PlotSeries>> cases = List.of(
                List.of(new PlotSeries("train", new double[] {5}, new double[] {2.3})),
                List.of(new PlotSeries("train", new double[] {1, 2, 3}, new double[] {4, 4, 4})),
                List.of(new PlotSeries("train", new double[] {1, 2, 3, 4}, new double[] {nan, 3, nan, 2})),
                List.of(new PlotSeries("train", new double[] {1, 2}, new double[] {nan, nan})),
                List.of(new PlotSeries("train", new double[] {1, 2}, new double[] {0, Double.POSITIVE_INFINITY})),
                List.of(new PlotSeries("train", new double[0], new double[0])),
                List.of());
        for (var series : cases) {
            PngReader.Image img = PngReader.decode(LossPlot.png(series, 400, 300, true));
            assertEquals(400, img.width());
            parseXml(LossPlot.svg(series, 400, 300));
            int finite = series.isEmpty() ? 0 : series.getFirst().finiteCount();
            if (finite > 0) {
                assertTrue(img.count(PlotLayout.PALETTE[0]) > 0, "line colour drawn for " + series);
            }
        }
    }

    @Test
    void hundredsOfThousandsOfPointsAreReducedPerPixelColumn() throws Exception {
        int n = 300_000;
        var rng = new SplittableRandom(SEED + 2);
        double[] x = new double[n];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = i + 1;
            y[i] = 3 + 8 * Math.exp(-i / 20_000.0) + rng.nextGaussian() * 0.1;
        }
        y[123_456] = 40; // a loss spike must survive downsampling
        var series = List.of(new PlotSeries("train", x, y));
        var layout = new PlotLayout(series, LossPlot.WIDTH, LossPlot.HEIGHT, "step", "loss");
        Downsample.Polyline line = layout.lines.getFirst().points();
        assertTrue(line.n() <= 4 * (layout.right - layout.left + 2), "points kept: " + line.n());
        double top = Double.POSITIVE_INFINITY;
        for (int i = 0; i < line.n(); i++) top = Math.min(top, line.ys()[i]);
        assertEquals(layout.py(40), top, 1e-9, "seed " + (SEED + 2) + ": spike kept");
        assertTrue(LossPlot.svg(series, LossPlot.WIDTH, LossPlot.HEIGHT).length() < 200_000, "SVG stays small");
        PngReader.decode(LossPlot.png(series, LossPlot.WIDTH, LossPlot.HEIGHT, true));
    }

    @Test
    void writesBothFilesFromMetricsWithoutTempFiles() throws IOException {
        try (var w = MetricsWriter.start(dir, List.of("step", "loss", "val_loss"))) {
            var rng = new SplittableRandom(SEED + 3);
            for (int s = 1; s <= 3000; s++) {
                double loss = 2.2 + 8.6 * Math.exp(-s / 400.0) + rng.nextGaussian() * 0.05;
                w.append(s, s % 250 == 0 ? Map.of("loss", loss, "val_loss", loss + 0.08) : Map.of("loss", loss));
            }
        }
        LossPlot.writeFromMetrics(dir);
        PngReader.Image img = PngReader.decode(Files.readAllBytes(dir.resolve(LossPlot.PNG_FILE)));
        assertEquals(LossPlot.WIDTH, img.width());
        assertTrue(img.count(PlotLayout.PALETTE[1]) > 0, "val series drawn");
        assertTrue(Files.readString(dir.resolve(LossPlot.SVG_FILE), StandardCharsets.UTF_8).contains("<polyline"));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("loss.png", "loss.svg", "metrics.csv", "metrics.jsonl"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    /** Pixels strictly between the train colour and white: what only anti-aliasing produces. */
    private static int countBlueTints(PngReader.Image img) {
        int n = 0;
        int line = PlotLayout.PALETTE[0];
        for (int y = 0; y < img.height(); y++) {
            for (int x = 0; x < img.width(); x++) {
                int c = img.get(x, y);
                int r = c >> 16 & 0xFF, g = c >> 8 & 0xFF, b = c & 0xFF;
                boolean between = r > (line >> 16) && r < 255 && g > (line >> 8 & 0xFF) && g < 255 && b > (line & 0xFF);
                // Text and grid are grey (r == g == b); a blend of blue into white is not.
                if (between && r != g) n++;
            }
        }
        return n;
    }

    private static List<PlotSeries> trainAndVal(int steps, long seed) {
        var rng = new SplittableRandom(seed);
        double[] x = new double[steps];
        double[] train = new double[steps];
        double[] val = new double[steps];
        for (int i = 0; i < steps; i++) {
            x[i] = i + 1;
            train[i] = 2 + 9 * Math.exp(-i / (steps / 6.0)) + rng.nextGaussian() * 0.05;
            val[i] = i % (steps / 10) == 0 ? train[i] + 0.1 : Double.NaN;
        }
        return List.of(new PlotSeries("train", x, train), new PlotSeries("val", x, val));
    }

    private static Document parseXml(String svg) throws Exception {
        var factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        return factory.newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<String> texts(NodeList nodes) {
        var out = new ArrayList<String>();
        for (int i = 0; i < nodes.getLength(); i++) out.add(nodes.item(i).getTextContent());
        return out;
    }
}
