package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Map;

/**
 * Hand-written downcalls into cuBLASLt, written from NVIDIA's documented signatures and enum values
 * (no cublasLt.h on the build machine). Only what a plain GEMM needs: handle, matmul descriptor,
 * matrix layouts, preference, heuristic and the matmul itself. Every status goes through {@link #check}.
 */
final class CublasLt {
    // cublasComputeType_t / cudaDataType_t / cublasOperation_t
    static final int CUBLAS_COMPUTE_32F = 68;
    static final int CUDA_R_32F = 0;
    static final int CUDA_R_16BF = 14;
    static final int CUBLAS_OP_N = 0;
    static final int CUBLAS_OP_T = 1;
    // cublasLtMatmulDescAttributes_t
    static final int MATMUL_DESC_TRANSA = 3;
    static final int MATMUL_DESC_TRANSB = 4;
    // cublasLtMatmulPreferenceAttributes_t
    static final int PREF_MAX_WORKSPACE_BYTES = 1;
    static final int PREF_MIN_ALIGNMENT_A_BYTES = 5;
    static final int PREF_MIN_ALIGNMENT_B_BYTES = 6;
    static final int PREF_MIN_ALIGNMENT_C_BYTES = 7;
    static final int PREF_MIN_ALIGNMENT_D_BYTES = 8;
    /** sizeof(cublasLtMatmulAlgo_t): uint64_t data[8]. */
    static final long ALGO_BYTES = 64;
    /** sizeof(cublasLtMatmulHeuristicResult_t): algo, size_t workspaceSize, int state, float wavesCount, int reserved[4]. */
    static final long HEURISTIC_RESULT_BYTES = 96;
    static final long HEURISTIC_WORKSPACE_OFFSET = 64;
    static final long HEURISTIC_STATE_OFFSET = 72;

    private static final Map<Integer, String> STATUS_NAMES = Map.of(
            1, "CUBLAS_STATUS_NOT_INITIALIZED", 3, "CUBLAS_STATUS_ALLOC_FAILED", 7, "CUBLAS_STATUS_INVALID_VALUE",
            8, "CUBLAS_STATUS_ARCH_MISMATCH", 11, "CUBLAS_STATUS_MAPPING_ERROR", 13, "CUBLAS_STATUS_EXECUTION_FAILED",
            14, "CUBLAS_STATUS_INTERNAL_ERROR", 15, "CUBLAS_STATUS_NOT_SUPPORTED", 16, "CUBLAS_STATUS_LICENSE_ERROR");

    private final NativeLibraries.Loaded library;
    private final MethodHandle create, destroy, getVersion, descCreate, descDestroy, descSetAttribute, layoutCreate, layoutDestroy,
            prefCreate, prefDestroy, prefSetAttribute, heuristic, matmul;
    /** Exported since cuBLAS 11.4; null otherwise, when our own table names the status. */
    private final MethodHandle statusName, statusString;

    private CublasLt(NativeLibraries.Loaded lib) {
        this.library = lib;
        FunctionDescriptor setAttribute = FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
        FunctionDescriptor destroyOne = FunctionDescriptor.of(JAVA_INT, JAVA_LONG);
        create = NativeCalls.bind(lib, "cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = NativeCalls.bind(lib, "cublasLtDestroy", destroyOne);
        getVersion = NativeCalls.bind(lib, "cublasLtGetVersion", FunctionDescriptor.of(JAVA_LONG));
        descCreate = NativeCalls.bind(lib, "cublasLtMatmulDescCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        descDestroy = NativeCalls.bind(lib, "cublasLtMatmulDescDestroy", destroyOne);
        descSetAttribute = NativeCalls.bind(lib, "cublasLtMatmulDescSetAttribute", setAttribute);
        // cublasLtMatrixLayoutCreate(layout*, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld)
        layoutCreate = NativeCalls.bind(lib, "cublasLtMatrixLayoutCreate",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        layoutDestroy = NativeCalls.bind(lib, "cublasLtMatrixLayoutDestroy", destroyOne);
        prefCreate = NativeCalls.bind(lib, "cublasLtMatmulPreferenceCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        prefDestroy = NativeCalls.bind(lib, "cublasLtMatmulPreferenceDestroy", destroyOne);
        prefSetAttribute = NativeCalls.bind(lib, "cublasLtMatmulPreferenceSetAttribute", setAttribute);
        // cublasLtMatmulAlgoGetHeuristic(handle, opDesc, Adesc, Bdesc, Cdesc, Ddesc, pref, int requested, results*, int* returned)
        heuristic = NativeCalls.bind(lib, "cublasLtMatmulAlgoGetHeuristic", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
        // cublasLtMatmul(handle, desc, alpha*, A, Adesc, B, Bdesc, beta*, C, Cdesc, D, Ddesc, algo*, workspace, workspaceBytes, stream)
        matmul = NativeCalls.bind(lib, "cublasLtMatmul", FunctionDescriptor.of(JAVA_INT,
                JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        statusName = NativeCalls.bindIfPresent(lib, "cublasLtGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        statusString = NativeCalls.bindIfPresent(lib, "cublasLtGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    static CublasLt load(LibrarySearchPath path) {
        return new CublasLt(NativeLibraries.load(NativeLibraries.CUBLASLT, path));
    }

    String location() { return library.location(); }

    /** cuBLASLt's version number, e.g. 130100 for 13.1.0. */
    long version() {
        try {
            return (long) getVersion.invokeExact();
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    // ---- handle, descriptors, layouts, preferences ----------------------------------------------------

    long createHandle() {
        return handleOut(out -> (int) create.invokeExact(out), "cublasLtCreate");
    }

    void destroyHandle(long handle) { destroy(destroy, handle, "cublasLtDestroy"); }

    long createMatmulDesc(int computeType, int scaleType) {
        return handleOut(out -> (int) descCreate.invokeExact(out, computeType, scaleType), "cublasLtMatmulDescCreate");
    }

    void setMatmulDescInt(long desc, int attribute, int value) {
        setInt(descSetAttribute, desc, attribute, value, "cublasLtMatmulDescSetAttribute(" + attribute + ")");
    }

    void destroyMatmulDesc(long desc) { destroy(descDestroy, desc, "cublasLtMatmulDescDestroy"); }

    long createLayout(int type, long rows, long cols, long ld) {
        return handleOut(out -> (int) layoutCreate.invokeExact(out, type, rows, cols, ld),
                "cublasLtMatrixLayoutCreate(" + rows + "x" + cols + ", ld " + ld + ")");
    }

    void destroyLayout(long layout) { destroy(layoutDestroy, layout, "cublasLtMatrixLayoutDestroy"); }

    long createPreference() {
        return handleOut(out -> (int) prefCreate.invokeExact(out), "cublasLtMatmulPreferenceCreate");
    }

    void setPreferenceInt(long pref, int attribute, int value) {
        setInt(prefSetAttribute, pref, attribute, value, "cublasLtMatmulPreferenceSetAttribute(" + attribute + ")");
    }

    void setPreferenceLong(long pref, int attribute, long value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_LONG);
            v.set(JAVA_LONG, 0, value);
            check((int) prefSetAttribute.invokeExact(pref, attribute, v, 8L), "cublasLtMatmulPreferenceSetAttribute(" + attribute + ")");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    void destroyPreference(long pref) { destroy(prefDestroy, pref, "cublasLtMatmulPreferenceDestroy"); }

    /** Up to {@code results.byteSize()/96} heuristic results written into {@code results}; returns how many. */
    int heuristic(long handle, long desc, long a, long b, long c, long d, long pref, MemorySegment results) {
        int requested = (int) (results.byteSize() / HEURISTIC_RESULT_BYTES);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            check((int) heuristic.invokeExact(handle, desc, a, b, c, d, pref, requested, results, count), "cublasLtMatmulAlgoGetHeuristic");
            return count.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /** D = alpha·op(A)·op(B) + beta·C with host scalars; queued on {@code stream}. Returns the raw status. */
    int matmul(long handle, long desc, MemorySegment alpha, long a, long aDesc, long b, long bDesc, MemorySegment beta,
               long c, long cDesc, long d, long dDesc, MemorySegment algo, long workspace, long workspaceBytes, long stream) {
        try {
            return (int) matmul.invokeExact(handle, desc, alpha, a, aDesc, b, bDesc, beta, c, cDesc, d, dDesc, algo,
                    workspace, workspaceBytes, stream);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    // ---- status -----------------------------------------------------------------------------------------

    void check(int status, String call) {
        if (status != 0) throw failure(status, call);
    }

    CudaException failure(int status, String call) {
        return new CudaException(call + " failed: " + statusName(status) + " (cuBLASLt status " + status + "): " + statusString(status));
    }

    String statusName(int status) {
        if (statusName != null) {
            try {
                return NativeCalls.cString((MemorySegment) statusName.invokeExact(status), "CUBLAS_STATUS_" + status);
            } catch (Throwable t) {
                throw NativeCalls.rethrow(t);
            }
        }
        return STATUS_NAMES.getOrDefault(status, "CUBLAS_STATUS_" + status);
    }

    private String statusString(int status) {
        if (statusString == null) return "no description";
        try {
            return NativeCalls.cString((MemorySegment) statusString.invokeExact(status), "no description");
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------

    private long handleOut(NativeCalls.OutCall call, String name) { return NativeCalls.longOut(call, this::check, name); }

    private void setInt(MethodHandle setter, long object, int attribute, int value, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            v.set(JAVA_INT, 0, value);
            check((int) setter.invokeExact(object, attribute, v, 4L), name);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    private void destroy(MethodHandle destroyer, long object, String name) {
        try {
            check((int) destroyer.invokeExact(object), name);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }
}
