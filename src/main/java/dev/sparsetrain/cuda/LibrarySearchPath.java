package dev.sparsetrain.cuda;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Where {@link NativeLibraries} looks for CUDA's shared libraries, in order: the directories of the
 * override variable, the dynamic linker (ld.so.cache, LD_LIBRARY_PATH), the usual toolkit and driver
 * directories, then every {@code nvidia/*}{@code /lib} of the Python environments we can find (NVRTC,
 * cuBLAS, cuSPARSELt and NCCL often arrive as pip wheels beside PyTorch rather than in a toolkit).
 *
 * @param overrideDirs  directories named by {@value #OVERRIDE_VARIABLE}, searched first
 * @param systemLinker  whether to ask the dynamic linker for the bare file name
 * @param directories   the fixed and Python wheel directories that exist on this machine
 * @param wheelPatterns the site-packages patterns that were expanded, for the error message
 */
public record LibrarySearchPath(List<Path> overrideDirs, boolean systemLinker, List<Path> directories, List<String> wheelPatterns) {

    /** A path list of directories searched before anything else. */
    public static final String OVERRIDE_VARIABLE = "SPARSETRAIN_CUDA_LIBS";

    private static final List<String> FIXED_DIRECTORIES = List.of(
            "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/nvidia/lib64", "/usr/lib/x86_64-linux-gnu");

    public LibrarySearchPath {
        overrideDirs = List.copyOf(overrideDirs);
        directories = List.copyOf(directories);
        wheelPatterns = List.copyOf(wheelPatterns);
    }

    /** The search path of this process: its environment and home directory. */
    public static LibrarySearchPath standard() {
        return of(System.getenv(), Path.of(System.getProperty("user.home")), Path.of("/"));
    }

    /**
     * The search path for an environment, a home directory and a file-system root (tests pass a
     * temporary directory as the root so that nothing of the real machine leaks in).
     */
    static LibrarySearchPath of(Map<String, String> env, Path home, Path root) {
        List<Path> overrides = new ArrayList<>();
        String override = env.get(OVERRIDE_VARIABLE);
        if (override != null) {
            for (String dir : override.split(File.pathSeparator)) {
                if (!dir.isBlank()) overrides.add(Path.of(dir.strip()));
            }
        }
        var dirs = new LinkedHashSet<Path>();
        for (String fixed : FIXED_DIRECTORIES) {
            Path p = root.resolve(fixed.substring(1));
            if (Files.isDirectory(p)) dirs.add(p);
        }
        List<String> patterns = new ArrayList<>();
        List<Path> sitePackages = new ArrayList<>();
        String venv = env.get("VIRTUAL_ENV");
        if (venv != null && !venv.isBlank()) {
            patterns.add(venv + "/lib/python3*/site-packages");
            sitePackages.addAll(expand(Path.of(venv), "lib", "python3*", "site-packages"));
        }
        patterns.add("/opt/*/.venv/lib/python3*/site-packages");
        sitePackages.addAll(expand(root.resolve("opt"), "*", ".venv", "lib", "python3*", "site-packages"));
        patterns.add("/usr/local/lib/python3*/dist-packages");
        sitePackages.addAll(expand(root.resolve("usr/local/lib"), "python3*", "dist-packages"));
        patterns.add("~/.local/lib/python3*/site-packages");
        sitePackages.addAll(expand(home.resolve(".local/lib"), "python3*", "site-packages"));
        for (Path site : sitePackages) dirs.addAll(expand(site, "nvidia", "*", "lib"));
        return new LibrarySearchPath(overrides, true, List.copyOf(dirs), patterns);
    }

    /**
     * The existing directories below {@code base} that match the path segments, where a segment may
     * hold glob characters ({@code python3*}); matches are sorted so the search order is stable.
     */
    static List<Path> expand(Path base, String... segments) {
        List<Path> current = Files.isDirectory(base) ? List.of(base) : List.of();
        for (String segment : segments) {
            List<Path> next = new ArrayList<>();
            for (Path dir : current) {
                if (segment.indexOf('*') < 0) {
                    Path child = dir.resolve(segment);
                    if (Files.isDirectory(child)) next.add(child);
                    continue;
                }
                try (DirectoryStream<Path> children = Files.newDirectoryStream(dir, segment)) {
                    for (Path child : children) if (Files.isDirectory(child)) next.add(child);
                } catch (IOException unreadable) {
                    // A directory we may not list holds nothing we could load either.
                }
            }
            next.sort(null);
            current = next;
        }
        return current;
    }
}
