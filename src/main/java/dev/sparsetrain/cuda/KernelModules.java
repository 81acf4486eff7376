package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The project's kernels as loaded CUDA modules: every {@code kernels/*.cu} resource compiled by NVRTC
 * for this device (through the disk {@link KernelCache}) with the {@code kernels/*.cuh} resources as
 * the headers it may include, loaded on first use, and functions looked up by their
 * {@code extern "C"} names (cached, since a launch must not search modules).
 *
 * <p>All modules load together on the first lookup: a kernel name does not say which file holds it,
 * and with the cache warm loading every module takes milliseconds.
 */
final class KernelModules implements AutoCloseable {
    private final Driver driver;
    private final Nvrtc nvrtc;
    private final List<String> options;
    private final KernelCache cache;
    private final Supplier<Map<String, String>> sources;
    private final Map<String, Long> modules = new LinkedHashMap<>();
    private final Map<String, Long> functions = new HashMap<>();
    private boolean allLoaded;

    KernelModules(Driver driver, Nvrtc nvrtc, List<String> options, KernelCache cache, Supplier<Map<String, String>> sources) {
        this.driver = driver;
        this.nvrtc = nvrtc;
        this.options = List.copyOf(options);
        this.cache = cache;
        this.sources = sources;
    }

    /** The CUfunction of kernel {@code name}; the context must be current. */
    long function(String name) {
        Long cached = functions.get(name);
        if (cached != null) return cached;
        if (!allLoaded) loadAll();
        for (long module : modules.values()) {
            long f = driver.moduleFunction(module, name);
            if (f != 0) {
                functions.put(name, f);
                return f;
            }
        }
        throw new CudaException("no kernel named '" + name + "' in " + KernelSources.FOLDER + "/" + modules.keySet()
                + ": the CUDA backend and its kernel sources disagree (is the kernel declared extern \"C\" __global__?)");
    }

    private void loadAll() {
        String version = nvrtc.version();
        Map<String, String> all = sources.get(), headers = new TreeMap<>();
        all.forEach((file, text) -> {
            if (KernelSources.isHeader(file)) headers.put(file, text);
        });
        // Every header goes into every key: a header edit recompiles what may include it.
        StringBuilder headerText = new StringBuilder();
        headers.forEach((file, text) -> headerText.append(file).append('\n').append(text));
        for (var source : all.entrySet()) {
            String name = source.getKey();
            if (KernelSources.isHeader(name) || modules.containsKey(name)) continue;
            String key = KernelCache.key(name, source.getValue() + headerText, options, version);
            var cached = cache.read(name, key);
            if (cached.isPresent()) {
                Driver.ModuleLoad load = load(cached.get());
                if (load.code() == 0) {
                    modules.put(name, load.module());
                    continue;
                }
                // A stale or damaged cache entry: fall through and rebuild it.
            }
            System.err.println("compiling " + KernelSources.FOLDER + "/" + name + " with NVRTC " + version + " " + options);
            byte[] cubin = nvrtc.compileToCubin(source.getValue(), name, options, headers);
            Driver.ModuleLoad load = load(cubin);
            driver.check(load.code(), "cuModuleLoadData(" + name + ")");
            cache.write(name, key, cubin);
            modules.put(name, load.module());
        }
        allLoaded = true;
    }

    private Driver.ModuleLoad load(byte[] image) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(image.length + 1L);
            MemorySegment.copy(image, 0, segment, JAVA_BYTE, 0, image.length);
            return driver.moduleLoadData(segment);
        }
    }

    @Override
    public void close() {
        CudaException failure = null;
        for (long module : modules.values()) {
            try {
                driver.moduleUnload(module);
            } catch (CudaException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        modules.clear();
        functions.clear();
        allLoaded = false;
        if (failure != null) throw failure;
    }
}
