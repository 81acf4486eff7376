package dev.sparsetrain.cuda;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Launches the project's kernels on one stream: looks the function up (cached), checks the launch
 * against the kernel's parameter list on its first launch, raises the dynamic shared memory limit
 * when a launch asks for more than the default 48 KiB, packs the arguments into reused segments and
 * calls cuLaunchKernel. Not thread-safe, like the backend that owns it.
 */
final class CudaLauncher implements KernelLauncher {
    /** Dynamic shared memory a kernel may use without opting in through cuFuncSetAttribute. */
    static final int DEFAULT_SHARED_LIMIT = 48 * 1024;

    private final Driver driver;
    private final KernelModules modules;
    private final LaunchArguments arguments;
    private final long stream;
    private final int maxSharedBytes;
    private final Set<String> checkedSignatures = new HashSet<>();
    private final Map<String, Integer> sharedLimits = new HashMap<>();

    CudaLauncher(Driver driver, KernelModules modules, LaunchArguments arguments, long stream, int maxSharedBytes) {
        this.driver = driver;
        this.modules = modules;
        this.arguments = arguments;
        this.stream = stream;
        this.maxSharedBytes = maxSharedBytes;
    }

    @Override
    public void launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int blockY, int sharedBytes, Object... args) {
        if (gridX < 0 || gridY < 0 || gridZ < 0 || blockX <= 0 || blockY <= 0 || sharedBytes < 0) {
            throw new IllegalArgumentException("kernel " + kernel + ": invalid launch grid (" + gridX + "," + gridY + "," + gridZ
                    + ") block (" + blockX + "," + blockY + ") shared " + sharedBytes);
        }
        // An empty grid is an op over zero elements: nothing to do, and CUDA would reject it.
        if (gridX == 0 || gridY == 0 || gridZ == 0) return;
        long function = modules.function(kernel);
        var params = arguments.pack(kernel, args);
        if (checkedSignatures.add(kernel)) checkSignature(kernel, function, args);
        if (sharedBytes > DEFAULT_SHARED_LIMIT) raiseSharedLimit(kernel, function, sharedBytes);
        int rc = driver.launch(function, gridX, gridY, gridZ, blockX, blockY, 1, sharedBytes, stream, params);
        if (rc != 0) {
            throw driver.failure(rc, "cuLaunchKernel(" + kernel + ", grid " + gridX + "x" + gridY + "x" + gridZ
                    + ", block " + blockX + "x" + blockY + ", shared " + sharedBytes + " B)");
        }
    }

    private void checkSignature(String kernel, long function, Object[] args) {
        long[] sizes = driver.parameterSizes(function);
        if (sizes == null) return;
        LaunchArguments.mismatch(kernel, sizes, args).ifPresent(problem -> {
            checkedSignatures.remove(kernel);
            throw new CudaException(problem);
        });
    }

    private void raiseSharedLimit(String kernel, long function, int sharedBytes) {
        if (sharedBytes > maxSharedBytes) {
            throw new CudaException("kernel " + kernel + " asks for " + sharedBytes + " bytes of shared memory; this device allows "
                    + maxSharedBytes + " per block");
        }
        if (sharedLimits.getOrDefault(kernel, DEFAULT_SHARED_LIMIT) >= sharedBytes) return;
        driver.functionAttribute(function, Driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, sharedBytes, kernel);
        sharedLimits.put(kernel, sharedBytes);
    }
}
