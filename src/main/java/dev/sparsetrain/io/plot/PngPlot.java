package dev.sparsetrain.io.plot;

import dev.sparsetrain.io.plot.Ticks.Tick;

/** Draws a {@link PlotLayout} into an {@link RgbImage}. */
final class PngPlot {
    static final int BACKGROUND = 0xFFFFFF;
    static final int GRID = 0xE4E4E4;
    static final int AXIS = 0x333333;
    static final int TEXT = 0x222222;
    private static final int TICK_LENGTH = 5;

    private PngPlot() {}

    static RgbImage render(PlotLayout l, boolean antialias) {
        var img = new RgbImage(l.width, l.height, BACKGROUND);
        int left = (int) Math.round(l.left), right = (int) Math.round(l.right);
        int top = (int) Math.round(l.top), bottom = (int) Math.round(l.bottom);
        int scale = PlotLayout.FONT_SCALE;
        int textHeight = BitmapFont.height(scale);
        // Glyph bodies are the top 7 of 8 rows; centre on those, not on the descender row.
        int bodyCentre = 7 * scale / 2;

        for (Tick t : l.yTicks) {
            int y = (int) Math.round(l.py(t.value()));
            img.fillRect(left, y, right - left, 1, GRID);
            img.fillRect(left - TICK_LENGTH, y, TICK_LENGTH, 1, AXIS);
            int w = BitmapFont.width(t.label(), scale);
            BitmapFont.draw(img, t.label(), left - TICK_LENGTH - PlotLayout.PAD / 2 - w, y - bodyCentre, scale, TEXT);
        }
        for (Tick t : l.xTicks) {
            int x = (int) Math.round(l.px(t.value()));
            img.fillRect(x, top, 1, bottom - top, GRID);
            img.fillRect(x, bottom, 1, TICK_LENGTH, AXIS);
            int w = BitmapFont.width(t.label(), scale);
            BitmapFont.draw(img, t.label(), x - w / 2, bottom + TICK_LENGTH + PlotLayout.PAD, scale, TEXT);
        }
        img.fillRect(left, top, right - left + 1, 1, AXIS);
        img.fillRect(left, bottom, right - left + 1, 1, AXIS);
        img.fillRect(left, top, 1, bottom - top + 1, AXIS);
        img.fillRect(right, top, 1, bottom - top + 1, AXIS);

        int xLabelWidth = BitmapFont.width(l.xLabel, scale);
        BitmapFont.draw(img, l.xLabel, (left + right - xLabelWidth) / 2, l.height - PlotLayout.PAD - textHeight, scale, TEXT);
        BitmapFont.draw(img, l.yLabel, 2 * PlotLayout.PAD, PlotLayout.PAD, scale, TEXT);

        for (PlotLayout.Line line : l.lines) {
            var p = line.points();
            img.strokePolyline(p.xs(), p.ys(), p.n(), PlotLayout.LINE_WIDTH, line.color(), antialias);
            if (line.markers()) {
                for (int i = 0; i < p.n(); i++) {
                    img.fillCircle(p.xs()[i], p.ys()[i], PlotLayout.MARKER_RADIUS, line.color(), antialias);
                }
            }
        }
        drawLegend(img, l, antialias);
        return img;
    }

    private static void drawLegend(RgbImage img, PlotLayout l, boolean antialias) {
        if (l.lines.isEmpty()) return;
        img.fillRect(l.legendX, l.legendY, l.legendWidth, l.legendHeight, GRID);
        img.fillRect(l.legendX + 1, l.legendY + 1, l.legendWidth - 2, l.legendHeight - 2, BACKGROUND);
        int scale = PlotLayout.FONT_SCALE;
        for (int i = 0; i < l.lines.size(); i++) {
            PlotLayout.Line line = l.lines.get(i);
            int rowTop = l.legendY + PlotLayout.PAD + i * PlotLayout.LEGEND_ROW;
            double y = rowTop + 7 * scale / 2.0;
            double x0 = l.legendX + PlotLayout.PAD, x1 = x0 + PlotLayout.LEGEND_SWATCH;
            img.strokePolyline(new double[] {x0, x1}, new double[] {y, y}, 2, PlotLayout.LINE_WIDTH, line.color(), antialias);
            BitmapFont.draw(img, line.label(), (int) x1 + PlotLayout.PAD, rowTop, scale, TEXT);
        }
    }
}
