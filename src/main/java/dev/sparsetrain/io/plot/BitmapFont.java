package dev.sparsetrain.io.plot;

import java.util.HashMap;
import java.util.Map;

/**
 * A 5x8 pixel font (7 rows above the baseline, one for descenders) with the characters plot labels need:
 * digits, lower-case letters, M (for millions) and some punctuation. Upper-case letters without a glyph
 * are drawn in lower case; any other character as a hollow box, so a label never silently loses text.
 * Each glyph is eight rows of five bits, the highest bit the leftmost pixel.
 */
final class BitmapFont {
    static final int GLYPH_WIDTH = 5;
    static final int GLYPH_HEIGHT = 8;
    /** Glyph width plus one column of spacing. */
    static final int ADVANCE = GLYPH_WIDTH + 1;

    private static final Map<Character, int[]> GLYPHS = new HashMap<>();
    private static final int[] UNKNOWN = {0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111, 0};

    static {
        glyph(' ', 0, 0, 0, 0, 0, 0, 0, 0);
        glyph('0', 0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110, 0);
        glyph('1', 0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0);
        glyph('2', 0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111, 0);
        glyph('3', 0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110, 0);
        glyph('4', 0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010, 0);
        glyph('5', 0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110, 0);
        glyph('6', 0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110, 0);
        glyph('7', 0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0);
        glyph('8', 0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110, 0);
        glyph('9', 0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100, 0);
        glyph('.', 0, 0, 0, 0, 0, 0b01100, 0b01100, 0);
        glyph(',', 0, 0, 0, 0, 0, 0b01100, 0b00100, 0b01000);
        glyph('-', 0, 0, 0, 0b11111, 0, 0, 0, 0);
        glyph('+', 0, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0, 0);
        glyph(':', 0, 0b01100, 0b01100, 0, 0b01100, 0b01100, 0, 0);
        glyph('/', 0, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0, 0);
        glyph('(', 0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010, 0);
        glyph(')', 0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000, 0);
        glyph('%', 0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011, 0);
        glyph('_', 0, 0, 0, 0, 0, 0, 0, 0b11111);
        glyph('M', 0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001, 0);
        glyph('a', 0, 0, 0b01110, 0b00001, 0b01111, 0b10001, 0b01111, 0);
        glyph('b', 0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b11110, 0);
        glyph('c', 0, 0, 0b01110, 0b10000, 0b10000, 0b10001, 0b01110, 0);
        glyph('d', 0b00001, 0b00001, 0b01101, 0b10011, 0b10001, 0b10001, 0b01111, 0);
        glyph('e', 0, 0, 0b01110, 0b10001, 0b11111, 0b10000, 0b01110, 0);
        glyph('f', 0b00110, 0b01001, 0b01000, 0b11100, 0b01000, 0b01000, 0b01000, 0);
        glyph('g', 0, 0, 0b01111, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110);
        glyph('h', 0b10000, 0b10000, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0);
        glyph('i', 0b00100, 0, 0b01100, 0b00100, 0b00100, 0b00100, 0b01110, 0);
        glyph('j', 0b00010, 0, 0b00110, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100);
        glyph('k', 0b10000, 0b10000, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0);
        glyph('l', 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110, 0);
        glyph('m', 0, 0, 0b11010, 0b10101, 0b10101, 0b10001, 0b10001, 0);
        glyph('n', 0, 0, 0b10110, 0b11001, 0b10001, 0b10001, 0b10001, 0);
        glyph('o', 0, 0, 0b01110, 0b10001, 0b10001, 0b10001, 0b01110, 0);
        glyph('p', 0, 0, 0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000);
        glyph('q', 0, 0, 0b01101, 0b10011, 0b10001, 0b01111, 0b00001, 0b00001);
        glyph('r', 0, 0, 0b10110, 0b11001, 0b10000, 0b10000, 0b10000, 0);
        glyph('s', 0, 0, 0b01110, 0b10000, 0b01110, 0b00001, 0b11110, 0);
        glyph('t', 0b01000, 0b01000, 0b11100, 0b01000, 0b01000, 0b01001, 0b00110, 0);
        glyph('u', 0, 0, 0b10001, 0b10001, 0b10001, 0b10011, 0b01101, 0);
        glyph('v', 0, 0, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0);
        glyph('w', 0, 0, 0b10001, 0b10001, 0b10101, 0b10101, 0b01010, 0);
        glyph('x', 0, 0, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0);
        glyph('y', 0, 0, 0b10001, 0b10001, 0b10001, 0b01111, 0b00001, 0b01110);
        glyph('z', 0, 0, 0b11111, 0b00010, 0b00100, 0b01000, 0b11111, 0);
    }

    private BitmapFont() {}

    private static void glyph(char c, int... rows) {
        GLYPHS.put(c, rows);
    }

    /** Width in pixels of {@code text} drawn at {@code scale}, without trailing spacing. */
    static int width(String text, int scale) {
        return text.isEmpty() ? 0 : (text.length() * ADVANCE - 1) * scale;
    }

    /** Height in pixels of a line of text at {@code scale}, descenders included. */
    static int height(int scale) {
        return GLYPH_HEIGHT * scale;
    }

    /** Draws {@code text} with its top-left corner at ({@code x}, {@code y}), each font pixel a scale x scale block. */
    static void draw(RgbImage image, String text, int x, int y, int scale, int color) {
        for (int i = 0; i < text.length(); i++) {
            int[] rows = glyphFor(text.charAt(i));
            int gx = x + i * ADVANCE * scale;
            for (int r = 0; r < GLYPH_HEIGHT; r++) {
                for (int c = 0; c < GLYPH_WIDTH; c++) {
                    if ((rows[r] >> (GLYPH_WIDTH - 1 - c) & 1) != 0) {
                        image.fillRect(gx + c * scale, y + r * scale, scale, scale, color);
                    }
                }
            }
        }
    }

    static boolean hasGlyph(char c) {
        return GLYPHS.containsKey(c);
    }

    private static int[] glyphFor(char c) {
        int[] rows = GLYPHS.get(c);
        if (rows == null) rows = GLYPHS.get(Character.toLowerCase(c));
        return rows == null ? UNKNOWN : rows;
    }
}
