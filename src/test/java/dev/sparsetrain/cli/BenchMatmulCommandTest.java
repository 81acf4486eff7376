package dev.sparsetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.sparsetrain.cpu.Parallel;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class BenchMatmulCommandTest {
    @TempDir
    Path tmp;

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        var cmd = new CommandLine(new BenchMatmulCommand());
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        return cmd.execute(args);
    }

    @Test
    void timesAllFourTransposesPerSizeAndWritesJson() throws Exception {
        Path json = tmp.resolve("out/matmul.json");
        int rc = run("--size", "48,67", "--iters", "2", "--peak-seconds", "0.02", "--json", json.toString());
        assertEquals(0, rc, out + "\n" + err);
        for (String op : new String[] {" A·B ", " A·Bᵀ ", " Aᵀ·B ", " Aᵀ·Bᵀ "}) {
            assertTrue(out.toString().contains(op), "table lacks " + op + ":\n" + out);
        }
        JsonObject doc = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertTrue(doc.get("peakGflops").getAsDouble() > 0, doc.toString());
        var results = doc.getAsJsonArray("results");
        assertEquals(8, results.size());
        Set<String> seen = new HashSet<>();
        for (var r : results) {
            JsonObject row = r.getAsJsonObject();
            double gflops = row.get("gflops").getAsDouble();
            assertTrue(gflops > 0 && Double.isFinite(gflops), row.toString());
            assertTrue(row.get("msBest").getAsDouble() <= row.get("msMedian").getAsDouble(), row.toString());
            seen.add(row.get("m").getAsInt() + (row.get("transA").getAsBoolean() ? "T" : "N") + (row.get("transB").getAsBoolean() ? "T" : "N"));
        }
        assertEquals(Set.of("48NN", "48NT", "48TN", "48TT", "67NN", "67NT", "67TN", "67TT"), seen);
    }

    @Test
    void refusesMoreThreadsThanThePool() {
        int rc = run("--threads", String.valueOf(Parallel.threads() + 1), "--size", "8", "--iters", "1");
        assertEquals(2, rc, out + "\n" + err);
        assertTrue(err.toString().contains("--threads must be between 1 and"), err.toString());
    }

    @Test
    void helpShowsEveryDefault() {
        assertEquals(0, run("--help"));
        String help = out.toString();
        for (String d : new String[] {"Default: 1024", "Default: 10.", "Default: 0.", "Default: 0.3"}) {
            assertTrue(help.contains(d), "help lacks '" + d + "':\n" + help);
        }
    }
}
