package dev.sparsetrain.io.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressReporterTest {
    private static final long SECOND = 1_000_000_000L;

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    private long now;

    @Test
    void plainModePrintsEveryNStepsWithoutControlCharacters() {
        var p = new ProgressReporter(out, false, 100, 25, 80, () -> now);
        for (int step = 1; step <= 100; step++) {
            now = step * SECOND;
            p.update(step, "loss 2.31\r\u001B[2K | 12.3k tok/s\tok");
            if (step == 50) p.message("eval\rval_loss 2.40\n");
        }
        p.finish();
        String text = output();
        for (char c : text.toCharArray()) {
            assertTrue(c == '\n' || !Character.isISOControl(c), "control character " + (int) c + " in: " + text);
        }
        List<String> lines = text.lines().toList();
        assertEquals(5, lines.size(), text);
        assertTrue(lines.get(0).startsWith("step 25/100 (25%) eta 1m15s | loss 2.31"), lines.get(0));
        assertEquals("eval val_loss 2.40 ", lines.get(2));
        assertTrue(lines.get(4).startsWith("step 100/100 (100%) eta 0s"), lines.get(4));
    }

    @Test
    void plainModeFinishPrintsAnUnprintedLastStep() {
        var p = new ProgressReporter(out, false, 100, 25, 80, () -> now);
        p.update(30, "stopped early");
        p.finish();
        assertEquals(List.of("step 30/100 (30%) eta -- | stopped early"), output().lines().toList());
    }

    @Test
    void terminalModeRedrawsOneLineWithBarCountsAndEta() {
        var p = new ProgressReporter(out, true, 100, 25, 120, () -> now);
        now = 0;
        p.update(1, "loss 9.00");
        now = 10 * SECOND;
        p.update(11, "loss 4.00");
        String text = output();
        assertFalse(text.contains("\n"), "no new line while running: " + text);
        String last = text.substring(text.lastIndexOf('\r') + 1);
        // 10 steps in 10 s leave 89 steps: 1m29s.
        assertEquals("[===>                    ] 11/100 (11%) eta 1m29s | loss 4.00", last);
        p.finish();
        assertTrue(output().endsWith("\n"));
    }

    @Test
    void terminalModeSkipsRedrawsFasterThanTenPerSecondButAlwaysDrawsTheEnd() {
        var p = new ProgressReporter(out, true, 1000, 25, 120, () -> now);
        for (int step = 1; step <= 1000; step++) {
            now = step * 1_000_000L; // 1 ms per step
            p.update(step, "");
        }
        long redraws = output().chars().filter(c -> c == '\r').count();
        assertEquals(11, redraws, "first draw, one per 100 ms, and the final step");
        assertTrue(output().contains("1000/1000 (100%)"));
    }

    @Test
    void terminalLinesAreCutToTheWidthAndShorterLinesWipeLongerOnes() {
        var p = new ProgressReporter(out, true, 10, 1, 60, () -> now);
        p.update(1, "x".repeat(100));
        now = SECOND;
        p.update(2, "");
        String[] draws = output().split("\r", -1);
        assertEquals(59, draws[1].length(), "cut to the width minus one");
        assertEquals(59, draws[2].length(), "padded to wipe the previous line");
        assertTrue(draws[2].stripTrailing().endsWith("eta 8s"), draws[2]);
    }

    @Test
    void messageKeepsTheBarIntact() {
        var p = new ProgressReporter(out, true, 10, 1, 80, () -> now);
        p.update(3, "loss 3.0");
        p.message("saved checkpoint step_3");
        String text = output();
        String afterMessage = text.substring(text.indexOf("saved checkpoint step_3\n") + "saved checkpoint step_3\n".length());
        assertTrue(afterMessage.startsWith("\r[") && afterMessage.contains("3/10"), afterMessage);
    }

    @Test
    void durationsAreCompact() {
        assertEquals("0s", ProgressReporter.formatDuration(0));
        assertEquals("59s", ProgressReporter.formatDuration(59));
        assertEquals("3m05s", ProgressReporter.formatDuration(185));
        assertEquals("2h07m", ProgressReporter.formatDuration(2 * 3600 + 7 * 60 + 59));
        assertEquals("4d03h", ProgressReporter.formatDuration(4 * 86400 + 3 * 3600 + 10));
    }

    private String output() {
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
