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

/** Library discovery on a machine without CUDA: search order, what is found, and what a miss says. */
class NativeLibrariesTest {

    @TempDir
    Path tmp;

    /** A search that sees only the override directories we give it, never the real machine. */
    private LibrarySearchPath isolated(Path... overrideDirs) {
        return new LibrarySearchPath(List.of(overrideDirs), false, List.of(), List.of("/opt/*/.venv/lib/python3*/site-packages"));
    }

    @Test
    void aMissingLibraryNamesTheFileEveryPlaceSearchedAndTheVariable() {
        Path empty = tmp.resolve("empty");
        var e = assertThrows(MissingLibraryException.class, () -> NativeLibraries.load(NativeLibraries.NVRTC, isolated(empty)));
        String m = e.getMessage();
        assertEquals("libnvrtc.so.13", e.fileName());
        assertTrue(m.contains("libnvrtc.so.13, libnvrtc.so.12 or libnvrtc.so"), m);
        assertTrue(m.contains(empty.toString()), m);
        assertTrue(m.contains("/opt/*/.venv/lib/python3*/site-packages"), m);
        assertTrue(m.contains("Set SPARSETRAIN_CUDA_LIBS to the directory that holds libnvrtc.so.13"), m);
    }

    @Test
    void noDriverIsReportedAsNoCudaWithTheFileAndTheVariable() {
        var e = assertThrows(CudaUnavailableException.class, () -> Driver.load(isolated(tmp)));
        assertTrue(e.getMessage().startsWith("no CUDA driver found (libcuda.so.1): "), e.getMessage());
        assertTrue(e.getMessage().contains("SPARSETRAIN_CUDA_LIBS"), e.getMessage());
        assertTrue(e.getMessage().contains("--device cpu"), e.getMessage());
    }

    @Test
    void theBackendWithoutADriverFailsAsUnavailableBeforeLookingForOtherLibraries() {
        var e = assertThrows(CudaUnavailableException.class,
                () -> CudaBackend.open(0, isolated(tmp), new KernelCache(tmp.resolve("cache")), java.util.Map::of, GemmPrecision.FP32));
        assertTrue(e.getMessage().contains("libcuda.so.1"), e.getMessage());
    }

    @Test
    void aFileThatIsNotALibraryIsReportedAndTheSearchGoesOn() throws IOException {
        // A real library marked for another CPU (ELF e_machine, bytes 18-19): the dynamic linker rejects
        // it before mapping anything, and its intact headers keep the JVM's executable-stack check quiet.
        byte[] elf = Files.readAllBytes(systemLibrary());
        int machine = (elf[18] & 0xff) | (elf[19] & 0xff) << 8;
        int other = machine == 62 ? 183 : 62; // x86-64 <-> AArch64
        elf[18] = (byte) other;
        elf[19] = (byte) (other >> 8);
        Files.write(tmp.resolve("libcublasLt.so.13"), elf);
        var e = assertThrows(MissingLibraryException.class, () -> NativeLibraries.load(NativeLibraries.CUBLASLT, isolated(tmp)));
        assertTrue(e.getMessage().contains(tmp.resolve("libcublasLt.so.13") + " exists but could not be loaded"), e.getMessage());
    }

    @Test
    void anOverrideDirectoryIsSearchedFirstAndItsLibraryLoaded() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("override"));
        // Any real shared object stands in for cuBLASLt: the loader checks it opens, not what it exports.
        Files.copy(systemLibrary(), dir.resolve("libcublasLt.so.12"));
        var loaded = NativeLibraries.load(NativeLibraries.CUBLASLT, isolated(tmp.resolve("missing"), dir));
        assertEquals("libcublasLt.so.12", loaded.fileName());
        assertEquals(dir.resolve("libcublasLt.so.12").toString(), loaded.location());
    }

    @Test
    void theSearchPathListsOverridesThenToolkitThenPythonWheelsInOrder() throws IOException {
        Path root = tmp.resolve("root"), home = tmp.resolve("home"), venv = tmp.resolve("venv");
        Path toolkit = Files.createDirectories(root.resolve("usr/local/cuda/lib64"));
        Path driverDir = Files.createDirectories(root.resolve("usr/lib/x86_64-linux-gnu"));
        Path venvWheel = Files.createDirectories(venv.resolve("lib/python3.11/site-packages/nvidia/cublas/lib"));
        Path optCu13 = Files.createDirectories(root.resolve("opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib"));
        Path optSparse = Files.createDirectories(root.resolve("opt/torch/.venv/lib/python3.12/site-packages/nvidia/cusparselt/lib"));
        Path dist = Files.createDirectories(root.resolve("usr/local/lib/python3.10/dist-packages/nvidia/nccl/lib"));
        Path user = Files.createDirectories(home.resolve(".local/lib/python3.12/site-packages/nvidia/cuda_nvrtc/lib"));
        Files.createDirectories(root.resolve("opt/other/.venv/lib/python3.12/site-packages")); // no nvidia folder: contributes nothing

        var path = LibrarySearchPath.of(Map.of("SPARSETRAIN_CUDA_LIBS", "/a/lib: :/b/lib", "VIRTUAL_ENV", venv.toString()), home, root);

        assertEquals(List.of(Path.of("/a/lib"), Path.of("/b/lib")), path.overrideDirs());
        assertTrue(path.systemLinker());
        assertEquals(List.of(toolkit, driverDir, venvWheel, optCu13, optSparse, dist, user), path.directories());
    }

    /** A shared object every glibc Linux has. */
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
