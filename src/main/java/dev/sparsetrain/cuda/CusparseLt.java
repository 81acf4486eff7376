package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Hand-written downcalls into cuSPARSELt 0.8 ({@code libcusparseLt.so.0}), written from the
 * {@code cusparseLt.h} of the {@code nvidia-cusparselt-cu13} 0.8.1 wheel.
 *
 * <p>Unlike cuBLASLt, cuSPARSELt's handle, matrix descriptors, matmul descriptor, algorithm
 * selection and plan are caller-allocated structs, {@code struct { alignas(16) uint8_t data[512]; }},
 * passed by address. {@link #newStruct} allocates one; the caller's arena must keep it alive and
 * unmoved for as long as anything initialised from it lives (a plan keeps pointers to its
 * descriptors and its algorithm selection). Device pointers and streams travel as longs, as in the
 * other bindings ({@link NativeCalls}). Every status goes through {@link #check}, which names the
 * call, the status name and the library's description.
 */
final class CusparseLt {
    /** sizeof of every opaque cuSPARSELt struct in 0.8 (older versions used 1024 and 11024 bytes). */
    static final long STRUCT_BYTES = 512;
    static final long STRUCT_ALIGNMENT = 16;

    // cusparseStatus_t (cusparse.h)
    static final int STATUS_INVALID_VALUE = 3;
    static final int STATUS_NOT_SUPPORTED = 10;
    // cusparseOrder_t (cusparse.h)
    static final int ORDER_COL = 1;
    static final int ORDER_ROW = 2;
    // cusparseOperation_t (cusparse.h)
    static final int OP_N = 0;
    static final int OP_T = 1;
    // cudaDataType (library_types.h)
    static final int CUDA_R_16BF = 14;
    // cusparseComputeType, cusparseLtSparsity_t, cusparseLtMatmulAlg_t
    static final int COMPUTE_32F = 2;
    static final int SPARSITY_50_PERCENT = 0;
    static final int MATMUL_ALG_DEFAULT = 0;
    // cusparseLtMatmulAlgAttribute_t
    static final int ALG_CONFIG_ID = 0;

    private final NativeLibraries.Loaded library;
    private final MethodHandle init, destroy, getVersion, errorName, errorString, denseDescriptorInit, structuredDescriptorInit,
            matDescriptorDestroy, matmulDescriptorInit, algSelectionInit, algSelectionDestroy,
            algGetAttribute, getWorkspace, planInit, planDestroy, matmul, search, compressedSize, compress;

    private CusparseLt(NativeLibraries.Loaded lib) {
        this.library = lib;
        FunctionDescriptor oneStruct = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        // (handle*, object*, attribute, const void* data, size_t dataSize)
        FunctionDescriptor attribute = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG);
        // (handle*, plan*, alpha*, d_A, d_B, beta*, d_C, d_D, workspace, cudaStream_t* streams, int32_t numStreams)
        FunctionDescriptor product = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS,
                JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT);
        init = NativeCalls.bind(lib, "cusparseLtInit", oneStruct);
        destroy = NativeCalls.bind(lib, "cusparseLtDestroy", oneStruct);
        getVersion = NativeCalls.bind(lib, "cusparseLtGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        errorName = NativeCalls.bind(lib, "cusparseLtGetErrorName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        errorString = NativeCalls.bind(lib, "cusparseLtGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        // (handle*, matDescr*, int64_t rows, int64_t cols, int64_t ld, uint32_t alignment, cudaDataType, cusparseOrder_t)
        denseDescriptorInit = NativeCalls.bind(lib, "cusparseLtDenseDescriptorInit", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
        // ... the same, then cusparseLtSparsity_t
        structuredDescriptorInit = NativeCalls.bind(lib, "cusparseLtStructuredDescriptorInit", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        matDescriptorDestroy = NativeCalls.bind(lib, "cusparseLtMatDescriptorDestroy", oneStruct);
        // (handle*, matmulDescr*, opA, opB, matA*, matB*, matC*, matD*, cusparseComputeType)
        matmulDescriptorInit = NativeCalls.bind(lib, "cusparseLtMatmulDescriptorInit", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        // (handle*, algSelection*, const matmulDescr*, cusparseLtMatmulAlg_t)
        algSelectionInit = NativeCalls.bind(lib, "cusparseLtMatmulAlgSelectionInit",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
        algSelectionDestroy = NativeCalls.bind(lib, "cusparseLtMatmulAlgSelectionDestroy", oneStruct);
        algGetAttribute = NativeCalls.bind(lib, "cusparseLtMatmulAlgGetAttribute", attribute);
        // (handle*, plan*, size_t* workspaceSize)
        getWorkspace = NativeCalls.bind(lib, "cusparseLtMatmulGetWorkspace", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        // (handle*, plan*, matmulDescr*, algSelection*)
        planInit = NativeCalls.bind(lib, "cusparseLtMatmulPlanInit", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        planDestroy = NativeCalls.bind(lib, "cusparseLtMatmulPlanDestroy", oneStruct);
        matmul = NativeCalls.bind(lib, "cusparseLtMatmul", product);
        search = NativeCalls.bind(lib, "cusparseLtMatmulSearch", product);
        // (handle*, plan*, size_t* compressedSize, size_t* compressedBufferSize)
        compressedSize = NativeCalls.bind(lib, "cusparseLtSpMMACompressedSize",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        // (handle*, plan*, d_dense, d_compressed, d_compressed_buffer, cudaStream_t stream)
        compress = NativeCalls.bind(lib, "cusparseLtSpMMACompress", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    }

    static CusparseLt load(LibrarySearchPath path) {
        return new CusparseLt(NativeLibraries.load(NativeLibraries.CUSPARSELT, path));
    }

    String location() { return library.location(); }

    /** A zeroed, 16-byte aligned 512-byte struct for a handle, descriptor, selection or plan, living as long as {@code arena}. */
    static MemorySegment newStruct(Arena arena) {
        return arena.allocate(STRUCT_BYTES, STRUCT_ALIGNMENT);
    }

    // ---- handle -----------------------------------------------------------------------------------------

    /** cusparseLtInit: binds the handle to the device of the calling thread's current context. */
    void init(MemorySegment handle) {
        call(() -> (int) init.invokeExact(handle), "cusparseLtInit");
    }

    void destroy(MemorySegment handle) {
        call(() -> (int) destroy.invokeExact(handle), "cusparseLtDestroy");
    }

    /** The library's version, major·1000 + minor·100 + patch (800 for 0.8.0). */
    int version(MemorySegment handle) {
        return NativeCalls.intOut(out -> (int) getVersion.invokeExact(handle, out), this::check, "cusparseLtGetVersion");
    }

    // ---- descriptors --------------------------------------------------------------------------------------

    void denseDescriptor(MemorySegment handle, MemorySegment descriptor, long rows, long cols, long ld, int alignment, int type, int order) {
        call(() -> (int) denseDescriptorInit.invokeExact(handle, descriptor, rows, cols, ld, alignment, type, order),
                "cusparseLtDenseDescriptorInit(" + rows + "x" + cols + ", ld " + ld + ", " + orderName(order) + ")");
    }

    void structuredDescriptor(MemorySegment handle, MemorySegment descriptor, long rows, long cols, long ld, int alignment, int type,
                              int order, int sparsity) {
        call(() -> (int) structuredDescriptorInit.invokeExact(handle, descriptor, rows, cols, ld, alignment, type, order, sparsity),
                "cusparseLtStructuredDescriptorInit(" + rows + "x" + cols + ", ld " + ld + ", " + orderName(order) + ")");
    }

    void destroyMatDescriptor(MemorySegment descriptor) {
        call(() -> (int) matDescriptorDestroy.invokeExact(descriptor), "cusparseLtMatDescriptorDestroy");
    }

    /** Describes D = op(A)·op(B) + C; cuSPARSELt has no matching destroy call (the struct is plain memory). */
    void matmulDescriptor(MemorySegment handle, MemorySegment matmulDescriptor, int opA, int opB, MemorySegment a, MemorySegment b,
                          MemorySegment c, MemorySegment d, int computeType) {
        call(() -> (int) matmulDescriptorInit.invokeExact(handle, matmulDescriptor, opA, opB, a, b, c, d, computeType),
                "cusparseLtMatmulDescriptorInit(opA " + opName(opA) + ", opB " + opName(opB) + ")");
    }


    // ---- algorithm selection and plan ---------------------------------------------------------------------

    void algSelection(MemorySegment handle, MemorySegment selection, MemorySegment matmulDescriptor) {
        call(() -> (int) algSelectionInit.invokeExact(handle, selection, matmulDescriptor, MATMUL_ALG_DEFAULT),
                "cusparseLtMatmulAlgSelectionInit");
    }

    void destroyAlgSelection(MemorySegment selection) {
        call(() -> (int) algSelectionDestroy.invokeExact(selection), "cusparseLtMatmulAlgSelectionDestroy");
    }


    int algInt(MemorySegment handle, MemorySegment selection, int attribute) {
        return NativeCalls.intOut(out -> (int) algGetAttribute.invokeExact(handle, selection, attribute, out, 4L), this::check,
                "cusparseLtMatmulAlgGetAttribute(" + attribute + ")");
    }

    void planInit(MemorySegment handle, MemorySegment plan, MemorySegment matmulDescriptor, MemorySegment selection) {
        call(() -> (int) planInit.invokeExact(handle, plan, matmulDescriptor, selection), "cusparseLtMatmulPlanInit");
    }

    void destroyPlan(MemorySegment plan) {
        call(() -> (int) planDestroy.invokeExact(plan), "cusparseLtMatmulPlanDestroy");
    }

    /** Device workspace bytes the plan's algorithm needs. */
    long workspaceBytes(MemorySegment handle, MemorySegment plan) {
        return NativeCalls.longOut(out -> (int) getWorkspace.invokeExact(handle, plan, out), this::check, "cusparseLtMatmulGetWorkspace");
    }

    // ---- products -----------------------------------------------------------------------------------------

    /**
     * D = alpha·op(A)·op(B) + beta·C with host fp32 scalars, queued on {@code streams} (one cudaStream_t
     * per element, {@code numStreams} of them). Returns the raw status so the hot path can name its shape.
     */
    int matmul(MemorySegment handle, MemorySegment plan, MemorySegment alpha, long a, long b, MemorySegment beta, long c, long d,
               long workspace, MemorySegment streams, int numStreams) {
        try {
            return (int) matmul.invokeExact(handle, plan, alpha, a, b, beta, c, d, workspace, streams, numStreams);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /**
     * Times every algorithm on these operands and leaves the fastest in the plan (and its algorithm
     * selection). Runs the product for real: C is read and D written, several times.
     */
    void search(MemorySegment handle, MemorySegment plan, MemorySegment alpha, long a, long b, MemorySegment beta, long c, long d,
                long workspace, MemorySegment streams, int numStreams) {
        call(() -> (int) search.invokeExact(handle, plan, alpha, a, b, beta, c, d, workspace, streams, numStreams),
                "cusparseLtMatmulSearch");
    }

    // ---- compression ---------------------------------------------------------------------------------------

    /**
     * Sizes for {@link #compress}.
     *
     * @param compressedBytes bytes of the compressed sparse operand (values and metadata)
     * @param bufferBytes     bytes of the temporary device buffer compression needs
     */
    record CompressedSize(long compressedBytes, long bufferBytes) {}

    CompressedSize compressedSize(MemorySegment handle, MemorySegment plan) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(JAVA_LONG), buffer = arena.allocate(JAVA_LONG);
            call(() -> (int) compressedSize.invokeExact(handle, plan, size, buffer), "cusparseLtSpMMACompressedSize");
            return new CompressedSize(size.get(JAVA_LONG, 0), buffer.get(JAVA_LONG, 0));
        }
    }

    /** Queues the compression of the plan's dense, already 2:4-pruned sparse operand on {@code stream}. */
    void compress(MemorySegment handle, MemorySegment plan, long dense, long compressed, long buffer, long stream) {
        call(() -> (int) compress.invokeExact(handle, plan, dense, compressed, buffer, stream), "cusparseLtSpMMACompress");
    }

    // ---- status ------------------------------------------------------------------------------------------

    /** A failed cuSPARSELt call; {@link #status()} lets a caller tell "this form is unsupported" from a broken device. */
    static final class Failure extends CudaException {
        private final int status;

        Failure(int status, String message) {
            super(message);
            this.status = status;
        }

        int status() { return status; }

        /** Whether the library rejected the request itself (bad or unsupported arguments), leaving the device intact. */
        boolean rejectedArguments() { return status == STATUS_INVALID_VALUE || status == STATUS_NOT_SUPPORTED; }
    }

    void check(int status, String call) {
        if (status != 0) throw failure(status, call);
    }

    Failure failure(int status, String call) {
        return new Failure(status, call + " failed: " + text(errorName, status, "CUSPARSE_STATUS_" + status) + " (cuSPARSELt status "
                + status + "): " + text(errorString, status, "no description"));
    }

    private static String text(MethodHandle lookup, int status, String fallback) {
        try {
            return NativeCalls.cString((MemorySegment) lookup.invokeExact(status), fallback);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    static String orderName(int order) {
        return switch (order) {
            case ORDER_ROW -> "row-major";
            case ORDER_COL -> "column-major";
            default -> "order " + order;
        };
    }

    static String opName(int op) {
        return switch (op) {
            case OP_N -> "N";
            case OP_T -> "T";
            default -> "op " + op;
        };
    }

    @FunctionalInterface
    private interface StatusCall {
        int call() throws Throwable;
    }

    private void call(StatusCall c, String name) {
        int status;
        try {
            status = c.call();
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
        check(status, name);
    }
}
