package dev.sparsetrain.io.metrics;

import dev.sparsetrain.io.AtomicFiles;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Appends one row per logged step to {@code metrics.csv} and the same row as a JSON object to
 * {@code metrics.jsonl} in a run directory. Each row is flushed as it is written, so a crash loses at
 * most the row being written, and such a torn last line is dropped on resume. Resuming from a checkpoint
 * first removes the rows logged after that checkpoint's step, so the files never hold a step twice.
 *
 * <p>Missing values are an empty CSV cell and JSON {@code null}; non-finite values are {@code nan},
 * {@code inf} and {@code -inf} in the CSV (Python and pandas read these) and {@code null} in JSON,
 * which has no such numbers.
 */
public final class MetricsWriter implements Closeable {
    public static final String CSV_FILE = "metrics.csv";
    public static final String JSONL_FILE = "metrics.jsonl";
    private static final Pattern COLUMN_NAME = Pattern.compile("[A-Za-z0-9_./-]+");

    private final List<String> columns;
    private final Writer csv;
    private final Writer jsonl;
    private long lastStep;

    private MetricsWriter(List<String> columns, Writer csv, Writer jsonl, long lastStep) {
        this.columns = columns;
        this.csv = csv;
        this.jsonl = jsonl;
        this.lastStep = lastStep;
    }

    /**
     * Starts the metrics of a new run in {@code runDir}. {@code columns} must begin with {@code step}.
     * Refuses to overwrite the metrics of another run.
     */
    public static MetricsWriter start(Path runDir, List<String> columns) throws IOException {
        List<String> cols = checkColumns(columns);
        for (String name : List.of(CSV_FILE, JSONL_FILE)) {
            Path p = runDir.resolve(name);
            if (Files.exists(p) && Files.size(p) > 0) {
                throw new IOException(p + " already exists. Resume that run, or start the new run in another directory.");
            }
        }
        MetricsWriter w = open(runDir, cols, -1);
        w.csv.write(String.join(",", cols) + "\n");
        w.csv.flush();
        return w;
    }

    /**
     * Continues the metrics of a run resumed from the checkpoint of {@code resumeStep}: rows with a larger
     * step (logged after that checkpoint, before the run stopped) are removed, then new rows are appended.
     * Missing files are started afresh; an existing CSV must have exactly {@code columns} as its header.
     */
    public static MetricsWriter resume(Path runDir, List<String> columns, long resumeStep) throws IOException {
        List<String> cols = checkColumns(columns);
        Path csvPath = runDir.resolve(CSV_FILE);
        String header = String.join(",", cols);
        long lastKept = -1;
        if (Files.exists(csvPath)) {
            lastKept = MetricsTruncation.truncate(csvPath, resumeStep, MetricsTruncation.csvRows(header));
        }
        Path jsonlPath = runDir.resolve(JSONL_FILE);
        if (Files.exists(jsonlPath)) {
            MetricsTruncation.truncate(jsonlPath, resumeStep, MetricsTruncation.JSONL_ROWS);
        }
        // Truncation empties a CSV whose only line was a torn header, so test for the header afterwards.
        boolean needsHeader = !Files.exists(csvPath) || Files.size(csvPath) == 0;
        MetricsWriter w = open(runDir, cols, lastKept);
        if (needsHeader) {
            w.csv.write(header + "\n");
            w.csv.flush();
        }
        return w;
    }

    /** The columns, {@code step} first. */
    public List<String> columns() { return columns; }

    /**
     * Appends the row of {@code step}, which must be larger than every step already written. Keys of
     * {@code values} must be columns other than {@code step}; columns without a key are left empty.
     */
    public void append(long step, Map<String, Double> values) throws IOException {
        if (step <= lastStep) {
            throw new IllegalArgumentException("Metrics step " + step + " is not after the last written step "
                    + lastStep + "; steps must increase");
        }
        for (String key : values.keySet()) {
            if (key.equals("step") || !columns.contains(key)) {
                throw new IllegalArgumentException("Metric '" + key + "' is not one of the value columns "
                        + columns.subList(1, columns.size()));
            }
        }
        var csvRow = new StringBuilder().append(step);
        var jsonRow = new StringBuilder().append("{\"step\":").append(step);
        for (String col : columns.subList(1, columns.size())) {
            Double v = values.get(col);
            csvRow.append(',');
            if (v != null) csvRow.append(csvNumber(v));
            jsonRow.append(",\"").append(col).append("\":")
                    .append(v == null || !Double.isFinite(v) ? "null" : finiteNumber(v));
        }
        csv.write(csvRow.append('\n').toString());
        jsonl.write(jsonRow.append("}\n").toString());
        csv.flush();
        jsonl.flush();
        lastStep = step;
    }

    /** Flushes and closes both files; closing again does nothing. */
    @Override
    public void close() throws IOException {
        if (closed) return;
        closed = true;
        try (csv; jsonl) {
            csv.flush();
            jsonl.flush();
        }
    }

    private boolean closed;

    private static MetricsWriter open(Path runDir, List<String> cols, long lastStep) throws IOException {
        BufferedWriter csv = append(runDir.resolve(CSV_FILE));
        try {
            return new MetricsWriter(cols, csv, append(runDir.resolve(JSONL_FILE)), lastStep);
        } catch (IOException | RuntimeException e) {
            csv.close();
            throw e;
        }
    }

    private static BufferedWriter append(Path p) throws IOException {
        return Files.newBufferedWriter(p, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    private static List<String> checkColumns(List<String> columns) {
        if (columns.isEmpty() || !columns.getFirst().equals("step")) {
            throw new IllegalArgumentException("Metrics columns must start with 'step', got " + columns);
        }
        var seen = new HashSet<String>();
        for (String c : columns) {
            if (!COLUMN_NAME.matcher(c).matches()) {
                throw new IllegalArgumentException("Metrics column '" + c + "' may use only letters, digits and _./-");
            }
            if (!seen.add(c)) throw new IllegalArgumentException("Metrics column '" + c + "' appears twice");
        }
        return List.copyOf(columns);
    }

    static String csvNumber(double v) {
        if (Double.isNaN(v)) return "nan";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        return finiteNumber(v);
    }

    /** Whole numbers without a fraction ({@code 12000} rather than {@code 12000.0}) so the files read naturally. */
    private static String finiteNumber(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }
}
