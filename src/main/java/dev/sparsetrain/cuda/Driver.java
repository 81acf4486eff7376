package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;

/**
 * Hand-written downcalls into the CUDA driver API ({@code libcuda.so.1}), by the exported, versioned
 * symbol names of cuda.h (CUDA 13.0): {@code cuMemAlloc_v2}, {@code cuStreamDestroy_v2}, ...
 * Every return code goes through {@link #check}, which names the call and the driver's error name
 * and string. Handles and device pointers are longs (see {@link NativeCalls}).
 */
final class Driver {
    static final int CUDA_ERROR_INVALID_VALUE = 1;
    static final int CUDA_ERROR_OUT_OF_MEMORY = 2;
    static final int CUDA_ERROR_NO_DEVICE = 100;
    static final int CUDA_ERROR_NOT_FOUND = 500;
    static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    static final int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    static final int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    /** Blocking with respect to the legacy default stream, so the synchronous host copies order themselves with our work. */
    static final int CU_STREAM_DEFAULT = 0;

    private static final FunctionDescriptor INT_OF_LONG = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
    private static final Linker.Option CRITICAL = Linker.Option.critical(true);

    private final NativeLibraries.Loaded library;
    private final MethodHandle getErrorName, getErrorString, init, driverGetVersion, deviceGetCount, deviceGet, deviceGetName,
            deviceGetAttribute, primaryCtxRetain, primaryCtxRelease, ctxSetCurrent, memGetInfo, memAlloc, memFree,
            memcpyHtoD, memcpyDtoH, memcpyDtoDAsync, memsetD32Async, streamCreate, streamSynchronize, streamDestroy,
            moduleLoadData, moduleGetFunction, moduleUnload, funcSetAttribute, launchKernel;
    /** cuFuncGetParamInfo, exported since CUDA 12.4; null on an older driver (launch signatures go unchecked). */
    private final MethodHandle funcGetParamInfo;

    private Driver(NativeLibraries.Loaded lib) {
        this.library = lib;
        getErrorName = NativeCalls.bind(lib, "cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        getErrorString = NativeCalls.bind(lib, "cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        init = NativeCalls.bind(lib, "cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        driverGetVersion = NativeCalls.bind(lib, "cuDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        deviceGetCount = NativeCalls.bind(lib, "cuDeviceGetCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        deviceGet = NativeCalls.bind(lib, "cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        deviceGetName = NativeCalls.bind(lib, "cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        deviceGetAttribute = NativeCalls.bind(lib, "cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        primaryCtxRetain = NativeCalls.bind(lib, "cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        primaryCtxRelease = NativeCalls.bind(lib, "cuDevicePrimaryCtxRelease_v2", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        ctxSetCurrent = NativeCalls.bind(lib, "cuCtxSetCurrent", INT_OF_LONG);
        memGetInfo = NativeCalls.bind(lib, "cuMemGetInfo_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        memAlloc = NativeCalls.bind(lib, "cuMemAlloc_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        memFree = NativeCalls.bind(lib, "cuMemFree_v2", INT_OF_LONG);
        // Critical: the host side may be a Java array (heap segment), pinned for the duration of the call.
        // Both copies are complete on the host side when they return (pageable memory), so nothing
        // reads or writes the array after the pin is released.
        memcpyHtoD = NativeCalls.bind(lib, "cuMemcpyHtoD_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG), CRITICAL);
        memcpyDtoH = NativeCalls.bind(lib, "cuMemcpyDtoH_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), CRITICAL);
        memcpyDtoDAsync = NativeCalls.bind(lib, "cuMemcpyDtoDAsync_v2",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        memsetD32Async = NativeCalls.bind(lib, "cuMemsetD32Async", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
        streamCreate = NativeCalls.bind(lib, "cuStreamCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        streamSynchronize = NativeCalls.bind(lib, "cuStreamSynchronize", INT_OF_LONG);
        streamDestroy = NativeCalls.bind(lib, "cuStreamDestroy_v2", INT_OF_LONG);
        moduleLoadData = NativeCalls.bind(lib, "cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        moduleGetFunction = NativeCalls.bind(lib, "cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        moduleUnload = NativeCalls.bind(lib, "cuModuleUnload", INT_OF_LONG);
        funcSetAttribute = NativeCalls.bind(lib, "cuFuncSetAttribute", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT));
        launchKernel = NativeCalls.bind(lib, "cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, JAVA_LONG,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS));
        funcGetParamInfo = NativeCalls.bindIfPresent(lib, "cuFuncGetParamInfo",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS));
    }

    /** Opens the driver library; without one this machine has no usable NVIDIA driver. */
    static Driver load(LibrarySearchPath path) {
        try {
            return new Driver(NativeLibraries.load(NativeLibraries.DRIVER, path));
        } catch (MissingLibraryException e) {
            throw new CudaUnavailableException("no CUDA driver found (libcuda.so.1): " + e.getMessage()
                    + "\nOn a machine without an NVIDIA GPU, use --device cpu.", e);
        }
    }

    /** Where the driver library was loaded from. */
    String location() { return library.location(); }

    // ---- errors -----------------------------------------------------------------------------------

    /** Throws a {@link CudaException} naming {@code call} unless {@code code} is CUDA_SUCCESS. */
    void check(int code, String call) {
        if (code != 0) throw failure(code, call);
    }

    CudaException failure(int code, String call) {
        String hint = code >= 700 && code < 800
                ? " (an earlier kernel may have failed asynchronously: set CUDA_LAUNCH_BLOCKING=1 to find which)" : "";
        return new CudaException(call + " failed: " + errorName(code) + " (code " + code + "): " + errorString(code) + hint);
    }

    String errorName(int code) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = (int) getErrorName.invokeExact(code, out);
            return rc == 0 ? NativeCalls.cString(out.get(ADDRESS, 0), "CUDA_ERROR_UNKNOWN") : "unknown CUDA error";
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    String errorString(int code) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int rc = (int) getErrorString.invokeExact(code, out);
            return rc == 0 ? NativeCalls.cString(out.get(ADDRESS, 0), "no description") : "no description";
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    // ---- initialisation and devices -------------------------------------------------------------

    /** cuInit(0); returns the raw code so the caller can tell "no device" from a real failure. */
    int init() {
        try {
            return (int) init.invokeExact(0);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    int driverVersion() {
        return intOut(out -> (int) driverGetVersion.invokeExact(out), "cuDriverGetVersion");
    }

    int deviceCount() {
        return intOut(out -> (int) deviceGetCount.invokeExact(out), "cuDeviceGetCount");
    }

    int device(int ordinal) {
        return intOut(out -> (int) deviceGet.invokeExact(out, ordinal), "cuDeviceGet");
    }

    String deviceName(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocate(256);
            check((int) deviceGetName.invokeExact(name, 256, device), "cuDeviceGetName");
            return name.getString(0);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    int attribute(int device, int attribute) {
        return intOut(out -> (int) deviceGetAttribute.invokeExact(out, attribute, device), "cuDeviceGetAttribute(" + attribute + ")");
    }

    long primaryContextRetain(int device) {
        return longOut(out -> (int) primaryCtxRetain.invokeExact(out, device), "cuDevicePrimaryCtxRetain");
    }

    void primaryContextRelease(int device) {
        try {
            check((int) primaryCtxRelease.invokeExact(device), "cuDevicePrimaryCtxRelease_v2");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    void setCurrent(long context) {
        try {
            check((int) ctxSetCurrent.invokeExact(context), "cuCtxSetCurrent");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** Free and total device memory in bytes. */
    record MemoryInfo(long free, long total) {}

    MemoryInfo memoryInfo() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(JAVA_LONG), total = arena.allocate(JAVA_LONG);
            check((int) memGetInfo.invokeExact(free, total), "cuMemGetInfo_v2");
            return new MemoryInfo(free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0));
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    // ---- memory ---------------------------------------------------------------------------------

    /** cuMemAlloc_v2; returns the raw code beside the pointer so the caller can explain an out-of-memory. */
    record Allocation(int code, long pointer) {}

    Allocation memAlloc(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            int rc = (int) memAlloc.invokeExact(out, bytes);
            return new Allocation(rc, rc == 0 ? out.get(JAVA_LONG, 0) : 0);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    void memFree(long pointer) {
        try {
            check((int) memFree.invokeExact(pointer), "cuMemFree_v2");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** Synchronous host-to-device copy; {@code src} may be a heap segment. */
    void copyHostToDevice(long dst, MemorySegment src, long bytes) {
        try {
            check((int) memcpyHtoD.invokeExact(dst, src, bytes), "cuMemcpyHtoD_v2");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** Synchronous device-to-host copy; {@code dst} may be a heap segment. */
    void copyDeviceToHost(MemorySegment dst, long src, long bytes) {
        try {
            check((int) memcpyDtoH.invokeExact(dst, src, bytes), "cuMemcpyDtoH_v2");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    void copyDeviceToDeviceAsync(long dst, long src, long bytes, long stream) {
        try {
            check((int) memcpyDtoDAsync.invokeExact(dst, src, bytes, stream), "cuMemcpyDtoDAsync_v2");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** Sets {@code count} 32-bit words at {@code dst} to {@code value}, in stream order. */
    void memsetD32Async(long dst, int value, long count, long stream) {
        try {
            check((int) memsetD32Async.invokeExact(dst, value, count, stream), "cuMemsetD32Async");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    // ---- streams ----------------------------------------------------------------------------------

    long streamCreate(int flags) {
        return longOut(out -> (int) streamCreate.invokeExact(out, flags), "cuStreamCreate");
    }

    void streamSynchronize(long stream) {
        try {
            check((int) streamSynchronize.invokeExact(stream), "cuStreamSynchronize");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    void streamDestroy(long stream) {
        try {
            check((int) streamDestroy.invokeExact(stream), "cuStreamDestroy_v2");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    // ---- modules and launches -----------------------------------------------------------------------

    /** Loads a cubin (or NUL-terminated PTX) image; returns the raw code so a stale cache entry can be recompiled. */
    record ModuleLoad(int code, long module) {}

    ModuleLoad moduleLoadData(MemorySegment image) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            int rc = (int) moduleLoadData.invokeExact(out, image);
            return new ModuleLoad(rc, rc == 0 ? out.get(JAVA_LONG, 0) : 0);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** The function {@code name} of {@code module}, or 0 when the module has none of that name. */
    long moduleFunction(long module, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            int rc = (int) moduleGetFunction.invokeExact(out, module, arena.allocateFrom(name));
            if (rc == CUDA_ERROR_NOT_FOUND) return 0;
            check(rc, "cuModuleGetFunction(" + name + ")");
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    void moduleUnload(long module) {
        try {
            check((int) moduleUnload.invokeExact(module), "cuModuleUnload");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    void functionAttribute(long function, int attribute, int value, String kernel) {
        try {
            check((int) funcSetAttribute.invokeExact(function, attribute, value), "cuFuncSetAttribute(" + kernel + ")");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /**
     * The byte size of each parameter of {@code function}, in order, or null when the driver cannot say.
     * cuFuncGetParamInfo answers CUDA_ERROR_INVALID_VALUE for the first index past the last parameter;
     * any other failure means the query itself is unsupported, and the launch goes unchecked.
     */
    long[] parameterSizes(long function) {
        if (funcGetParamInfo == null) return null;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment offset = arena.allocate(JAVA_LONG), size = arena.allocate(JAVA_LONG);
            long[] sizes = new long[LaunchArguments.MAX_ARGUMENTS + 1];
            for (int n = 0; n < sizes.length; n++) {
                int rc = (int) funcGetParamInfo.invokeExact(function, (long) n, offset, size);
                if (rc == CUDA_ERROR_INVALID_VALUE) return Arrays.copyOf(sizes, n);
                if (rc != 0) return null;
                sizes[n] = size.get(JAVA_LONG, 0);
            }
            return null;
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** cuLaunchKernel with a {@code void*[]} of argument pointers; returns the raw code. */
    int launch(long function, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes, long stream, MemorySegment params) {
        try {
            return (int) launchKernel.invokeExact(function, gx, gy, gz, bx, by, bz, sharedBytes, stream, params, MemorySegment.NULL);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    // ---- out-parameter helpers ------------------------------------------------------------------------

    private int intOut(NativeCalls.OutCall call, String name) { return NativeCalls.intOut(call, this::check, name); }

    private long longOut(NativeCalls.OutCall call, String name) { return NativeCalls.longOut(call, this::check, name); }
}
