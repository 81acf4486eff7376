package dev.sparsetrain.io.plot;

import dev.sparsetrain.io.plot.Ticks.Tick;
import java.util.Locale;

/** Writes a {@link PlotLayout} as an SVG document (scalable, and readable by any browser). */
final class SvgPlot {
    private static final int FONT_SIZE = 14;
    private static final int TICK_LENGTH = 5;

    private SvgPlot() {}

    static String render(PlotLayout l) {
        var s = new StringBuilder();
        s.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        s.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
                        + " font-family=\"sans-serif\" font-size=\"%d\">%n", l.width, l.height, l.width, l.height, FONT_SIZE));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"%s\"/>%n",
                l.width, l.height, color(PngPlot.BACKGROUND)));
        s.append("<g stroke=\"").append(color(PngPlot.GRID)).append("\" stroke-width=\"1\">\n");
        for (Tick t : l.yTicks) line(s, l.left, l.py(t.value()), l.right, l.py(t.value()));
        for (Tick t : l.xTicks) line(s, l.px(t.value()), l.top, l.px(t.value()), l.bottom);
        s.append("</g>\n");
        s.append("<g stroke=\"").append(color(PngPlot.AXIS)).append("\" stroke-width=\"1\">\n");
        for (Tick t : l.yTicks) line(s, l.left - TICK_LENGTH, l.py(t.value()), l.left, l.py(t.value()));
        for (Tick t : l.xTicks) line(s, l.px(t.value()), l.bottom, l.px(t.value()), l.bottom + TICK_LENGTH);
        s.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\"/>%n",
                l.left, l.top, l.right - l.left, l.bottom - l.top));
        s.append("</g>\n");
        s.append("<g fill=\"").append(color(PngPlot.TEXT)).append("\">\n");
        for (Tick t : l.yTicks) {
            text(s, l.left - TICK_LENGTH - PlotLayout.PAD / 2.0, l.py(t.value()), "end", "middle", t.label());
        }
        for (Tick t : l.xTicks) {
            text(s, l.px(t.value()), l.bottom + TICK_LENGTH + PlotLayout.PAD, "middle", "hanging", t.label());
        }
        text(s, (l.left + l.right) / 2, l.height - PlotLayout.PAD, "middle", "auto", l.xLabel);
        text(s, 2 * PlotLayout.PAD, PlotLayout.PAD, "start", "hanging", l.yLabel);
        s.append("</g>\n");
        for (PlotLayout.Line line : l.lines) series(s, line);
        legend(s, l);
        s.append("</svg>\n");
        return s.toString();
    }

    private static void series(StringBuilder s, PlotLayout.Line line) {
        var p = line.points();
        if (p.n() == 0) return;
        String c = color(line.color());
        s.append("<polyline fill=\"none\" stroke=\"").append(c).append("\" stroke-width=\"")
                .append(num(PlotLayout.LINE_WIDTH)).append("\" stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"");
        for (int i = 0; i < p.n(); i++) {
            if (i > 0) s.append(' ');
            s.append(num(p.xs()[i])).append(',').append(num(p.ys()[i]));
        }
        s.append("\"/>\n");
        if (line.markers()) {
            s.append("<g fill=\"").append(c).append("\">\n");
            for (int i = 0; i < p.n(); i++) {
                s.append("<circle cx=\"").append(num(p.xs()[i])).append("\" cy=\"").append(num(p.ys()[i]))
                        .append("\" r=\"").append(num(PlotLayout.MARKER_RADIUS)).append("\"/>\n");
            }
            s.append("</g>\n");
        }
    }

    private static void legend(StringBuilder s, PlotLayout l) {
        if (l.lines.isEmpty()) return;
        s.append(String.format(Locale.ROOT,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"%s\"/>%n",
                l.legendX, l.legendY, l.legendWidth, l.legendHeight, color(PngPlot.BACKGROUND), color(PngPlot.GRID)));
        for (int i = 0; i < l.lines.size(); i++) {
            PlotLayout.Line line = l.lines.get(i);
            double rowTop = l.legendY + PlotLayout.PAD + i * PlotLayout.LEGEND_ROW;
            double y = rowTop + 7 * PlotLayout.FONT_SCALE / 2.0;
            double x0 = l.legendX + PlotLayout.PAD, x1 = x0 + PlotLayout.LEGEND_SWATCH;
            s.append("<line x1=\"").append(num(x0)).append("\" y1=\"").append(num(y)).append("\" x2=\"").append(num(x1))
                    .append("\" y2=\"").append(num(y)).append("\" stroke=\"").append(color(line.color()))
                    .append("\" stroke-width=\"").append(num(PlotLayout.LINE_WIDTH)).append("\"/>\n");
            s.append("<g fill=\"").append(color(PngPlot.TEXT)).append("\">");
            text(s, x1 + PlotLayout.PAD, y, "start", "middle", line.label());
            s.append("</g>\n");
        }
    }

    private static void line(StringBuilder s, double x1, double y1, double x2, double y2) {
        s.append("<line x1=\"").append(num(x1)).append("\" y1=\"").append(num(y1)).append("\" x2=\"").append(num(x2))
                .append("\" y2=\"").append(num(y2)).append("\"/>\n");
    }

    private static void text(StringBuilder s, double x, double y, String anchor, String baseline, String content) {
        s.append("<text x=\"").append(num(x)).append("\" y=\"").append(num(y)).append("\" text-anchor=\"").append(anchor)
                .append("\" dominant-baseline=\"").append(baseline).append("\">").append(escape(content)).append("</text>\n");
    }

    private static String num(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    private static String color(int rgb) {
        return String.format(Locale.ROOT, "#%06x", rgb);
    }

    /** Escapes text for XML content, dropping control characters XML 1.0 forbids. */
    static String escape(String text) {
        var out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                default -> {
                    if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') out.append(c);
                }
            }
        }
        return out.toString();
    }
}
