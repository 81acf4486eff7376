package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every cuSPARSELt downcall against a stand-in library built here with the C prototypes of
 * cusparseLt.h 0.8 (enums as C enums, int64_t, uint32_t, size_t, cudaStream_t pointers): each stub
 * function logs the arguments it received, so a wrong type, width or order in a FunctionDescriptor
 * shows up as a wrong value, and struct pointers show up by the labels earlier calls wrote into the
 * structs. Runs without a GPU; skipped where no C compiler is on the PATH.
 */
class CusparseLtBindingTest {
    private static final String STUB = """
            #include <stdint.h>
            #include <stdio.h>
            #include <string.h>
            typedef int cusparseStatus_t;
            typedef enum { CUSPARSE_ORDER_COL = 1, CUSPARSE_ORDER_ROW = 2 } cusparseOrder_t;
            typedef enum { CUSPARSE_OPERATION_NON_TRANSPOSE = 0, CUSPARSE_OPERATION_TRANSPOSE = 1 } cusparseOperation_t;
            typedef enum { CUDA_R_32F = 0, CUDA_R_16BF = 14 } cudaDataType;
            typedef struct CUstream_st* cudaStream_t;
            typedef struct { _Alignas(16) char data[512]; } cusparseLtHandle_t;
            typedef struct { _Alignas(16) char data[512]; } cusparseLtMatDescriptor_t;
            typedef struct { _Alignas(16) char data[512]; } cusparseLtMatmulDescriptor_t;
            typedef struct { _Alignas(16) char data[512]; } cusparseLtMatmulAlgSelection_t;
            typedef struct { _Alignas(16) char data[512]; } cusparseLtMatmulPlan_t;
            typedef enum { CUSPARSELT_SPARSITY_50_PERCENT } cusparseLtSparsity_t;
            typedef enum { CUSPARSE_COMPUTE_32I, CUSPARSE_COMPUTE_16F, CUSPARSE_COMPUTE_32F } cusparseComputeType;
            typedef enum { CUSPARSELT_MATMUL_ACTIVATION_RELU } cusparseLtMatmulDescAttribute_t;
            typedef enum { CUSPARSELT_MATMUL_ALG_DEFAULT } cusparseLtMatmulAlg_t;
            typedef enum { CUSPARSELT_MATMUL_ALG_CONFIG_ID } cusparseLtMatmulAlgAttribute_t;

            static char last[2048];
            static int failNext;
            static int configId = 6; /* what a search would have left in the selection */
            const char* stub_last(void) { return last; }
            void stub_fail_next(int status) { failNext = status; }
            static cusparseStatus_t done(void) { int s = failNext; failNext = 0; return s; }
            #define P(x) ((unsigned long long) (uintptr_t) (x))

            cusparseStatus_t cusparseLtInit(cusparseLtHandle_t* handle) {
                strcpy(handle->data, "handle");
                snprintf(last, sizeof last, "init aligned=%d", (int) (P(handle) % 16 == 0));
                return done();
            }
            cusparseStatus_t cusparseLtDestroy(const cusparseLtHandle_t* handle) {
                snprintf(last, sizeof last, "destroy %.32s", handle->data); return done();
            }
            cusparseStatus_t cusparseLtGetVersion(const cusparseLtHandle_t* handle, int* version) {
                *version = 800; snprintf(last, sizeof last, "version %.32s", handle->data); return done();
            }
            const char* cusparseLtGetErrorName(cusparseStatus_t status) {
                return status == 10 ? "CUSPARSE_STATUS_NOT_SUPPORTED" : "CUSPARSE_STATUS_OTHER";
            }
            const char* cusparseLtGetErrorString(cusparseStatus_t status) {
                return status == 10 ? "operation not supported (stub)" : "other (stub)";
            }
            cusparseStatus_t cusparseLtDenseDescriptorInit(const cusparseLtHandle_t* handle, cusparseLtMatDescriptor_t* matDescr,
                    int64_t rows, int64_t cols, int64_t ld, uint32_t alignment, cudaDataType valueType, cusparseOrder_t order) {
                snprintf(matDescr->data, 512, "dense%lld", (long long) rows);
                snprintf(last, sizeof last, "dense %.32s %lld %lld %lld %u %d %d", handle->data, (long long) rows, (long long) cols,
                        (long long) ld, alignment, (int) valueType, (int) order);
                return done();
            }
            cusparseStatus_t cusparseLtStructuredDescriptorInit(const cusparseLtHandle_t* handle, cusparseLtMatDescriptor_t* matDescr,
                    int64_t rows, int64_t cols, int64_t ld, uint32_t alignment, cudaDataType valueType, cusparseOrder_t order,
                    cusparseLtSparsity_t sparsity) {
                strcpy(matDescr->data, "sparse");
                snprintf(last, sizeof last, "structured %.32s %lld %lld %lld %u %d %d %d", handle->data, (long long) rows, (long long) cols,
                        (long long) ld, alignment, (int) valueType, (int) order, (int) sparsity);
                return done();
            }
            cusparseStatus_t cusparseLtMatDescriptorDestroy(const cusparseLtMatDescriptor_t* matDescr) {
                snprintf(last, sizeof last, "matDestroy %.32s", matDescr->data); return done();
            }
            cusparseStatus_t cusparseLtMatmulDescriptorInit(const cusparseLtHandle_t* handle, cusparseLtMatmulDescriptor_t* matmulDescr,
                    cusparseOperation_t opA, cusparseOperation_t opB, const cusparseLtMatDescriptor_t* matA,
                    const cusparseLtMatDescriptor_t* matB, const cusparseLtMatDescriptor_t* matC, const cusparseLtMatDescriptor_t* matD,
                    cusparseComputeType computeType) {
                strcpy(matmulDescr->data, "matmul");
                snprintf(last, sizeof last, "matmulDesc %.32s %d %d %.32s %.32s %.32s %.32s %d", handle->data, (int) opA, (int) opB, matA->data,
                        matB->data, matC->data, matD->data, (int) computeType);
                return done();
            }
            cusparseStatus_t cusparseLtMatmulAlgSelectionInit(const cusparseLtHandle_t* handle, cusparseLtMatmulAlgSelection_t* algSelection,
                    const cusparseLtMatmulDescriptor_t* matmulDescr, cusparseLtMatmulAlg_t alg) {
                strcpy(algSelection->data, "selection");
                snprintf(last, sizeof last, "algInit %.32s %.32s %d", handle->data, matmulDescr->data, (int) alg);
                return done();
            }
            cusparseStatus_t cusparseLtMatmulAlgSelectionDestroy(const cusparseLtMatmulAlgSelection_t* algSelection) {
                snprintf(last, sizeof last, "algDestroy %.32s", algSelection->data); return done();
            }
            cusparseStatus_t cusparseLtMatmulAlgGetAttribute(const cusparseLtHandle_t* handle,
                    const cusparseLtMatmulAlgSelection_t* algSelection, cusparseLtMatmulAlgAttribute_t attribute, void* data, size_t dataSize) {
                *(int*) data = configId;
                snprintf(last, sizeof last, "algGet %.32s %.32s %d %zu", handle->data, algSelection->data, (int) attribute, dataSize);
                return done();
            }
            cusparseStatus_t cusparseLtMatmulGetWorkspace(const cusparseLtHandle_t* handle, const cusparseLtMatmulPlan_t* plan,
                    size_t* workspaceSize) {
                *workspaceSize = 12345678901ULL;
                snprintf(last, sizeof last, "workspace %.32s %.32s", handle->data, plan->data);
                return done();
            }
            cusparseStatus_t cusparseLtMatmulPlanInit(const cusparseLtHandle_t* handle, cusparseLtMatmulPlan_t* plan,
                    const cusparseLtMatmulDescriptor_t* matmulDescr, const cusparseLtMatmulAlgSelection_t* algSelection) {
                strcpy(plan->data, "plan");
                snprintf(last, sizeof last, "planInit %.32s %.32s %.32s", handle->data, matmulDescr->data, algSelection->data);
                return done();
            }
            cusparseStatus_t cusparseLtMatmulPlanDestroy(const cusparseLtMatmulPlan_t* plan) {
                snprintf(last, sizeof last, "planDestroy %.32s", plan->data); return done();
            }
            static cusparseStatus_t product(const char* name, const cusparseLtHandle_t* handle, const cusparseLtMatmulPlan_t* plan,
                    const void* alpha, const void* d_A, const void* d_B, const void* beta, const void* d_C, void* d_D, void* workspace,
                    cudaStream_t* streams, int32_t numStreams) {
                snprintf(last, sizeof last, "%.32s %.32s %.32s %g %llx %llx %g %llx %llx %llx %llx %d", name, handle->data, plan->data,
                        *(const float*) alpha, P(d_A), P(d_B), *(const float*) beta, P(d_C), P(d_D), P(workspace), P(streams[0]),
                        (int) numStreams);
                return done();
            }
            cusparseStatus_t cusparseLtMatmul(const cusparseLtHandle_t* handle, const cusparseLtMatmulPlan_t* plan, const void* alpha,
                    const void* d_A, const void* d_B, const void* beta, const void* d_C, void* d_D, void* workspace,
                    cudaStream_t* streams, int32_t numStreams) {
                return product("matmul", handle, plan, alpha, d_A, d_B, beta, d_C, d_D, workspace, streams, numStreams);
            }
            cusparseStatus_t cusparseLtMatmulSearch(const cusparseLtHandle_t* handle, cusparseLtMatmulPlan_t* plan, const void* alpha,
                    const void* d_A, const void* d_B, const void* beta, const void* d_C, void* d_D, void* workspace,
                    cudaStream_t* streams, int32_t numStreams) {
                return product("search", handle, plan, alpha, d_A, d_B, beta, d_C, d_D, workspace, streams, numStreams);
            }
            cusparseStatus_t cusparseLtSpMMACompressedSize(const cusparseLtHandle_t* handle, const cusparseLtMatmulPlan_t* plan,
                    size_t* compressedSize, size_t* compressedBufferSize) {
                *compressedSize = 5000000000ULL;
                *compressedBufferSize = 7;
                snprintf(last, sizeof last, "compressedSize %.32s %.32s", handle->data, plan->data);
                return done();
            }
            cusparseStatus_t cusparseLtSpMMACompress(const cusparseLtHandle_t* handle, const cusparseLtMatmulPlan_t* plan,
                    const void* d_dense, void* d_compressed, void* d_compressed_buffer, cudaStream_t stream) {
                snprintf(last, sizeof last, "compress %.32s %.32s %llx %llx %llx %llx", handle->data, plan->data, P(d_dense), P(d_compressed),
                        P(d_compressed_buffer), P(stream));
                return done();
            }
            """;

    private static Arena arena;
    private static CusparseLt lt;
    private static MethodHandle lastCall, failNext;

    @BeforeAll
    static void buildTheStub(@TempDir Path dir) throws Exception {
        Path cc = onPath("cc");
        assumeTrue(cc != null, "no C compiler (cc) on the PATH to build the stand-in cuSPARSELt");
        Path source = dir.resolve("stub.c"), library = dir.resolve("libcusparseLt.so.0");
        Files.writeString(source, STUB);
        Process p = new ProcessBuilder(cc.toString(), "-std=c11", "-shared", "-fPIC", "-Wall", "-Werror", "-o", library.toString(), source.toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "the stub does not compile:\n" + output);
        lt = CusparseLt.load(new LibrarySearchPath(List.of(dir), false, List.of(), List.of()));
        arena = Arena.ofShared();
        SymbolLookup stub = SymbolLookup.libraryLookup(library, arena);
        lastCall = NativeCalls.LINKER.downcallHandle(stub.find("stub_last").orElseThrow(), FunctionDescriptor.of(ADDRESS));
        failNext = NativeCalls.LINKER.downcallHandle(stub.find("stub_fail_next").orElseThrow(), FunctionDescriptor.ofVoid(JAVA_INT));
    }

    @AfterAll
    static void close() {
        if (arena != null) arena.close();
    }

    @Test
    void handleAndVersion() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment handle = CusparseLt.newStruct(a);
            assertEquals(512, handle.byteSize());
            lt.init(handle);
            assertEquals("init aligned=1", last());
            assertEquals(800, lt.version(handle));
            assertEquals("version handle", last());
            lt.destroy(handle);
            assertEquals("destroy handle", last());
        }
    }

    @Test
    void descriptorsCarryEveryArgumentAndTheirStructs() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment handle = initialised(a), sparse = CusparseLt.newStruct(a), b = CusparseLt.newStruct(a), d = CusparseLt.newStruct(a);
            lt.structuredDescriptor(handle, sparse, 3_000_000_000L, 256, 4_000_000_000L, 16, CusparseLt.CUDA_R_16BF, CusparseLt.ORDER_ROW,
                    CusparseLt.SPARSITY_50_PERCENT);
            assertEquals("structured handle 3000000000 256 4000000000 16 14 2 0", last());
            lt.denseDescriptor(handle, b, 512, 64, 72, 16, CusparseLt.CUDA_R_16BF, CusparseLt.ORDER_COL);
            assertEquals("dense handle 512 64 72 16 14 1", last());
            lt.denseDescriptor(handle, d, 128, 64, 128, 16, CusparseLt.CUDA_R_16BF, CusparseLt.ORDER_ROW);
            MemorySegment matmul = CusparseLt.newStruct(a);
            lt.matmulDescriptor(handle, matmul, CusparseLt.OP_N, CusparseLt.OP_T, sparse, b, d, d, CusparseLt.COMPUTE_32F);
            assertEquals("matmulDesc handle 0 1 sparse dense512 dense128 dense128 2", last());
            lt.destroyMatDescriptor(b);
            assertEquals("matDestroy dense512", last());
        }
    }

    @Test
    void selectionPlanAndSizesRoundTrip() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment handle = initialised(a), matmul = CusparseLt.newStruct(a), selection = CusparseLt.newStruct(a), plan = CusparseLt.newStruct(a);
            matmul.setString(0, "matmul");
            lt.algSelection(handle, selection, matmul);
            assertEquals("algInit handle matmul 0", last());
            assertEquals(6, lt.algInt(handle, selection, CusparseLt.ALG_CONFIG_ID));
            assertEquals("algGet handle selection 0 4", last());
            lt.planInit(handle, plan, matmul, selection);
            assertEquals("planInit handle matmul selection", last());
            assertEquals(12_345_678_901L, lt.workspaceBytes(handle, plan));
            assertEquals("workspace handle plan", last());
            assertEquals(new CusparseLt.CompressedSize(5_000_000_000L, 7), lt.compressedSize(handle, plan));
            assertEquals("compressedSize handle plan", last());
            lt.destroyPlan(plan);
            assertEquals("planDestroy plan", last());
            lt.destroyAlgSelection(selection);
            assertEquals("algDestroy selection", last());
        }
    }

    @Test
    void productsAndCompressionPassScalarsPointersAndTheStreamArray() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment handle = initialised(a), plan = CusparseLt.newStruct(a);
            plan.setString(0, "plan");
            MemorySegment alpha = a.allocate(JAVA_FLOAT), beta = a.allocate(JAVA_FLOAT), streams = a.allocate(JAVA_LONG);
            alpha.set(JAVA_FLOAT, 0, 0.5f);
            beta.set(JAVA_FLOAT, 0, -2f);
            streams.set(JAVA_LONG, 0, 0x7f00_1234_5600L);
            assertEquals(0, lt.matmul(handle, plan, alpha, 0x7f00_0000_1000L, 0x7f00_0000_2000L, beta, 0x7f00_0000_3000L,
                    0x7f00_0000_3000L, 0x7f00_0000_4000L, streams, 1));
            assertEquals("matmul handle plan 0.5 7f0000001000 7f0000002000 -2 7f0000003000 7f0000003000 7f0000004000 7f0012345600 1", last());
            lt.search(handle, plan, alpha, 0x10L, 0x20L, beta, 0x30L, 0x40L, 0L, streams, 1);
            assertEquals("search handle plan 0.5 10 20 -2 30 40 0 7f0012345600 1", last());
            lt.compress(handle, plan, 0x7f00_0000_5000L, 0x7f00_0000_6000L, 0x7f00_0000_7000L, 0x7f00_dead_0000L);
            assertEquals("compress handle plan 7f0000005000 7f0000006000 7f0000007000 7f00dead0000", last());
        }
    }

    @Test
    void aFailingStatusNamesTheCallTheStatusAndTheLibrarysText() throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment handle = initialised(a);
            failNext.invokeExact(CusparseLt.STATUS_NOT_SUPPORTED);
            var e = assertThrows(CusparseLt.Failure.class, () -> lt.denseDescriptor(handle, CusparseLt.newStruct(a), 64, 32, 32, 16,
                    CusparseLt.CUDA_R_16BF, CusparseLt.ORDER_ROW));
            assertEquals("cusparseLtDenseDescriptorInit(64x32, ld 32, row-major) failed: CUSPARSE_STATUS_NOT_SUPPORTED (cuSPARSELt status 10):"
                    + " operation not supported (stub)", e.getMessage());
            assertEquals(10, e.status());
            assertTrue(e.rejectedArguments());
            failNext.invokeExact(7);
            var internal = assertThrows(CusparseLt.Failure.class, () -> lt.version(handle));
            assertTrue(internal.getMessage().startsWith("cusparseLtGetVersion failed: CUSPARSE_STATUS_OTHER (cuSPARSELt status 7)"),
                    internal.getMessage());
            assertFalse(internal.rejectedArguments(), "an internal error is not the library rejecting a form");
            MemorySegment plan = CusparseLt.newStruct(a), scalar = a.allocate(JAVA_FLOAT), streams = a.allocate(JAVA_LONG);
            failNext.invokeExact(9);
            assertEquals(9, lt.matmul(handle, plan, scalar, 0L, 0L, scalar, 0L, 0L, 0L, streams, 1), "the hot path returns the raw status");
        }
    }

    private static MemorySegment initialised(Arena a) {
        MemorySegment handle = CusparseLt.newStruct(a);
        lt.init(handle);
        return handle;
    }

    private static String last() throws Throwable {
        return ((MemorySegment) lastCall.invokeExact()).reinterpret(2048).getString(0);
    }

    private static Path onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, program);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }
}
