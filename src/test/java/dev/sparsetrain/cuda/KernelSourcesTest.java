package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Kernel sources and their headers are found next to the classes, in a directory build and in a jar alike. */
class KernelSourcesTest {
    private static final Map<String, String> FILES = Map.of(
            "kernels/add.cu", "extern \"C\" __global__ void add() {}",
            "kernels/norm.cu", "#include \"half.cuh\"\nextern \"C\" __global__ void norm() {}",
            "kernels/half.cuh", "#pragma once\n__device__ inline float half(float x) { return x / 2; }",
            "kernels/README.md", "not a kernel",
            "kernels/lab/old.cu", "a kernel lab version, not shipped",
            "presets/tiny.json", "{}");

    @TempDir
    Path tmp;

    @Test
    void aClassesDirectoryYieldsItsTopLevelCuFiles() throws IOException {
        Path classes = tmp.resolve("classes");
        for (var f : FILES.entrySet()) {
            Path p = classes.resolve(f.getKey());
            Files.createDirectories(p.getParent());
            Files.writeString(p, f.getValue());
        }
        assertEquals(expected(), KernelSources.load(classes));
    }

    @Test
    void aJarYieldsTheSame() throws IOException {
        Path jar = tmp.resolve("app.jar");
        try (OutputStream file = Files.newOutputStream(jar); var zip = new ZipOutputStream(file)) {
            zip.putNextEntry(new ZipEntry("kernels/"));
            zip.closeEntry();
            for (var f : FILES.entrySet()) {
                zip.putNextEntry(new ZipEntry(f.getKey()));
                zip.write(f.getValue().getBytes(StandardCharsets.UTF_8));
                zip.closeEntry();
            }
        }
        assertEquals(expected(), KernelSources.load(jar));
    }

    @Test
    void headersAreTheCuhFiles() {
        assertTrue(KernelSources.isHeader("half.cuh"));
        assertFalse(KernelSources.isHeader("norm.cu"));
    }

    @Test
    void noKernelsIsABrokenBuild() throws IOException {
        Path classes = Files.createDirectories(tmp.resolve("classes/kernels"));
        var e = assertThrows(CudaException.class, () -> KernelSources.load(classes.getParent()));
        assertTrue(e.getMessage().contains("no kernels/*.cu kernel sources"), e.getMessage());
    }

    private static Map<String, String> expected() {
        return Map.of("add.cu", FILES.get("kernels/add.cu"), "norm.cu", FILES.get("kernels/norm.cu"), "half.cuh", FILES.get("kernels/half.cuh"));
    }
}
