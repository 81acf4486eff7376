package dev.sparsetrain.io.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsWriterTest {
    private static final List<String> COLUMNS = List.of("step", "loss", "val_loss", "lr", "tokens_per_s");

    @TempDir
    Path dir;

    @Test
    void writesCsvAndJsonLinesWithMissingAndNonFiniteValues() throws IOException {
        try (var w = MetricsWriter.start(dir, COLUMNS)) {
            w.append(1, values(2.5, null, 3.0e-4, 12000.0));
            w.append(2, values(Double.NaN, 2.25, 1.5e-4, Double.POSITIVE_INFINITY));
        }
        assertEquals("""
                step,loss,val_loss,lr,tokens_per_s
                1,2.5,,3.0E-4,12000
                2,nan,2.25,1.5E-4,inf
                """, Files.readString(dir.resolve(MetricsWriter.CSV_FILE)));
        assertEquals("""
                {"step":1,"loss":2.5,"val_loss":null,"lr":3.0E-4,"tokens_per_s":12000}
                {"step":2,"loss":null,"val_loss":2.25,"lr":1.5E-4,"tokens_per_s":null}
                """, Files.readString(dir.resolve(MetricsWriter.JSONL_FILE)));
    }

    @Test
    void resumeDropsRowsAfterTheCheckpointSoNoStepRepeats() throws IOException {
        try (var w = MetricsWriter.start(dir, COLUMNS)) {
            for (long s = 1; s <= 10; s++) w.append(s, Map.of("loss", 10.0 - s / 2.0));
        }
        try (var w = MetricsWriter.resume(dir, COLUMNS, 6)) {
            assertThrows(IllegalArgumentException.class, () -> w.append(6, Map.of("loss", 1.0)));
            for (long s = 7; s <= 12; s++) w.append(s, Map.of("loss", 1.0 / s));
        }
        List<String> csv = Files.readAllLines(dir.resolve(MetricsWriter.CSV_FILE));
        assertEquals(String.join(",", COLUMNS), csv.getFirst());
        assertEquals(1, csv.stream().filter(l -> l.startsWith("step")).count(), "header written once");
        assertArrayEquals(LongStream.rangeClosed(1, 12).toArray(),
                csv.stream().skip(1).mapToLong(l -> Long.parseLong(l.split(",")[0])).toArray());
        assertEquals("6,7,,,", csv.get(6), "rows up to the resume step are kept unchanged");
        assertEquals("7,0.14285714285714285,,,", csv.get(7), "rows after it come from the resumed run");
        List<String> jsonl = Files.readAllLines(dir.resolve(MetricsWriter.JSONL_FILE));
        assertEquals(12, jsonl.size());
        for (int i = 0; i < 12; i++) assertTrue(jsonl.get(i).startsWith("{\"step\":" + (i + 1) + ","), jsonl.get(i));

        MetricsTable t = MetricsTable.read(dir.resolve(MetricsWriter.CSV_FILE));
        assertEquals(12, t.rows());
        assertEquals(7.0, t.column("loss")[5]);
        assertTrue(Double.isNaN(t.column("val_loss")[0]));
    }

    @Test
    void resumeDropsATornLastLine() throws IOException {
        try (var w = MetricsWriter.start(dir, COLUMNS)) {
            for (long s = 1; s <= 3; s++) w.append(s, Map.of("loss", 3.0));
        }
        Files.writeString(dir.resolve(MetricsWriter.CSV_FILE), "4,2.", StandardOpenOption.APPEND);
        Files.writeString(dir.resolve(MetricsWriter.JSONL_FILE), "{\"step\":4,\"lo", StandardOpenOption.APPEND);
        try (var w = MetricsWriter.resume(dir, COLUMNS, 100)) {
            w.append(4, Map.of("loss", 2.0));
        }
        List<String> csv = Files.readAllLines(dir.resolve(MetricsWriter.CSV_FILE));
        assertEquals(List.of("step,loss,val_loss,lr,tokens_per_s", "1,3,,,", "2,3,,,", "3,3,,,", "4,2,,,"), csv);
        List<String> jsonl = Files.readAllLines(dir.resolve(MetricsWriter.JSONL_FILE));
        assertEquals(4, jsonl.size());
        assertEquals("{\"step\":4,\"loss\":2,\"val_loss\":null,\"lr\":null,\"tokens_per_s\":null}", jsonl.get(3));
    }

    @Test
    void resumeWithoutFilesStartsThem() throws IOException {
        try (var w = MetricsWriter.resume(dir, COLUMNS, 50)) {
            w.append(51, Map.of("lr", 0.001));
        }
        assertEquals(List.of("step,loss,val_loss,lr,tokens_per_s", "51,,,0.001,"),
                Files.readAllLines(dir.resolve(MetricsWriter.CSV_FILE)));
    }

    @Test
    void refusesToMixRuns() throws IOException {
        try (var w = MetricsWriter.start(dir, COLUMNS)) {
            w.append(1, Map.of("loss", 1.0));
        }
        var e = assertThrows(IOException.class, () -> MetricsWriter.start(dir, COLUMNS));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        var h = assertThrows(IOException.class, () -> MetricsWriter.resume(dir, List.of("step", "loss"), 1));
        assertTrue(h.getMessage().contains("step,loss,val_loss,lr,tokens_per_s"), h.getMessage());
    }

    @Test
    void rejectsBadColumnsAndValues() throws IOException {
        assertThrows(IllegalArgumentException.class, () -> MetricsWriter.start(dir, List.of("loss", "step")));
        assertThrows(IllegalArgumentException.class, () -> MetricsWriter.start(dir, List.of("step", "a,b")));
        assertThrows(IllegalArgumentException.class, () -> MetricsWriter.start(dir, List.of("step", "x", "x")));
        try (var w = MetricsWriter.start(dir, COLUMNS)) {
            var e = assertThrows(IllegalArgumentException.class, () -> w.append(1, Map.of("mfu", 0.4)));
            assertTrue(e.getMessage().contains("'mfu'"), e.getMessage());
            w.append(5, Map.of());
            assertThrows(IllegalArgumentException.class, () -> w.append(5, Map.of()));
            assertThrows(IllegalArgumentException.class, () -> w.append(4, Map.of()));
        }
    }

    @Test
    void corruptRowInTheMiddleIsReportedWithItsLine() throws IOException {
        Files.writeString(dir.resolve(MetricsWriter.CSV_FILE), "step,loss,val_loss,lr,tokens_per_s\n1,2,,,\nabc,3,,,\n4,1,,,\n");
        var e = assertThrows(IOException.class, () -> MetricsWriter.resume(dir, COLUMNS, 10));
        assertTrue(e.getMessage().contains("Line 3") && e.getMessage().contains("metrics.csv"), e.getMessage());
    }

    private static Map<String, Double> values(Double loss, Double valLoss, Double lr, Double tokensPerSecond) {
        var m = new LinkedHashMap<String, Double>();
        if (loss != null) m.put("loss", loss);
        if (valLoss != null) m.put("val_loss", valLoss);
        if (lr != null) m.put("lr", lr);
        if (tokensPerSecond != null) m.put("tokens_per_s", tokensPerSecond);
        return m;
    }
}
