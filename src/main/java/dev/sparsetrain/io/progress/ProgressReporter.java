package dev.sparsetrain.io.progress;

import java.io.Console;
import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Shows training progress. On an interactive terminal it redraws one line in place with {@code \r}: a bar,
 * step/total, percentage, ETA and a caller-supplied status such as {@code loss 2.31 | 12.3k tok/s}. On
 * anything else (a log file, CI, a pipe) it prints a plain line every {@code plainEvery} steps and never
 * writes a carriage return or other control character, so logs stay greppable. Not thread-safe: the
 * training loop owns it.
 */
public final class ProgressReporter {
    private static final int BAR_WIDTH = 24;
    /** Redrawing more often than this is invisible and costs terminal I/O in fast loops. */
    private static final long REDRAW_NANOS = 100_000_000L;
    private static final int DEFAULT_COLUMNS = 100;

    private final PrintStream out;
    private final boolean terminal;
    private final long totalSteps;
    private final long plainEvery;
    private final LongSupplier nanoClock;
    private final int columns;

    private long firstStep = -1;
    private long firstNanos;
    private long lastDrawNanos;
    private boolean drawn;
    private int lastLength;
    private String lastLine = "";
    private long lastStep = -1;
    private long lastPrintedStep = -1;
    private String lastStatus = "";

    /**
     * A reporter writing to {@code out}. {@code terminal} selects in-place redraws; {@code columns} is the
     * terminal width a redrawn line is cut to (a wrapped line cannot be redrawn with {@code \r}).
     */
    public ProgressReporter(PrintStream out, boolean terminal, long totalSteps, long plainEvery, int columns,
            LongSupplier nanoClock) {
        if (totalSteps <= 0) throw new IllegalArgumentException("Progress total must be positive, got " + totalSteps);
        if (plainEvery <= 0) throw new IllegalArgumentException("Progress interval must be positive, got " + plainEvery);
        this.out = out;
        this.terminal = terminal;
        this.totalSteps = totalSteps;
        this.plainEvery = plainEvery;
        this.columns = Math.max(20, columns);
        this.nanoClock = nanoClock;
    }

    /** A reporter on standard output that redraws only when standard output is an interactive terminal. */
    public static ProgressReporter forStdout(long totalSteps, long plainEvery) {
        return new ProgressReporter(System.out, isInteractiveTerminal(), totalSteps, plainEvery, terminalColumns(),
                System::nanoTime);
    }

    /** True when the JVM runs attached to an interactive terminal (JDK 22+ has a console even when piped). */
    public static boolean isInteractiveTerminal() {
        Console console = System.console();
        return console != null && console.isTerminal();
    }

    /** Reports that {@code step} (1-based, at most the total) finished; {@code status} is shown after the ETA. */
    public void update(long step, String status) {
        long now = nanoClock.getAsLong();
        if (firstStep < 0) {
            // Measure speed from the first report, so a resumed run's ETA ignores the steps done before.
            firstStep = step;
            firstNanos = now;
        }
        lastStep = step;
        lastStatus = sanitize(status);
        if (terminal) {
            if (!drawn || step >= totalSteps || now - lastDrawNanos >= REDRAW_NANOS) {
                redraw(now);
            }
        } else if (step % plainEvery == 0 || step == totalSteps) {
            printPlain(now);
        }
    }

    /** Prints a line of its own (an eval result, a checkpoint notice) without garbling the bar. */
    public void message(String text) {
        if (terminal && drawn) {
            out.print("\r" + " ".repeat(lastLength) + "\r");
            out.println(sanitize(text));
            out.print(lastLine);
            out.flush();
        } else {
            out.println(sanitize(text));
        }
    }

    /** Ends the bar's line, or prints the last step in plain mode when it has not been printed yet. */
    public void finish() {
        if (lastStep < 0) return;
        long now = nanoClock.getAsLong();
        if (terminal) {
            redraw(now);
            out.println();
            drawn = false;
        } else if (lastPrintedStep != lastStep) {
            printPlain(now);
        }
        out.flush();
    }

    private void redraw(long now) {
        String line = bar() + " " + counts() + " " + eta(now) + suffix();
        if (line.length() > columns - 1) line = line.substring(0, columns - 1);
        // Spaces wipe what a longer previous line left behind; the cursor returns to the line's end.
        out.print("\r" + line + " ".repeat(Math.max(0, lastLength - line.length())));
        out.flush();
        lastLength = line.length();
        lastLine = "\r" + line;
        lastDrawNanos = now;
        drawn = true;
    }

    private void printPlain(long now) {
        out.println("step " + counts() + " " + eta(now) + suffix());
        out.flush();
        lastPrintedStep = lastStep;
    }

    private String bar() {
        double fraction = fraction();
        int filled = (int) Math.round(fraction * BAR_WIDTH);
        var b = new StringBuilder("[");
        for (int i = 0; i < BAR_WIDTH; i++) {
            b.append(i < filled ? '=' : i == filled ? '>' : ' ');
        }
        return b.append(']').toString();
    }

    private String counts() {
        return String.format(Locale.ROOT, "%d/%d (%.0f%%)", lastStep, totalSteps, 100 * fraction());
    }

    private double fraction() {
        return Math.clamp((double) lastStep / totalSteps, 0.0, 1.0);
    }

    private String eta(long now) {
        long done = lastStep - firstStep;
        long remaining = totalSteps - lastStep;
        if (remaining <= 0) return "eta 0s";
        if (done <= 0 || now <= firstNanos) return "eta --";
        double secondsPerStep = (now - firstNanos) / 1e9 / done;
        return "eta " + formatDuration(Math.round(secondsPerStep * remaining));
    }

    private String suffix() {
        return lastStatus.isEmpty() ? "" : " | " + lastStatus;
    }

    /** Compact durations: 42s, 3m05s, 2h07m, 4d03h. */
    static String formatDuration(long seconds) {
        if (seconds < 60) return seconds + "s";
        if (seconds < 3600) return String.format(Locale.ROOT, "%dm%02ds", seconds / 60, seconds % 60);
        if (seconds < 86400) return String.format(Locale.ROOT, "%dh%02dm", seconds / 3600, seconds % 3600 / 60);
        return String.format(Locale.ROOT, "%dd%02dh", seconds / 86400, seconds % 86400 / 3600);
    }

    /** Replaces control characters (C0, DEL, C1: line breaks, tabs, escapes) with spaces. */
    static String sanitize(String text) {
        if (text == null) return "";
        var b = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            b.append(Character.isISOControl(c) ? ' ' : c);
        }
        return b.toString();
    }

    private static int terminalColumns() {
        String env = System.getenv("COLUMNS");
        try {
            return env == null ? DEFAULT_COLUMNS : Integer.parseInt(env.trim());
        } catch (NumberFormatException e) {
            return DEFAULT_COLUMNS;
        }
    }
}
