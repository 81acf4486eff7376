package dev.sparsetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code bench ffn} on a toy shape: the table, the JSON file, and a clear refusal of an impossible M. */
class BenchFfnCommandTest {

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = new CommandLine(new BenchFfnCommand());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void printsATableAndWritesJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("ffn.json");
        Run r = run("--shapes", "128x16x64", "--m", "4,8", "--runs", "1", "--warmup", "0", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("T=128 d=16 F=64: dense relu² FFN"), r.out());
        assertTrue(r.out().contains("gemm1+pack"), r.out());
        JsonObject root = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        JsonObject shape = root.getAsJsonArray("shapes").get(0).getAsJsonObject();
        assertEquals(128, shape.get("tokens").getAsInt());
        assertTrue(shape.get("dense_ms").getAsDouble() > 0, shape.toString());
        var sparse = shape.getAsJsonArray("sparse");
        assertEquals(2, sparse.size());
        JsonObject m8 = sparse.get(1).getAsJsonObject();
        assertEquals(8, m8.get("m").getAsInt());
        assertTrue(m8.get("sparse_ms").getAsDouble() > 0, m8.toString());
        assertTrue(m8.getAsJsonObject("parts_ms").has("gemm6"), m8.toString());
    }

    @Test
    void refusesAnMThatDoesNotDivideTheHiddenWidth() {
        Run r = run("--shapes", "128x16x64", "--m", "12", "--runs", "1", "--warmup", "0");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("M=12 must be a multiple of 4 dividing F=64"), r.err());
    }
}
