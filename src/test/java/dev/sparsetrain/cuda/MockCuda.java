package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Stand-ins for libcuda, libnvrtc and libcublasLt, built from C with the machine's C compiler, so the
 * backend's FFM layer runs end to end without a GPU: argument order and types of every downcall,
 * the row-major GEMM through a column-major library, launches, the kernel cache and the cleanup.
 *
 * <p>The driver mock is compiled against the real cuda.h: the compiler checks its prototypes, and the
 * header's {@code #define}s give it the same versioned symbol names ({@code cuMemAlloc_v2}, ...) that
 * the real driver exports and our bindings look up. "Device" memory is host memory. The cuBLASLt mock
 * performs the column-major GEMM its descriptors and layouts describe. Each mock also exports
 * {@code mock_*} counters that the tests read.
 */
final class MockCuda {
    static final Path CUDA_INCLUDE = Path.of("/usr/local/cuda/include");

    private static final String DRIVER = """
            #include <cuda.h>
            #include <stdlib.h>
            #include <string.h>
            static int ctx, stream, retained, streams, modules, allocations, launches, shared_attribute;
            static char names[64][128]; static int named;
            int mock_retained(void) { return retained; }
            int mock_streams(void) { return streams; }
            int mock_modules(void) { return modules; }
            int mock_allocations(void) { return allocations; }
            int mock_launches(void) { return launches; }
            int mock_shared_attribute(void) { return shared_attribute; }
            CUresult cuGetErrorName(CUresult e, const char** s) { *s = e == 2 ? "CUDA_ERROR_OUT_OF_MEMORY" : "CUDA_ERROR_MOCK"; return CUDA_SUCCESS; }
            CUresult cuGetErrorString(CUresult e, const char** s) { *s = "mock description"; return CUDA_SUCCESS; }
            CUresult cuInit(unsigned int flags) { return flags == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE; }
            CUresult cuDriverGetVersion(int* v) { *v = 13000; return CUDA_SUCCESS; }
            CUresult cuDeviceGetCount(int* c) { *c = 1; return CUDA_SUCCESS; }
            CUresult cuDeviceGet(CUdevice* d, int ordinal) { if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE; *d = 0; return CUDA_SUCCESS; }
            CUresult cuDeviceGetName(char* name, int len, CUdevice d) { strncpy(name, "Mock H200", len); return CUDA_SUCCESS; }
            CUresult cuDeviceGetAttribute(int* v, CUdevice_attribute a, CUdevice d) {
              switch (a) {
                case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *v = 9; return CUDA_SUCCESS;
                case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *v = 0; return CUDA_SUCCESS;
                case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *v = 132; return CUDA_SUCCESS;
                case CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN: *v = 232448; return CUDA_SUCCESS;
                default: return CUDA_ERROR_INVALID_VALUE;
              }
            }
            CUresult cuDevicePrimaryCtxRetain(CUcontext* c, CUdevice d) { *c = (CUcontext) &ctx; retained++; return CUDA_SUCCESS; }
            CUresult cuDevicePrimaryCtxRelease(CUdevice d) { retained--; return CUDA_SUCCESS; }
            CUresult cuCtxSetCurrent(CUcontext c) { return c == (CUcontext) &ctx ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT; }
            CUresult cuMemGetInfo(size_t* free, size_t* total) { *free = 1 << 20; *total = 1 << 30; return CUDA_SUCCESS; }
            CUresult cuMemAlloc(CUdeviceptr* p, size_t bytes) {
              if (bytes > ((size_t) 1 << 40)) return CUDA_ERROR_OUT_OF_MEMORY;
              void* m = malloc(bytes); memset(m, 0xAB, bytes); *p = (CUdeviceptr) m; allocations++; return CUDA_SUCCESS;
            }
            CUresult cuMemFree(CUdeviceptr p) { free((void*) p); allocations--; return CUDA_SUCCESS; }
            CUresult cuMemcpyHtoD(CUdeviceptr dst, const void* src, size_t n) { memcpy((void*) dst, src, n); return CUDA_SUCCESS; }
            CUresult cuMemcpyDtoH(void* dst, CUdeviceptr src, size_t n) { memcpy(dst, (const void*) src, n); return CUDA_SUCCESS; }
            CUresult cuMemcpyDtoDAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
              if (s != (CUstream) &stream) return CUDA_ERROR_INVALID_HANDLE;
              memcpy((void*) dst, (const void*) src, n);
              return CUDA_SUCCESS;
            }
            CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int v, size_t n, CUstream s) {
              if (s != (CUstream) &stream) return CUDA_ERROR_INVALID_HANDLE;
              for (size_t i = 0; i < n; i++) ((unsigned int*) dst)[i] = v;
              return CUDA_SUCCESS;
            }
            CUresult cuStreamCreate(CUstream* s, unsigned int flags) { if (flags != 0) return CUDA_ERROR_INVALID_VALUE; *s = (CUstream) &stream; streams++; return CUDA_SUCCESS; }
            CUresult cuStreamSynchronize(CUstream s) { return s == (CUstream) &stream ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE; }
            CUresult cuStreamDestroy(CUstream s) { streams--; return CUDA_SUCCESS; }
            CUresult cuModuleLoadData(CUmodule* m, const void* image) {
              /* The NVRTC mock's "cubin" is the source text; anything else is a damaged image. */
              if (!strstr((const char*) image, "__global__")) return CUDA_ERROR_INVALID_IMAGE;
              *m = (CUmodule) strdup((const char*) image); modules++; return CUDA_SUCCESS;
            }
            CUresult cuModuleUnload(CUmodule m) { free(m); modules--; return CUDA_SUCCESS; }
            CUresult cuModuleGetFunction(CUfunction* f, CUmodule m, const char* name) {
              if (!strstr((const char*) m, name)) return CUDA_ERROR_NOT_FOUND;
              for (int i = 0; i < named; i++) if (!strcmp(names[i], name)) { *f = (CUfunction) (long) (i + 1); return CUDA_SUCCESS; }
              strncpy(names[named], name, 127); *f = (CUfunction) (long) ++named; return CUDA_SUCCESS;
            }
            CUresult cuFuncSetAttribute(CUfunction f, CUfunction_attribute a, int v) {
              if (a != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) return CUDA_ERROR_INVALID_VALUE;
              shared_attribute = v;
              return CUDA_SUCCESS;
            }
            /* Every mock kernel is fill_ramp(float* out, int n, float scale, long long offset). */
            CUresult cuFuncGetParamInfo(CUfunction f, size_t i, size_t* offset, size_t* size) {
              static const size_t sizes[] = {8, 4, 4, 8}, offsets[] = {0, 8, 12, 16};
              if (i >= 4) return CUDA_ERROR_INVALID_VALUE;
              *offset = offsets[i]; if (size) *size = sizes[i]; return CUDA_SUCCESS;
            }
            CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                    unsigned shared, CUstream s, void** params, void** extra) {
              if (s != (CUstream) &stream || extra != NULL || bz != 1 || gx == 0) return CUDA_ERROR_INVALID_VALUE;
              float* out = *(float**) params[0]; int n = *(int*) params[1]; float scale = *(float*) params[2];
              long long offset = *(long long*) params[3];
              for (int i = 0; i < n; i++) out[i] = scale * i + (float) offset;
              launches++; return CUDA_SUCCESS;
            }
            """;

    private static final String NVRTC = """
            #include <stdlib.h>
            #include <string.h>
            typedef struct { char* source; char log[256]; } program;
            static int compiles, headers;
            int mock_compiles(void) { return compiles; }
            /* The headers of the latest program whose names all end in .cuh and whose texts are non-empty: -1 otherwise. */
            int mock_headers(void) { return headers; }
            int nvrtcVersion(int* major, int* minor) { *major = 13; *minor = 0; return 0; }
            const char* nvrtcGetErrorString(int r) { return r == 6 ? "NVRTC_ERROR_COMPILATION" : "NVRTC_ERROR_MOCK"; }
            int nvrtcCreateProgram(program** p, const char* src, const char* name, int n, const char* const* h, const char* const* in) {
              headers = n;
              for (int i = 0; i < n; i++) {
                size_t len = strlen(in[i]);
                if (len < 4 || strcmp(in[i] + len - 4, ".cuh") || !h[i][0]) headers = -1;
              }
              program* q = calloc(1, sizeof(program)); q->source = strdup(src); strncpy(q->log, name, 100); *p = q; return 0;
            }
            int nvrtcDestroyProgram(program** p) { free((*p)->source); free(*p); *p = NULL; return 0; }
            int nvrtcCompileProgram(program* p, int n, const char* const* options) {
              compiles++;
              if (n != 3 || strcmp(options[0], "--gpu-architecture=sm_90a")) { strcpy(p->log, "unexpected options"); return 5; }
              if (strstr(p->source, "SYNTAX_ERROR")) { strcat(p->log, "(1): error: expected a ';'"); return 6; }
              p->log[0] = 0; return 0;
            }
            int nvrtcGetCUBINSize(program* p, size_t* size) { *size = strlen(p->source) + 1; return 0; }
            int nvrtcGetCUBIN(program* p, char* out) { strcpy(out, p->source); return 0; }
            int nvrtcGetProgramLogSize(program* p, size_t* size) { *size = strlen(p->log) + 1; return 0; }
            int nvrtcGetProgramLog(program* p, char* out) { strcpy(out, p->log); return 0; }
            """;

    private static final String CUBLASLT = """
            #include <stdint.h>
            #include <stdlib.h>
            #include <string.h>
            typedef struct { int transa, transb; } desc;
            typedef struct { uint64_t rows, cols; int64_t ld; } layout;
            typedef struct { uint64_t data[8]; } algo;
            typedef struct { algo a; size_t workspace; int state; float waves; int reserved[4]; } result;
            static int handles, handle;
            int mock_handles(void) { return handles; }
            int cublasLtCreate(void** h) { *h = &handle; handles++; return 0; }
            int cublasLtDestroy(void* h) { handles--; return 0; }
            size_t cublasLtGetVersion(void) { return 130100; }
            const char* cublasLtGetStatusName(int s) { return s == 7 ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_MOCK"; }
            const char* cublasLtGetStatusString(int s) { return "mock status"; }
            int cublasLtMatmulDescCreate(desc** d, int compute, int scale) {
              if (compute != 68 || scale != 0) return 7;
              *d = calloc(1, sizeof(desc));
              return 0;
            }
            int cublasLtMatmulDescDestroy(desc* d) { free(d); return 0; }
            int cublasLtMatmulDescSetAttribute(desc* d, int attribute, const void* v, size_t n) {
              if (n != 4) return 7;
              if (attribute == 3) d->transa = *(const int*) v; else if (attribute == 4) d->transb = *(const int*) v; else return 7;
              return 0;
            }
            int cublasLtMatrixLayoutCreate(layout** l, int type, uint64_t rows, uint64_t cols, int64_t ld) {
              if (type != 0 || ld < (int64_t) rows) return 7;
              *l = malloc(sizeof(layout)); (*l)->rows = rows; (*l)->cols = cols; (*l)->ld = ld; return 0;
            }
            int cublasLtMatrixLayoutDestroy(layout* l) { free(l); return 0; }
            int cublasLtMatmulPreferenceCreate(void** p) { *p = malloc(8); return 0; }
            int cublasLtMatmulPreferenceDestroy(void* p) { free(p); return 0; }
            int cublasLtMatmulPreferenceSetAttribute(void* p, int attribute, const void* v, size_t n) {
              if (attribute == 1) return n == 8 ? 0 : 7;
              if (attribute >= 5 && attribute <= 8) return n == 4 && *(const uint32_t*) v >= 4 ? 0 : 7;
              return 7;
            }
            int cublasLtMatmulAlgoGetHeuristic(void* h, desc* d, layout* a, layout* b, layout* c, layout* dd, void* p,
                                               int requested, result* results, int* count) {
              if (requested < 1 || c != dd) return 7;
              memset(results, 0, sizeof(result));
              results->a.data[0] = 0x5EED;
              results->workspace = 4096;
              *count = 1;
              return 0;
            }
            static float element(const float* m, const layout* l, int transposed, uint64_t i, uint64_t j) {
              return transposed ? m[j + i * l->ld] : m[i + j * l->ld];
            }
            int cublasLtMatmul(void* h, desc* d, const float* alpha, const float* a, layout* la, const float* b, layout* lb,
                               const float* beta, const float* c, layout* lc, float* out, layout* ld, const algo* al,
                               void* workspace, size_t workspaceBytes, void* stream) {
              if (al->data[0] != 0x5EED || workspaceBytes != 4096 || c != out || lc != ld) return 7;
              uint64_t m = lc->rows, n = lc->cols, k = d->transa ? la->rows : la->cols;
              if ((d->transa ? la->cols : la->rows) != m || (d->transb ? lb->rows : lb->cols) != n || (d->transb ? lb->cols : lb->rows) != k) return 7;
              for (uint64_t i = 0; i < m; i++) {
                for (uint64_t j = 0; j < n; j++) {
                  double sum = 0;
                  for (uint64_t p = 0; p < k; p++) sum += (double) element(a, la, d->transa, i, p) * element(b, lb, d->transb, p, j);
                  float* o = &out[i + j * lc->ld];
                  *o = (float) (*alpha * sum + (*beta == 0 ? 0 : *beta * *o));
                }
              }
              return 0;
            }
            """;

    private final Path directory;
    private final SymbolLookup driver, nvrtc, cublasLt;

    private MockCuda(Path directory) {
        this.directory = directory;
        this.driver = SymbolLookup.libraryLookup(directory.resolve("libcuda.so.1"), Arena.global());
        this.nvrtc = SymbolLookup.libraryLookup(directory.resolve("libnvrtc.so.13"), Arena.global());
        this.cublasLt = SymbolLookup.libraryLookup(directory.resolve("libcublasLt.so.13"), Arena.global());
    }

    /** Whether this machine can build the mocks: a C compiler on the PATH and CUDA's headers. */
    static boolean buildable() {
        return Files.isRegularFile(CUDA_INCLUDE.resolve("cuda.h")) && compilerWorks();
    }

    private static boolean compilerWorks() {
        try {
            Process p = new ProcessBuilder("cc", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    /** Compiles the three mock libraries into {@code directory} and opens them for the counters. */
    static MockCuda build(Path directory) throws IOException, InterruptedException {
        compile(directory, "mockcuda.c", DRIVER, "libcuda.so.1");
        compile(directory, "mocknvrtc.c", NVRTC, "libnvrtc.so.13");
        compile(directory, "mockcublaslt.c", CUBLASLT, "libcublasLt.so.13");
        return new MockCuda(directory);
    }

    private static void compile(Path dir, String source, String code, String library) throws IOException, InterruptedException {
        Path c = Files.writeString(dir.resolve(source), code);
        Process p = new ProcessBuilder("cc", "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-I" + CUDA_INCLUDE,
                "-o", dir.resolve(library).toString(), c.toString()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IllegalStateException("cc " + source + " failed:\n" + output);
    }

    /** A search path that finds only the mocks. */
    LibrarySearchPath searchPath() {
        return new LibrarySearchPath(List.of(directory), false, List.of(), List.of());
    }

    int liveAllocations() { return counter(driver, "mock_allocations"); }

    int retainedContexts() { return counter(driver, "mock_retained"); }

    int streams() { return counter(driver, "mock_streams"); }

    int loadedModules() { return counter(driver, "mock_modules"); }

    int launches() { return counter(driver, "mock_launches"); }

    int sharedAttribute() { return counter(driver, "mock_shared_attribute"); }

    int compiles() { return counter(nvrtc, "mock_compiles"); }

    /** How many headers the latest NVRTC program was given (-1: one was not a named, non-empty .cuh). */
    int headers() { return counter(nvrtc, "mock_headers"); }

    int cublasHandles() { return counter(cublasLt, "mock_handles"); }

    private static int counter(SymbolLookup library, String name) {
        MethodHandle h = Linker.nativeLinker().downcallHandle(library.find(name).orElseThrow(), FunctionDescriptor.of(JAVA_INT));
        try {
            return (int) h.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
