package dev.sparsetrain.cuda;

import java.util.HashMap;
import java.util.Map;

/**
 * Launches the project's kernels on one stream: looks the kernel up once (function handle and the
 * byte sizes of its parameters as the driver reports them), checks every launch's arguments against
 * those sizes, raises the dynamic shared memory limit when a launch asks for more than the default
 * 48 KiB, packs the arguments into reused segments and calls cuLaunchKernel. Not thread-safe, like
 * the backend that owns it.
 */
final class CudaLauncher implements KernelLauncher {
    /** Dynamic shared memory a kernel may use without opting in through cuFuncSetAttribute. */
    static final int DEFAULT_SHARED_LIMIT = 48 * 1024;

    /** What a launch needs to know about a kernel, looked up on its first launch. */
    private static final class Kernel {
        final long function;
        /** Null when the driver cannot report parameter sizes (then launches go unchecked). */
        final long[] parameterSizes;
        int sharedLimit = DEFAULT_SHARED_LIMIT;

        Kernel(long function, long[] parameterSizes) {
            this.function = function;
            this.parameterSizes = parameterSizes;
        }
    }

    private final Driver driver;
    private final KernelModules modules;
    private final LaunchArguments arguments;
    private final long stream;
    private final int maxSharedBytes;
    private final Map<String, Kernel> kernels = new HashMap<>();

    CudaLauncher(Driver driver, KernelModules modules, LaunchArguments arguments, long stream, int maxSharedBytes) {
        this.driver = driver;
        this.modules = modules;
        this.arguments = arguments;
        this.stream = stream;
        this.maxSharedBytes = maxSharedBytes;
    }

    @Override
    public void launch(String name, int gridX, int gridY, int gridZ, int blockX, int blockY, int sharedBytes, Object... args) {
        if (gridX < 0 || gridY < 0 || gridZ < 0 || blockX <= 0 || blockY <= 0 || sharedBytes < 0) {
            throw new IllegalArgumentException("kernel " + name + ": invalid launch grid (" + gridX + "," + gridY + "," + gridZ
                    + ") block (" + blockX + "," + blockY + ") shared " + sharedBytes);
        }
        // An empty grid is an op over zero elements: nothing to do, and CUDA would reject it.
        if (gridX == 0 || gridY == 0 || gridZ == 0) return;
        Kernel kernel = kernels.get(name);
        if (kernel == null) {
            long function = modules.function(name);
            kernel = new Kernel(function, driver.parameterSizes(function));
            kernels.put(name, kernel);
        }
        var params = arguments.pack(name, args);
        // Checked on every launch, not only the first: a kernel may be launched from several call sites.
        if (kernel.parameterSizes != null && !LaunchArguments.matches(kernel.parameterSizes, args)) {
            throw new CudaException(LaunchArguments.mismatch(name, kernel.parameterSizes, args));
        }
        if (sharedBytes > kernel.sharedLimit) raiseSharedLimit(name, kernel, sharedBytes);
        int rc = driver.launch(kernel.function, gridX, gridY, gridZ, blockX, blockY, 1, sharedBytes, stream, params);
        if (rc != 0) {
            throw driver.failure(rc, "cuLaunchKernel(" + name + ", grid " + gridX + "x" + gridY + "x" + gridZ
                    + ", block " + blockX + "x" + blockY + ", shared " + sharedBytes + " B)");
        }
    }

    private void raiseSharedLimit(String name, Kernel kernel, int sharedBytes) {
        if (sharedBytes > maxSharedBytes) {
            throw new CudaException("kernel " + name + " asks for " + sharedBytes + " bytes of shared memory; this device allows "
                    + maxSharedBytes + " per block");
        }
        driver.functionAttribute(kernel.function, Driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes, name);
        kernel.sharedLimit = sharedBytes;
    }
}
