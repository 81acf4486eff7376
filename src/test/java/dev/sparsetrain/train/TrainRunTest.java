package dev.sparsetrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.io.safetensors.SafeTensorsFile;
import dev.sparsetrain.io.safetensors.SafeTensorsFormatException;
import dev.sparsetrain.tensor.Backend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** End-to-end runs of a very small model: outputs, resume equality and the bad-input paths. */
class TrainRunTest {
    static final long SEED = 20261128L;

    @TempDir
    static Path shared;
    static Path shards;

    @BeforeAll
    static void prepareCorpus() throws IOException {
        shards = TinyCorpus.prepare(shared, SEED);
    }

    static RunConfig config(int steps, String... extra) {
        return TinyCorpus.config(shards, steps, extra);
    }

    static TrainRun.RunSummary run(RunConfig c, Path out, Path resume) throws IOException {
        try (Backend b = new CpuBackend()) {
            return new TrainRun(c, new TrainOptions(out, resume, shared, true), b, System.out).execute();
        }
    }

    @Test
    void writesEveryOutputAndTheLossFalls(@TempDir Path out) throws IOException {
        TrainRun.RunSummary s = run(config(30, "train.eval_every=10", "train.checkpoint_every=10"), out, null);
        for (String f : List.of("config.json", "metrics.csv", "metrics.jsonl", "loss.png", "loss.svg", "summary.json", "checkpoints/latest")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        JsonObject summary = JsonParser.parseString(Files.readString(out.resolve("summary.json"))).getAsJsonObject();
        for (String k : List.of("final_val_loss", "final_val_bpb", "tokens", "tokens_per_second", "wall_seconds")) assertTrue(summary.has(k), k);
        assertEquals(30L * 4 * 16, s.tokens());
        List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
        assertEquals(31, csv.size(), "header + one row per step");
        double first = Double.parseDouble(csv.get(1).split(",")[1]);
        assertTrue(s.finalTrainLoss() < first - 1.0, "loss should fall from " + first + " but ended at " + s.finalTrainLoss());
        // bytes tokenizer: one byte per token, so bits per byte is the loss in bits.
        assertEquals(s.finalValLoss() / Math.log(2), s.finalValBpb(), 1e-9);
    }

    @Test
    void resumeContinuesBitForBit(@TempDir Path dir) throws IOException {
        resumeEqualsStraight(dir, config(6));
    }

    @Test
    void resumeInsideTheSparsePhaseContinuesBitForBitThroughTheSwitchToDense(@TempDir Path dir) throws IOException {
        // Dense warmup steps 1-2, sparse 3-4, dense finish 5-6; the checkpoint at step 3 is inside the sparse phase.
        RunConfig c = config(6, "sparsity.enabled=true", "sparsity.sparse_start=2", "sparsity.sparse_end=4", "sparsity.v=4");
        resumeEqualsStraight(dir, c);
        JsonObject state = Checkpoints.readState(dir.resolve("straight/checkpoints/step_0000003"));
        assertEquals("sparse", state.getAsJsonObject("sparse_state").get("phase").getAsString());
        List<String> csv = Files.readAllLines(dir.resolve("straight/metrics.csv"));
        int phase = List.of(csv.get(0).split(",")).indexOf("phase");
        assertEquals(List.of("0", "0", "1", "1", "2", "2"), csv.subList(1, 7).stream().map(l -> l.split(",")[phase]).map(x -> x.replace(".0", "")).toList());
    }

    private static void resumeEqualsStraight(Path dir, RunConfig config) throws IOException {
        Path straight = dir.resolve("straight"), split = dir.resolve("split");
        run(config, straight, null);
        // The split run stops at step 3 (its checkpoint), then a fresh process state resumes to step 6.
        Files.createDirectories(split.resolve("checkpoints"));
        copyTree(straight.resolve("checkpoints/step_0000003"), split.resolve("checkpoints/step_0000003"));
        Files.writeString(split.resolve("checkpoints/latest"), "step_0000003\n");
        Files.copy(straight.resolve("metrics.csv"), split.resolve("metrics.csv"));
        Files.copy(straight.resolve("metrics.jsonl"), split.resolve("metrics.jsonl"));
        run(config, split, Checkpoints.resolve(split));
        for (String file : List.of("model.safetensors", "optimizer.safetensors")) {
            try (SafeTensorsFile a = SafeTensorsFile.open(straight.resolve("checkpoints/step_0000006").resolve(file));
                 SafeTensorsFile b = SafeTensorsFile.open(split.resolve("checkpoints/step_0000006").resolve(file))) {
                assertEquals(a.tensors().keySet(), b.tensors().keySet());
                for (String name : a.tensors().keySet()) assertArrayEquals(a.readFloats(name), b.readFloats(name), file + " " + name);
            }
        }
        assertEquals(Files.readAllLines(straight.resolve("metrics.csv")).size(), Files.readAllLines(split.resolve("metrics.csv")).size());
    }

    @Test
    void refusesToOverwriteARunAndExplainsUnwritableDirectories(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("run");
        run(config(3), out, null);
        var again = assertThrows(TrainRun.RunDirectoryException.class, () -> run(config(3), out, null));
        assertTrue(again.getMessage().contains("--resume"), again.getMessage());
        Path file = Files.writeString(dir.resolve("plain-file"), "x");
        var bad = assertThrows(TrainRun.RunDirectoryException.class, () -> run(config(3), file.resolve("sub"), null));
        assertTrue(bad.getMessage().contains("not writable"), bad.getMessage());
    }

    @Test
    void checkpointsOfAnotherShapeOrCorruptOnesAreRefused(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("run");
        run(config(3), out, null);
        Path ckpt = Checkpoints.resolve(out);
        var shape = assertThrows(Checkpoints.CheckpointException.class,
                () -> run(config(6, "model.dim=48", "model.heads=2"), dir.resolve("other"), ckpt));
        assertTrue(shape.getMessage().contains("dim 32 (checkpoint) vs 48 (this run)"), shape.getMessage());
        Path model = ckpt.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(model);
        Files.write(model, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertThrows(SafeTensorsFormatException.class, () -> run(config(6), dir.resolve("third"), ckpt));
    }

    @Test
    void nonFiniteLossesAreSkippedThenStopTheRun() throws IOException {
        RunConfig c = config(20, "train.max_bad_steps=3");
        try (Backend b = new CpuBackend(); DataSources data = DataSources.open(c, shared);
             Trainer t = new Trainer(c, b, data.train(), data.validation())) {
            StepStats ok = t.trainStep();
            assertTrue(Double.isFinite(ok.loss()) && !ok.skipped());
            var layout = t.model().layout();
            float[] norm = b.toHost(layout.view(t.model().parameters(), "final_norm"));
            norm[0] = Float.NaN;
            b.upload(layout.view(t.model().parameters(), "final_norm"), norm, 0);
            float[] before = b.toHost(t.model().parameters());
            assertTrue(t.trainStep().skipped());
            assertTrue(t.trainStep().skipped());
            assertArrayEquals(before, b.toHost(t.model().parameters()), "skipped steps must not touch the parameters");
            var stop = assertThrows(NonFiniteLossException.class, t::trainStep);
            assertTrue(stop.getMessage().contains("step 4") && stop.getMessage().contains("3 non-finite steps in a row"), stop.getMessage());
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
    }
}
