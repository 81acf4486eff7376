package dev.sparsetrain.cuda;

import dev.sparsetrain.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Compiled kernels on disk, so NVRTC runs once per source change rather than once per process. An
 * entry is keyed by a SHA-256 of everything that determines the cubin: the resource name, its
 * source, the NVRTC options (which name the architecture) and the NVRTC version. Entries are
 * written atomically, so concurrent processes (one per GPU) never read a torn file; a cache that
 * cannot be written only costs a recompile next time.
 */
final class KernelCache {
    /** Root of sparsetrain's caches; kernels go to its {@code kernels/} folder. */
    static final String CACHE_VARIABLE = "SPARSETRAIN_CACHE";

    private final Path directory;
    private boolean warned;

    KernelCache(Path directory) { this.directory = directory; }

    /** {@code $SPARSETRAIN_CACHE/kernels}, else {@code ~/.cache/sparsetrain/kernels}. */
    static Path defaultDirectory(Map<String, String> env, Path home) {
        String root = env.get(CACHE_VARIABLE);
        if (root != null && !root.isBlank()) return Path.of(root.strip()).resolve("kernels");
        return home.resolve(".cache").resolve("sparsetrain").resolve("kernels");
    }

    static KernelCache standard() {
        return new KernelCache(defaultDirectory(System.getenv(), Path.of(System.getProperty("user.home"))));
    }

    /** The hex SHA-256 of (name, source, options, NVRTC version), each part length-prefixed so no two inputs collide. */
    static String key(String name, String source, List<String> options, String nvrtcVersion) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            update(sha, name);
            update(sha, source);
            update(sha, String.valueOf(options.size()));
            for (String option : options) update(sha, option);
            update(sha, nvrtcVersion);
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }

    private static void update(MessageDigest sha, String part) {
        byte[] bytes = part.getBytes(StandardCharsets.UTF_8);
        sha.update(String.valueOf(bytes.length).getBytes(StandardCharsets.US_ASCII));
        sha.update((byte) ':');
        sha.update(bytes);
    }

    /** The cache file of resource {@code name} ("attention.cu") under {@code key}. */
    Path file(String name, String key) {
        String stem = name.endsWith(".cu") ? name.substring(0, name.length() - 3) : name;
        return directory.resolve(stem + "-" + key.substring(0, 32) + ".cubin");
    }

    Optional<byte[]> read(String name, String key) {
        Path f = file(name, key);
        try {
            return Files.isRegularFile(f) ? Optional.of(Files.readAllBytes(f)) : Optional.empty();
        } catch (IOException unreadable) {
            return Optional.empty();
        }
    }

    void write(String name, String key, byte[] cubin) {
        try {
            Files.createDirectories(directory);
            AtomicFiles.write(file(name, key), cubin);
        } catch (IOException | RuntimeException e) {
            if (!warned) {
                warned = true;
                System.err.println("warning: cannot write the kernel cache in " + directory + " (" + e.getMessage()
                        + "); kernels will be recompiled next run. Set " + CACHE_VARIABLE + " to a writable directory.");
            }
        }
    }
}
