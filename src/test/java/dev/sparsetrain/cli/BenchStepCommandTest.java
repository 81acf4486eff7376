package dev.sparsetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.sparsetrain.train.OpCategory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code bench step} on a toy model: the table, the JSON and its consistency, the sparse phase, and refusals. */
class BenchStepCommandTest {
    private static final List<String> TOY = List.of("--set", "model.dim=32", "--set", "model.layers=2", "--set", "model.ffn_hidden=128",
            "--set", "model.seq_len=16", "--set", "train.batch_size=2", "--set", "model.vocab_size=256");

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        List<String> all = new ArrayList<>(TOY);
        all.addAll(List.of(args));
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = new CommandLine(new BenchStepCommand());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(all.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    private static JsonObject checkJson(Path json, String ffn, int iters) throws Exception {
        JsonObject root = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        for (String key : List.of("device", "threads", "params", "non_embedding_params", "tokens_per_step", "tokens_per_s", "step_ms_mean",
                "step_ms_median", "step_ms", "flops_formula", "flops_per_token", "achieved_tflops", "peak_tflops", "peak_source", "mfu",
                "profiled", "config")) {
            assertTrue(root.has(key), "JSON lacks " + key + ": " + root);
        }
        assertEquals(ffn, root.get("ffn").getAsString());
        assertEquals(2 * 16, root.get("tokens_per_step").getAsLong());
        assertTrue(root.get("tokens_per_s").getAsDouble() > 0, root.toString());
        assertTrue(root.get("mfu").getAsDouble() > 0, root.toString());
        assertEquals(iters, root.getAsJsonArray("step_ms").size());
        assertEquals("synthetic", root.getAsJsonObject("config").getAsJsonObject("data").get("source").getAsString());
        JsonObject profiled = root.getAsJsonObject("profiled");
        JsonObject breakdown = profiled.getAsJsonObject("breakdown");
        double sum = 0;
        for (OpCategory c : OpCategory.values()) {
            JsonObject o = breakdown.getAsJsonObject(c.label());
            assertTrue(o != null, "breakdown lacks " + c.label() + ": " + breakdown);
            sum += o.get("ms_per_step").getAsDouble();
        }
        double total = profiled.get("step_ms_mean").getAsDouble();
        assertTrue(sum > 0 && sum <= total, "categories sum to " + sum + " ms of a " + total + " ms profiled step");
        assertEquals(total - sum, profiled.get("other_ms_per_step").getAsDouble(), 1e-9 * total);
        assertTrue(breakdown.getAsJsonObject("gemm").get("calls_per_step").getAsDouble() > 0, breakdown.toString());
        return breakdown;
    }

    @Test
    void denseStepsPrintTheTableAndWriteJson(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("step.json");
        Run r = run("--warmup", "1", "--iters", "2", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        for (String s : List.of("tokens/s", "6N + 12*L*H*hd*S", "MFU", "measured fp32 FMA peak", "breakdown of the profiled step", "gemm", "attention", "other")) {
            assertTrue(r.out().contains(s), "output lacks '" + s + "':\n" + r.out());
        }
        JsonObject breakdown = checkJson(json, "dense", 2);
        assertEquals(0, breakdown.getAsJsonObject("sparse").get("calls_per_step").getAsDouble(), breakdown.toString());
    }

    @Test
    void sparseStepsAreTimedInTheSparsePhase(@TempDir Path dir) throws Exception {
        Path json = dir.resolve("step.json");
        Run r = run("--ffn", "sparse", "--warmup", "1", "--iters", "1", "--peak-tflops", "0.05", "--json", json.toString());
        assertEquals(0, r.code(), r.err());
        JsonObject breakdown = checkJson(json, "sparse", 1);
        assertTrue(breakdown.getAsJsonObject("sparse").get("calls_per_step").getAsDouble() > 0, "sparse kernels ran: " + breakdown);
        // The dense baseline ran first in the same process, and the speedups follow from the two step times.
        JsonObject root = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        double s = root.get("sparse_step_speedup").getAsDouble();
        assertEquals(root.get("dense_step_ms").getAsDouble() / root.get("step_ms_mean").getAsDouble(), s, 1e-9);
        assertEquals(2.0 / (1 / s + 1), root.get("whole_run_speedup_paper_1b").getAsDouble(), 1e-9);
        assertTrue(r.out().contains("whole run of the paper's 1B schedule"), r.out());
        assertEquals(0.05, root.get("peak_tflops").getAsDouble(), 1e-12);
        assertEquals("--peak-tflops", root.get("peak_source").getAsString());
    }

    @Test
    void refusesStepsAndABadPeak() {
        Run steps = run("--steps", "5");
        assertNotEquals(0, steps.code());
        assertTrue(steps.err().contains("use --iters instead of --steps"), steps.err());
        Run peak = run("--iters", "1", "--peak-tflops", "fast");
        assertNotEquals(0, peak.code());
        assertTrue(peak.err().contains("--peak-tflops must be a positive number or auto"), peak.err());
    }

    @Test
    void helpShowsEveryDefault() {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(new BenchStepCommand());
        cl.usage(new PrintWriter(out));
        String help = out.toString();
        for (String s : List.of("Default: dense", "Default: 3", "Default: 10", "Default: auto")) assertTrue(help.contains(s), help);
    }
}
