package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding libcusparseLt.so.0 on a machine without CUDA: in a wheel's nvidia/cusparselt/lib, by override, or a clear miss. */
class CusparseLtDiscoveryTest {

    @TempDir
    Path tmp;

    @Test
    void theWheelDirectoryOfAPythonEnvironmentIsFound() throws IOException {
        Path root = tmp.resolve("root");
        Path wheel = Files.createDirectories(root.resolve("opt/torch/.venv/lib/python3.12/site-packages/nvidia/cusparselt/lib"));
        Files.copy(systemLibrary(), wheel.resolve("libcusparseLt.so.0"));
        var standard = LibrarySearchPath.of(Map.of(), tmp.resolve("home"), root);
        // Without the dynamic linker, so that a real cuSPARSELt of this machine cannot answer instead.
        var path = new LibrarySearchPath(standard.overrideDirs(), false, standard.directories(), standard.wheelPatterns());
        var loaded = NativeLibraries.load(NativeLibraries.CUSPARSELT, path);
        assertEquals("libcusparseLt.so.0", loaded.fileName());
        assertEquals(wheel.resolve("libcusparseLt.so.0").toString(), loaded.location());
    }

    @Test
    void anOverrideDirectoryWinsOverTheWheel() throws IOException {
        Path root = tmp.resolve("root");
        Path wheel = Files.createDirectories(root.resolve("usr/local/lib/python3.11/dist-packages/nvidia/cusparselt/lib"));
        Path override = Files.createDirectories(tmp.resolve("override"));
        Files.copy(systemLibrary(), wheel.resolve("libcusparseLt.so.0"));
        Files.copy(systemLibrary(), override.resolve("libcusparseLt.so.0"));
        var standard = LibrarySearchPath.of(Map.of(LibrarySearchPath.OVERRIDE_VARIABLE, override.toString()), tmp.resolve("home"), root);
        var path = new LibrarySearchPath(standard.overrideDirs(), false, standard.directories(), standard.wheelPatterns());
        assertEquals(override.resolve("libcusparseLt.so.0").toString(), NativeLibraries.load(NativeLibraries.CUSPARSELT, path).location());
    }

    @Test
    void aMissingLibraryNamesTheSonameThePlacesAndTheVariable() {
        Path empty = tmp.resolve("empty");
        var path = new LibrarySearchPath(List.of(empty), false, List.of(), List.of("/opt/*/.venv/lib/python3*/site-packages"));
        var e = assertThrows(MissingLibraryException.class, () -> CusparseLt.load(path));
        String m = e.getMessage();
        assertEquals("libcusparseLt.so.0", e.fileName());
        assertTrue(m.contains("cuSPARSELt library (libcusparseLt.so.0 or libcusparseLt.so)"), m);
        assertTrue(m.contains(empty.toString()) && m.contains("nvidia/*/lib"), m);
        assertTrue(m.contains("Set SPARSETRAIN_CUDA_LIBS to the directory that holds libcusparseLt.so.0"), m);
    }

    @Test
    void aLibraryWithoutTheFunctionsIsReportedByTheMissingSymbol() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("fake"));
        Files.copy(systemLibrary(), dir.resolve("libcusparseLt.so.0"));
        var path = new LibrarySearchPath(List.of(dir), false, List.of(), List.of());
        var e = assertThrows(CudaException.class, () -> CusparseLt.load(path));
        assertTrue(e.getMessage().contains("has no function cusparseLtInit"), e.getMessage());
    }

    /** A shared object every glibc Linux has, standing in for cuSPARSELt: the loader checks it opens, not what it exports. */
    private static Path systemLibrary() {
        for (String dir : List.of("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib/aarch64-linux-gnu")) {
            for (String name : List.of("libz.so.1", "libm.so.6")) {
                Path p = Path.of(dir, name);
                if (Files.isRegularFile(p)) return p;
            }
        }
        throw new AssertionError("no libz.so.1 or libm.so.6 in the usual directories to stand in for a CUDA library");
    }
}
