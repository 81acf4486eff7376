package dev.sparsetrain.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    @Test
    void everyPresetLoadsAndValidates() {
        for (String p : ConfigLoader.PRESETS) {
            RunConfig c = ConfigLoader.load(p, null, List.of());
            assertTrue(c.model().parameterCount() > 0, p);
        }
        RunConfig b1 = ConfigLoader.load("1b", null, List.of());
        // TARGETS.md: the 1b reference configuration has ~839M parameters.
        assertEquals(839, Math.round(b1.model().parameterCount() / 1e6), "1b parameter count in millions");
    }

    @Test
    void overridesAndFilesLayerOverThePreset(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("c.json");
        Files.writeString(file, "{\"extends\": \"tiny\", \"model\": {\"dim\": 64}, \"train\": {\"lr\": 0.01}}");
        RunConfig c = ConfigLoader.load(null, file, List.of("train.lr=0.02", "model.ffn=swiglu", "sparsity.enabled=false", "train.steps=7"));
        assertEquals(64, c.model().dim());
        assertEquals(0.02f, c.train().lr());
        assertEquals(FfnKind.SWIGLU, c.model().ffn());
        assertEquals(7, c.train().steps());
        assertEquals(ConfigLoader.load("tiny", null, List.of()).model().layers(), c.model().layers());
    }

    @Test
    void roundTripsThroughJson() {
        RunConfig c = ConfigLoader.load("125m", null, List.of());
        assertEquals(c, ConfigLoader.fromJson(ConfigLoader.toJson(c)));
    }

    @Test
    void badInputIsRejectedWithTheKeyNamed(@TempDir Path dir) throws Exception {
        assertMessage("unknown preset 'huge'", () -> ConfigLoader.load("huge", null, List.of()));
        assertMessage("unknown key 'train.lrr'", () -> ConfigLoader.load("tiny", null, List.of("train.lrr=1")));
        assertMessage("section.key=value", () -> ConfigLoader.load("tiny", null, List.of("lr=1")));
        assertMessage("heads must divide dim", () -> ConfigLoader.load("tiny", null, List.of("model.heads=3")));
        assertMessage("train.lr must be a positive number", () -> ConfigLoader.load("tiny", null, List.of("train.lr=-1")));
        assertMessage("data.source must be demo, shards or synthetic", () -> ConfigLoader.load("tiny", null, List.of("data.source=web")));
        assertMessage("the sparse FFN needs model.ffn=relu2", () -> ConfigLoader.load("tiny", null, List.of("model.ffn=swiglu")));
        assertMessage("sparsity.m must be a multiple of 4", () -> ConfigLoader.load("tiny", null, List.of("sparsity.m=6")));
        assertMessage("must be divisible by sparsity.m", () -> ConfigLoader.load("tiny", null, List.of("sparsity.m=12")));
        assertMessage("is after the end of the run", () -> ConfigLoader.load("tiny", null, List.of("sparsity.sparse_end=5000")));
        assertMessage("must not come after sparsity.sparse_end", () -> ConfigLoader.load("tiny", null, List.of("sparsity.sparse_start=0.9")));
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"model\": {\"dim\": }");
        assertMessage("is not valid JSON", () -> ConfigLoader.load("tiny", bad, List.of()));
        Path missing = dir.resolve("nope.json");
        assertMessage("cannot read config file", () -> ConfigLoader.load("tiny", missing, List.of()));
    }

    @Test
    void learningRateWarmsUpThenDecaysToTheFloor() {
        TrainConfig t = ConfigLoader.load("tiny", null, List.of("train.steps=1000", "train.warmup_steps=100", "train.min_lr_ratio=0.1")).train();
        assertEquals(t.lr() / 100, t.lrAt(1), 1e-9);
        assertEquals(t.lr(), t.lrAt(100), 1e-9);
        assertTrue(t.lrAt(500) < t.lr() && t.lrAt(500) > 0.1f * t.lr());
        assertEquals(0.1f * t.lr(), t.lrAt(1000), 1e-7);
        for (int s = 101; s < 1000; s++) assertTrue(t.lrAt(s + 1) <= t.lrAt(s), "cosine must not increase at step " + s);
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable e) {
        ConfigException ex = assertThrows(ConfigException.class, e);
        assertTrue(ex.getMessage().contains(expected), "message '" + ex.getMessage() + "' should contain '" + expected + "'");
    }
}
