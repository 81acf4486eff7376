package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA kernel sources without a GPU: every .cu resource compiles with nvcc for sm_90a without
 * a warning or a register spill (skipped only where nvcc is not on the PATH), and the sources and
 * {@link CudaKernels} agree on which kernels exist.
 */
class KernelCompileTest {
    /**
     * Every kernel source: those of {@link CudaKernels}, the GEMM operand conversion of {@link ConvertKernels}, the sparse FFN's
     * {@link SparseFfnKernels} and its device router {@link RoutingKernels}.
     */
    private static final List<String> ALL_SOURCES = Stream.of(CudaKernels.SOURCES, ConvertKernels.SOURCES, SparseFfnKernels.SOURCES, RoutingKernels.SOURCES)
            .flatMap(List::stream).toList();

    @Test
    void everySourceCompilesWithNvccWithoutWarningsOrSpills(@TempDir Path dir) throws Exception {
        Path nvcc = onPath("nvcc");
        assumeTrue(nvcc != null, "nvcc is not on the PATH; the CUDA kernels are compile-checked where it is (CI)");
        var problems = new ArrayList<String>();
        for (String source : ALL_SOURCES) {
            Path file = dir.resolve(source);
            Files.writeString(file, KernelSignatures.text(source));
            // -cubin compiles the device code only, like NVRTC at run time; -warn-spills turns a
            // register spill, which would silently cost the kernel its speed, into a warning.
            var command = List.of(nvcc.toString(), "-cubin", "-arch=sm_90a", "-std=c++17", "-Xptxas", "-v",
                    "-Xptxas", "-warn-spills", "-o", dir.resolve(source + ".cubin").toString(), file.toString());
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                problems.add(source + ": nvcc did not finish within 120 s");
            } else if (p.exitValue() != 0 || output.toLowerCase().contains("warning")) {
                problems.add(source + ": nvcc exited with " + p.exitValue() + ":\n" + output);
            }
        }
        if (!problems.isEmpty()) fail(String.join("\n\n", problems));
    }

    @Test
    void sourcesListIsExactlyTheKernelResources() throws URISyntaxException, IOException {
        Path dir = Path.of(CudaKernels.class.getResource("/kernels").toURI());
        Set<String> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu")).collect(Collectors.toCollection(TreeSet::new));
        }
        assertEquals(files, new TreeSet<>(ALL_SOURCES), "CudaKernels.SOURCES, ConvertKernels.SOURCES, SparseFfnKernels.SOURCES and RoutingKernels.SOURCES must list every kernels/*.cu resource");
    }

    @Test
    void sourcesIncludeOnlyTheProjectsOwnHeaders() throws URISyntaxException, IOException {
        // NVRTC compiles without the host's C++ library (device code only) and finds only the .cuh
        // resources the backend hands it, so those are the only headers a source may include.
        Path dir = Path.of(CudaKernels.class.getResource("/kernels").toURI());
        Set<String> headers;
        try (Stream<Path> list = Files.list(dir)) {
            headers = list.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cuh")).collect(Collectors.toSet());
        }
        var include = java.util.regex.Pattern.compile("^\\s*#\\s*include\\s*(\\S+)", java.util.regex.Pattern.MULTILINE);
        var texts = new java.util.TreeMap<String, String>();
        for (String source : ALL_SOURCES) texts.put(source, KernelSignatures.raw(source));
        for (String header : headers) texts.put(header, KernelSignatures.raw(header));
        texts.forEach((file, text) -> {
            var m = include.matcher(text);
            while (m.find()) {
                String target = m.group(1);
                assertTrue(target.startsWith("\"") && headers.contains(target.substring(1, target.length() - 1)),
                        file + " includes " + target + ", which is not one of the kernels' own headers " + headers);
            }
            assertFalse(text.contains("std::"), file + " uses the C++ standard library, which NVRTC does not have");
        });
    }

    @Test
    void kernelNamesAreUniqueAcrossSources() {
        var seen = new HashMap<String, String>();
        for (var k : KernelSignatures.all()) {
            String other = seen.putIfAbsent(k.name(), k.source());
            assertTrue(other == null, "kernel " + k.name() + " is declared in both " + other + " and " + k.source());
        }
        assertFalse(seen.isEmpty(), "no kernels parsed from " + CudaKernels.SOURCES);
    }

    @Test
    void everyLaunchedKernelIsDeclaredAndEveryDeclaredKernelIsLaunched() {
        Set<String> declared = KernelSignatures.all().stream().map(KernelSignatures.Kernel::name).collect(Collectors.toCollection(TreeSet::new));
        Set<String> launched = RecordingLauncher.everyOp().launches.stream().map(RecordingLauncher.Launch::kernel)
                .collect(Collectors.toCollection(TreeSet::new));
        var missing = new TreeSet<>(launched);
        missing.removeAll(declared);
        assertTrue(missing.isEmpty(), "CudaKernels launches kernels no source declares: " + missing);
        var unused = new TreeSet<>(declared);
        unused.removeAll(launched);
        assertTrue(unused.isEmpty(), "kernels declared but never launched by CudaKernels: " + unused);
    }

    private static Path onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) return candidate;
        }
        return null;
    }
}
