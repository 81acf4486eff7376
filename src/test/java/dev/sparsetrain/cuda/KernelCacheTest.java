package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kernel cache key covers everything that changes a cubin, and entries survive a round trip. */
class KernelCacheTest {
    private static final List<String> OPTIONS = NvrtcOptions.forDevice(9, 0);
    private static final String SOURCE = "extern \"C\" __global__ void k(float* x) { x[0] = 1; }";

    @TempDir
    Path tmp;

    @Test
    void theKeyIsStableAndChangesWithEveryInput() {
        String key = KernelCache.key("a.cu", SOURCE, OPTIONS, "13.0");
        assertEquals(key, KernelCache.key("a.cu", SOURCE, List.copyOf(OPTIONS), "13.0"));
        assertEquals(64, key.length());
        Set<String> variants = Set.of(
                key,
                KernelCache.key("b.cu", SOURCE, OPTIONS, "13.0"),
                KernelCache.key("a.cu", SOURCE + " ", OPTIONS, "13.0"),
                KernelCache.key("a.cu", SOURCE, NvrtcOptions.forDevice(8, 0), "13.0"),
                KernelCache.key("a.cu", SOURCE, OPTIONS.reversed(), "13.0"),
                KernelCache.key("a.cu", SOURCE, OPTIONS, "13.1"));
        assertEquals(6, variants.size(), "every changed input must change the key");
    }

    @Test
    void partsCannotRunIntoEachOther() {
        assertNotEquals(KernelCache.key("a.cu", SOURCE, List.of("ab", "c"), "13.0"), KernelCache.key("a.cu", SOURCE, List.of("a", "bc"), "13.0"));
        assertNotEquals(KernelCache.key("a.cu", "xy", OPTIONS, "13.0"), KernelCache.key("a.cux", "y", OPTIONS, "13.0"));
    }

    @Test
    void theDirectoryIsTheVariablesKernelsFolderOrUnderHome() {
        Path home = Path.of("/home/u");
        assertEquals(Path.of("/data/cache/kernels"), KernelCache.defaultDirectory(Map.of("SPARSETRAIN_CACHE", "/data/cache"), home));
        assertEquals(Path.of("/home/u/.cache/sparsetrain/kernels"), KernelCache.defaultDirectory(Map.of(), home));
        assertEquals(Path.of("/home/u/.cache/sparsetrain/kernels"), KernelCache.defaultDirectory(Map.of("SPARSETRAIN_CACHE", " "), home));
    }

    @Test
    void anEntryRoundTripsUnderItsKeyOnly() {
        var cache = new KernelCache(tmp.resolve("kernels"));
        String key = KernelCache.key("rmsnorm.cu", SOURCE, OPTIONS, "13.0");
        byte[] cubin = {0x7f, 'E', 'L', 'F', 1, 2, 3};
        assertTrue(cache.read("rmsnorm.cu", key).isEmpty());
        cache.write("rmsnorm.cu", key, cubin);
        assertArrayEquals(cubin, cache.read("rmsnorm.cu", key).orElseThrow());
        assertTrue(cache.file("rmsnorm.cu", key).getFileName().toString().startsWith("rmsnorm-"));
        assertTrue(cache.read("rmsnorm.cu", KernelCache.key("rmsnorm.cu", SOURCE, OPTIONS, "13.1")).isEmpty());
    }

    @Test
    void anUnwritableCacheOnlyWarns() throws IOException {
        Path blocker = Files.writeString(tmp.resolve("file"), "a file where the cache directory should be");
        var cache = new KernelCache(blocker.resolve("kernels"));
        String key = KernelCache.key("a.cu", SOURCE, OPTIONS, "13.0");
        cache.write("a.cu", key, new byte[] {1});
        assertTrue(cache.read("a.cu", key).isEmpty());
    }
}
