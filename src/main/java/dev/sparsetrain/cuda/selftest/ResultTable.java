package dev.sparsetrain.cuda.selftest;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Prints selftest rows as they arrive (a crash mid-way still shows what passed), then a summary. */
public final class ResultTable {
    private static final String FORMAT = "%-34s %-34s %12s %12s %9s  %s%n";

    private final PrintStream out;
    private final List<CheckRow> failed = new ArrayList<>();
    private int rows;

    public ResultTable(PrintStream out) { this.out = out; }

    public void header() {
        out.printf(Locale.ROOT, FORMAT, "op", "shape", "max abs err", "max rel err", "tolerance", "result");
    }

    public void row(CheckRow r) {
        rows++;
        if (!r.passed()) failed.add(r);
        out.printf(Locale.ROOT, FORMAT, r.op(), r.shape(), number(r.maxAbsError()), number(r.maxRelError()), number(r.tolerance()),
                r.error() != null ? "ERROR" : r.passed() ? "PASS" : "FAIL");
    }

    /** Prints the summary and the errors of rows that threw; returns the number of failed rows. */
    public int finish() {
        out.println();
        for (CheckRow r : failed) {
            if (r.error() != null) out.println("error in " + r.op() + ": " + r.error());
        }
        out.printf(Locale.ROOT, "%d checks, %d passed, %d failed%n", rows, rows - failed.size(), failed.size());
        return failed.size();
    }

    private static String number(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.3e", v);
    }
}
