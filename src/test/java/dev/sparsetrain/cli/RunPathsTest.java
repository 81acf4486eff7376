package dev.sparsetrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The runs/last link: made where no runs folder exists yet (a resumed run that lives elsewhere), and moved on. */
class RunPathsTest {
    @Test
    void lastIsCreatedWithItsFolderAndThenReplaced(@TempDir Path dir) throws IOException {
        Path runs = dir.resolve("work/runs"), elsewhere = Files.createDirectories(dir.resolve("tmp/run-a"));
        RunPaths.markLast(runs, elsewhere);
        assertEquals(elsewhere.toRealPath(), runs.resolve("last").toRealPath(), "a run outside runs/, before runs/ existed");
        Path inside = Files.createDirectories(runs.resolve("tiny-b"));
        RunPaths.markLast(runs, inside);
        assertEquals(inside.toRealPath(), runs.resolve("last").toRealPath());
        try (var left = Files.list(runs)) {
            assertEquals(2, left.count(), "only last and tiny-b: no temporary link left behind");
        }
    }
}
