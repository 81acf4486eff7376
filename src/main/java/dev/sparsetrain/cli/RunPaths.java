package dev.sparsetrain.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/** Where runs and the demo corpus live, relative to the installation and the working directory. */
final class RunPaths {
    static final Path RUNS = Path.of("runs");

    private RunPaths() {}

    /** The repository's (or bundle's) data/ folder: the launcher passes -Dsparsetrain.home. */
    static Path dataRoot() {
        String home = System.getProperty("sparsetrain.home");
        return (home != null ? Path.of(home) : Path.of("")).resolve("data").toAbsolutePath();
    }

    /** runs/PREFIX-yyyyMMdd-HHmmss under the working directory. */
    static Path newRunDir(String prefix) {
        return RUNS.resolve(prefix + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    }

    /** Points runs/last at {@code runDir}, replacing the link atomically, so `sample` finds the newest run. */
    static void markLast(Path runDir) throws IOException {
        markLast(RUNS, runDir);
    }

    /**
     * Points {@code runs}/last at {@code runDir}; creates {@code runs} first, since a resumed run may
     * live elsewhere and this working directory may never have had a run.
     */
    static void markLast(Path runs, Path runDir) throws IOException {
        Files.createDirectories(runs);
        Path link = runs.resolve("last");
        Path tmp = runs.resolve(".last-" + ProcessHandle.current().pid());
        Files.deleteIfExists(tmp);
        Files.createSymbolicLink(tmp, runs.toAbsolutePath().relativize(runDir.toAbsolutePath()));
        Files.move(tmp, link, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
}
