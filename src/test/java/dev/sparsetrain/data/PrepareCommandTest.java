package dev.sparsetrain.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.cli.PrepareCommand;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PrepareCommandTest {
    @TempDir
    Path dir;

    private record Result(int exit, String out, String err) {}

    private static Result run(String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        var cl = new CommandLine(new PrepareCommand()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    @Test
    void writesShardsAndReportsThem() throws IOException {
        Path train = Files.createDirectories(dir.resolve("train"));
        Files.writeString(train.resolve("a.txt"), "The quick brown fox jumps over the lazy dog. ".repeat(20));
        Path val = Files.writeString(dir.resolve("held.txt"), "A held-out book about foxes.");
        Path out = dir.resolve("out");
        Result r = run("--train", train.toString(), "--val", val.toString(), "--tokenizer", "gpt2",
                "--out", out.toString(), "--shard-tokens", "64");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("train_000000.bin") && r.out().contains("train_000003.bin")
                && r.out().contains("val_000000.bin") && r.out().contains("bytes/token"), r.out());
        assertTrue(Files.isRegularFile(out.resolve("manifest.json")));
        assertEquals("gpt2", PreparedCorpus.load(out).manifest().tokenizer());

        Result noVal = run("--train", train.toString(), "--val", "--out", dir.resolve("out2").toString());
        assertEquals(0, noVal.exit(), noVal.err());
        assertTrue(PreparedCorpus.load(dir.resolve("out2")).valShards().isEmpty(), "--val with no value means no validation data");
    }

    @Test
    void unknownTokenizerIsAUsageErrorListingValidNames() {
        Result r = run("--tokenizer", "sentencepiece", "--out", dir.resolve("o").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("sentencepiece") && r.err().contains("bytes, gpt2, cl100k, o200k"), r.err());
        assertFalse(Files.exists(dir.resolve("o")), "nothing written on a usage error");
    }

    @Test
    void helpShowsEveryDefault() {
        Result r = run("--help");
        assertEquals(0, r.exit());
        String help = r.out().replaceAll("\\s+", " ");
        for (String expected : new String[] {"default: data/train", "default: data/val", "default: bytes", "default: runs/tokens",
                "default: 10000000"}) {
            assertTrue(help.contains(expected), "help lacks '" + expected + "':\n" + r.out());
        }
        assertFalse(r.out().contains("${DEFAULT-VALUE}"), r.out());
    }
}
