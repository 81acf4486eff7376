package dev.sparsetrain.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The CUDA C++ sources shipped as {@code kernels/*.cu} resources, and the {@code kernels/*.cuh}
 * headers they include (one definition of helpers several sources share), read from wherever this
 * class was loaded: the build's classes directory, or the jar of a distribution. Resources cannot be
 * listed through the class loader, so the code source itself is opened.
 */
final class KernelSources {
    static final String FOLDER = "kernels";

    private KernelSources() {}

    /** Whether a resource of the kernels folder is a header (compiled only as part of the sources that include it). */
    static boolean isHeader(String file) { return file.endsWith(".cuh"); }

    private static boolean isKernelFile(String file) { return file.endsWith(".cu") || isHeader(file); }

    /** File name ("rmsnorm.cu", "bf16.cuh") to text, sorted by name, of the kernel sources and headers next to this class. */
    static Map<String, String> load() {
        URL location = KernelSources.class.getProtectionDomain().getCodeSource().getLocation();
        try {
            return load(Path.of(location.toURI()));
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the kernel sources: code source " + location + " is not a file", e);
        }
    }

    /** The {@code kernels/*.cu} of a classes directory or a jar. */
    static Map<String, String> load(Path codeSource) {
        Map<String, String> sources = new TreeMap<>();
        try {
            if (Files.isDirectory(codeSource)) {
                Path dir = codeSource.resolve(FOLDER);
                if (Files.isDirectory(dir)) {
                    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.{cu,cuh}")) {
                        for (Path f : files) sources.put(f.getFileName().toString(), Files.readString(f, StandardCharsets.UTF_8));
                    }
                }
            } else {
                try (ZipFile jar = new ZipFile(codeSource.toFile())) {
                    Enumeration<? extends ZipEntry> entries = jar.entries();
                    while (entries.hasMoreElements()) {
                        ZipEntry e = entries.nextElement();
                        String n = e.getName();
                        if (e.isDirectory() || !n.startsWith(FOLDER + "/") || !isKernelFile(n) || n.indexOf('/', FOLDER.length() + 1) >= 0) continue;
                        try (InputStream in = jar.getInputStream(e)) {
                            sources.put(n.substring(FOLDER.length() + 1), new String(in.readAllBytes(), StandardCharsets.UTF_8));
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the kernel sources from " + codeSource, e);
        }
        if (sources.isEmpty()) {
            throw new CudaException("no " + FOLDER + "/*.cu kernel sources in " + codeSource + ": the build is incomplete; rebuild with mvn package");
        }
        return sources;
    }
}
