package dev.sparsetrain.io.metrics;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The numbers of a {@code metrics.csv}, column by column, for plotting a run (including the part logged
 * before a resume). Empty cells, {@code nan} and unparsable cells become NaN; a torn last line is skipped.
 */
public record MetricsTable(List<String> columns, List<double[]> values) {
    public MetricsTable {
        columns = List.copyOf(columns);
        values = List.copyOf(values);
    }

    /** Reads {@code csv}, written by {@link MetricsWriter}. */
    public static MetricsTable read(Path csv) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(csv, StandardCharsets.UTF_8)) {
            String header = in.readLine();
            if (header == null) throw new IOException(csv + " is empty; it has no header line");
            List<String> columns = List.of(header.split(",", -1));
            var rows = new ArrayList<double[]>();
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                String[] cells = line.split(",", -1);
                // A row cut off mid-write has too few cells; the step column must parse for the row to count.
                if (cells.length != columns.size() || Double.isNaN(parse(cells[0]))) continue;
                rows.add(Arrays.stream(cells).mapToDouble(MetricsTable::parse).toArray());
            }
            var values = new ArrayList<double[]>();
            for (int c = 0; c < columns.size(); c++) {
                double[] col = new double[rows.size()];
                for (int r = 0; r < col.length; r++) col[r] = rows.get(r)[c];
                values.add(col);
            }
            return new MetricsTable(columns, values);
        }
    }

    /** The values of {@code name}, one per row, or an empty array when the table has no such column. */
    public double[] column(String name) {
        int i = columns.indexOf(name);
        return i < 0 ? new double[0] : values.get(i);
    }

    public int rows() { return values.isEmpty() ? 0 : values.getFirst().length; }

    private static double parse(String cell) {
        return switch (cell) {
            case "inf" -> Double.POSITIVE_INFINITY;
            case "-inf" -> Double.NEGATIVE_INFINITY;
            default -> {
                try {
                    yield cell.isEmpty() ? Double.NaN : Double.parseDouble(cell);
                } catch (NumberFormatException e) {
                    yield Double.NaN;
                }
            }
        };
    }
}
