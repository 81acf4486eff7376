package dev.sparsetrain.io.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TicksTest {
    @Test
    void niceValuesAndLabels() {
        assertEquals(List.of("0", "2", "4", "6", "8", "10"), labels(0, 10, 5));
        assertEquals(List.of("2.2", "2.4", "2.6", "2.8"), labels(2.1, 2.9, 4));
        assertEquals(List.of("0", "50k", "100k", "150k", "200k", "250k", "300k"), labels(0, 300_000, 5));
        assertEquals(List.of("10.0k", "10.5k", "11.0k", "11.5k", "12.0k"), labels(10_000, 12_000, 4));
        assertEquals(List.of("0", "0.5M", "1.0M", "1.5M", "2.0M"), labels(0, 2_000_000, 4));
        assertEquals(List.of("-0.10", "-0.05", "0", "0.05", "0.10"), labels(-0.1, 0.1, 4));
    }

    @Test
    void everyLabelCharacterHasAGlyph() {
        for (String s : List.of("step", "loss", "train", "val", "0123456789", ".-kM")) {
            for (char c : s.toCharArray()) assertTrue(BitmapFont.hasGlyph(c), "no glyph for '" + c + "'");
        }
    }

    private static List<String> labels(double min, double max, int target) {
        return Ticks.of(min, max, target).stream().map(Ticks.Tick::label).toList();
    }
}
