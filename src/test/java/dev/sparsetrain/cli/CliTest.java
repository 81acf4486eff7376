package dev.sparsetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.train.TinyCorpus;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CliTest {

    private record Result(int code, String out, String err) {}

    private static Result run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            int code = cl.execute(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString());
        } finally {
            System.setOut(old);
        }
    }

    @Test
    void helpListsTheCommandsAndDefaults() {
        CommandLine cl = Main.commandLine();
        String usage = cl.getUsageMessage();
        for (String c : List.of("train", "compare", "sample", "prepare", "bench")) assertTrue(usage.contains(c), usage);
        String train = cl.getSubcommands().get("train").getUsageMessage();
        assertTrue(train.replaceAll("\\s+", " ").contains("(default: cpu)"), train);
    }

    @Test
    void trainThenSampleFromTheRun(@TempDir Path dir) throws Exception {
        Path shards = TinyCorpus.prepare(dir, 7);
        List<String> args = new ArrayList<>(List.of("train", "--quiet", "--out", dir.resolve("run").toString()));
        for (String o : TinyCorpus.overrides(shards, 6)) args.addAll(List.of("--set", o));
        Result train = run(args.toArray(String[]::new));
        assertEquals(0, train.code(), train.err());
        assertTrue(train.out().contains("final val loss"), train.out());
        Result sample = run("sample", "--run", dir.resolve("run").toString(), "--prompt", "the ", "--tokens", "20", "--seed", "3");
        assertEquals(0, sample.code(), sample.err());
        String text = sample.out().strip();
        assertTrue(text.startsWith("the ") && text.length() > 4, text);
    }

    @Test
    void compareTrainsBothAndWritesOneSummary(@TempDir Path dir) throws Exception {
        Path shards = TinyCorpus.prepare(dir, 11);
        List<String> args = new ArrayList<>(List.of("compare", "--quiet", "--out", dir.resolve("cmp").toString()));
        for (String o : TinyCorpus.overrides(shards, 6, "sparsity.sparse_start=2", "sparsity.sparse_end=4", "sparsity.v=4")) {
            args.addAll(List.of("--set", o));
        }
        Result r = run(args.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("sparse vs dense: validation loss"), r.out());
        var summary = com.google.gson.JsonParser.parseString(java.nio.file.Files.readString(dir.resolve("cmp/summary.json"))).getAsJsonObject();
        assertTrue(summary.getAsJsonObject("sparse").getAsJsonObject("config").getAsJsonObject("sparsity").get("enabled").getAsBoolean());
        assertTrue(!summary.getAsJsonObject("dense").getAsJsonObject("config").getAsJsonObject("sparsity").get("enabled").getAsBoolean());
        assertEquals(2, summary.getAsJsonObject("sparse").getAsJsonObject("phase_steps").get("sparse").getAsInt());
        assertTrue(java.nio.file.Files.exists(dir.resolve("cmp/dense/loss.png")));
    }

    @Test
    void userErrorsAreOneLineWithExitCode2(@TempDir Path dir) {
        Result badKey = run("train", "--set", "train.nope=1", "--out", dir.resolve("x").toString());
        assertEquals(2, badKey.code());
        assertTrue(badKey.err().startsWith("error: unknown key 'train.nope'"), badKey.err());
        Result noRun = run("sample", "--run", dir.resolve("missing").toString());
        assertEquals(2, noRun.code());
        assertTrue(noRun.err().contains("train a model first"), noRun.err());
        Result badDevice = run("train", "--device", "tpu", "--out", dir.resolve("y").toString());
        assertEquals(2, badDevice.code());
        assertTrue(badDevice.err().contains("unknown --device 'tpu'"), badDevice.err());
    }
}
