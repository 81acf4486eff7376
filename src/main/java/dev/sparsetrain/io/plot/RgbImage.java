package dev.sparsetrain.io.plot;

/**
 * An 8-bit RGB pixel buffer with the few drawing operations a line plot needs. Exists because the
 * product's runtime has no {@code java.desktop} module, so AWT images are not available.
 *
 * <p>Pixel (x, y) covers the square [x, x+1) x [y, y+1); its centre is (x + 0.5, y + 0.5). Colours are
 * {@code 0xRRGGBB}.
 */
final class RgbImage {
    private final int width;
    private final int height;
    private final byte[] rgb;

    RgbImage(int width, int height, int background) {
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("Image size " + width + "x" + height);
        this.width = width;
        this.height = height;
        this.rgb = new byte[Math.multiplyExact(Math.multiplyExact(width, height), 3)];
        fillRect(0, 0, width, height, background);
    }

    int width() { return width; }
    int height() { return height; }

    /** The pixels row by row, three bytes (R, G, B) each; the live buffer, not a copy. */
    byte[] pixels() { return rgb; }

    /** Fills the rectangle clipped to the image. */
    void fillRect(int x, int y, int w, int h, int color) {
        int x0 = Math.max(0, x), y0 = Math.max(0, y);
        int x1 = Math.min(width, x + w), y1 = Math.min(height, y + h);
        for (int py = y0; py < y1; py++) {
            for (int px = x0; px < x1; px++) set(px, py, color);
        }
    }

    /**
     * Strokes the polyline through the first {@code n} points with a round-capped line of {@code lineWidth}
     * pixels. A pixel's coverage is the largest over all segments (not their sum), so joints are not
     * darker than the line. With {@code antialias} the edge fades over one pixel; without, pixels are on or
     * off. A single point draws a dot.
     */
    void strokePolyline(double[] xs, double[] ys, int n, double lineWidth, int color, boolean antialias) {
        if (n == 0) return;
        double half = lineWidth / 2;
        // The coverage buffer spans only the polyline's bounding box, not the whole image.
        double minX = xs[0], maxX = xs[0], minY = ys[0], maxY = ys[0];
        for (int i = 1; i < n; i++) {
            minX = Math.min(minX, xs[i]);
            maxX = Math.max(maxX, xs[i]);
            minY = Math.min(minY, ys[i]);
            maxY = Math.max(maxY, ys[i]);
        }
        int bx0 = clamp((int) Math.floor(minX - half - 1), width);
        int bx1 = clamp((int) Math.ceil(maxX + half + 1), width);
        int by0 = clamp((int) Math.floor(minY - half - 1), height);
        int by1 = clamp((int) Math.ceil(maxY + half + 1), height);
        int bw = bx1 - bx0;
        if (bw <= 0 || by1 <= by0) return;
        float[] coverage = new float[bw * (by1 - by0)];
        for (int i = 0; i < Math.max(1, n - 1); i++) {
            int j = Math.min(i + 1, n - 1);
            double ax = xs[i], ay = ys[i], bx = xs[j], by = ys[j];
            int x0 = Math.clamp((long) Math.floor(Math.min(ax, bx) - half - 1), bx0, bx1);
            int x1 = Math.clamp((long) Math.ceil(Math.max(ax, bx) + half + 1), bx0, bx1);
            int y0 = Math.clamp((long) Math.floor(Math.min(ay, by) - half - 1), by0, by1);
            int y1 = Math.clamp((long) Math.ceil(Math.max(ay, by) + half + 1), by0, by1);
            for (int py = y0; py < y1; py++) {
                for (int px = x0; px < x1; px++) {
                    double d = distanceToSegment(px + 0.5, py + 0.5, ax, ay, bx, by);
                    float c = coverage(d, half, antialias);
                    int k = (py - by0) * bw + px - bx0;
                    if (c > coverage[k]) coverage[k] = c;
                }
            }
        }
        for (int py = by0; py < by1; py++) {
            for (int px = bx0; px < bx1; px++) {
                float c = coverage[(py - by0) * bw + px - bx0];
                if (c > 0) blend(px, py, color, c);
            }
        }
    }

    /** Fills a disc of {@code radius} pixels centred on ({@code cx}, {@code cy}). */
    void fillCircle(double cx, double cy, double radius, int color, boolean antialias) {
        strokePolyline(new double[] {cx}, new double[] {cy}, 1, 2 * radius, color, antialias);
    }

    /** Mixes {@code color} into the pixel with weight {@code alpha} in [0, 1]. */
    void blend(int x, int y, int color, float alpha) {
        if (x < 0 || y < 0 || x >= width || y >= height) return;
        int i = (y * width + x) * 3;
        for (int ch = 0; ch < 3; ch++) {
            int src = color >> (16 - 8 * ch) & 0xFF;
            int dst = rgb[i + ch] & 0xFF;
            rgb[i + ch] = (byte) Math.round(dst + (src - dst) * alpha);
        }
    }

    private void set(int x, int y, int color) {
        int i = (y * width + x) * 3;
        rgb[i] = (byte) (color >> 16);
        rgb[i + 1] = (byte) (color >> 8);
        rgb[i + 2] = (byte) color;
    }

    private static float coverage(double distance, double half, boolean antialias) {
        if (!antialias) return distance <= half ? 1f : 0f;
        return (float) Math.clamp(half + 0.5 - distance, 0.0, 1.0);
    }

    private static int clamp(int v, int limit) {
        return Math.clamp(v, 0, limit);
    }

    static double distanceToSegment(double px, double py, double ax, double ay, double bx, double by) {
        double dx = bx - ax, dy = by - ay;
        double len2 = dx * dx + dy * dy;
        double t = len2 == 0 ? 0 : Math.clamp(((px - ax) * dx + (py - ay) * dy) / len2, 0.0, 1.0);
        double ex = ax + t * dx - px, ey = ay + t * dy - py;
        return Math.sqrt(ex * ex + ey * ey);
    }
}
