package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA backend's FFM layer end to end against {@link MockCuda}'s stand-in libraries: memory ops,
 * GEMMs through the column-major library, launches, the kernel cache, errors and cleanup. Needs a C
 * compiler and cuda.h (as the nvcc kernel test needs nvcc); no GPU.
 */
class MockDriverTest {
    private static final long SEED = 314159L;
    private static final Map<String, String> KERNELS =
            Map.of("ramp.cu", "extern \"C\" __global__ void fill_ramp(float* out, int n, float scale, long long offset) {}");

    @TempDir
    static Path libraries;
    private static MockCuda mock;

    @TempDir
    Path cache;

    @BeforeAll
    static void buildMocks() throws IOException, InterruptedException {
        assumeTrue(MockCuda.buildable(), "needs cc on the PATH and " + MockCuda.CUDA_INCLUDE + "/cuda.h");
        mock = MockCuda.build(libraries);
    }

    private CudaBackend open(Map<String, String> kernels) {
        return CudaBackend.open(0, mock.searchPath(), new KernelCache(cache), () -> kernels, GemmPrecision.FP32);
    }

    @Test
    void memoryOpsMoveTheRightBytes() {
        try (CudaBackend b = open(KERNELS)) {
            Tensor t = b.zeros(DType.F32, 10);
            assertArrayEquals(new float[10], b.toHost(t), "zeros() must clear what cuMemAlloc returned");
            float[] v = {1.5f, -2f, 3f, 4.25f, -5f, 6f, 7f};
            b.upload(t.view(3, 5), v, 2);
            assertArrayEquals(new float[] {0, 0, 0, 3f, 4.25f, -5f, 6f, 7f, 0, 0}, b.toHost(t));
            b.fill(t.view(0, 2), -0.375f);
            Tensor u = b.zeros(DType.F32, 10);
            b.copy(u, t);
            assertArrayEquals(new float[] {-0.375f, -0.375f, 0, 3f, 4.25f, -5f, 6f, 7f, 0, 0}, b.toHost(u));
            float[] tail = new float[6];
            b.download(u.view(8, 2), tail, 4);
            assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0}, tail);
            assertThrows(IllegalArgumentException.class, () -> b.upload(t, v, 0), "10 elements do not fit an array of 7");
            assertThrows(IllegalArgumentException.class, () -> b.uploadInts(t, new int[10], 0), "an F32 tensor takes no ints");
        }
    }

    @Test
    void storagesAreFreedOnceEarlyAndTheRestOnClose() {
        int before = mock.liveAllocations();
        try (CudaBackend b = open(KERNELS)) {
            int opened = mock.liveAllocations();
            Tensor t = b.zeros(DType.F32, 1000);
            b.zeros(DType.I32, 7);
            assertEquals(opened + 2, mock.liveAllocations());
            long bytes = b.allocatedBytes();
            ((CudaStorage) t.storage()).close();
            ((CudaStorage) t.storage()).close();
            assertEquals(opened + 1, mock.liveAllocations());
            assertEquals(bytes - 4000, b.allocatedBytes());
        }
        assertEquals(before, mock.liveAllocations(), "close frees every buffer and the GEMM workspace");
        assertEquals(0, mock.retainedContexts());
        assertEquals(0, mock.streams());
        assertEquals(0, mock.loadedModules());
        assertEquals(0, mock.cublasHandles());
    }

    @Test
    void matmulMatchesTheReferenceForEveryTransposeOffsetAndBeta() {
        var random = new SplittableRandom(SEED);
        try (CudaBackend b = open(KERNELS); var ref = new ReferenceBackend()) {
            for (int trial = 0; trial < 16; trial++) {
                int m = 1 + random.nextInt(9), n = 1 + random.nextInt(9), k = 1 + random.nextInt(9);
                boolean transA = (trial & 1) != 0, transB = (trial & 2) != 0;
                int offset = (trial & 4) != 0 ? 1 : 0;
                float beta = (trial & 8) != 0 ? 0.5f : 0f;
                float[] a = gaussian(random, offset + m * k), bb = gaussian(random, offset + k * n), c = gaussian(random, offset + m * n);
                if (beta == 0) Arrays.fill(c, Float.NaN);
                Tensor ga = upload(b, a), gb = upload(b, bb), gc = upload(b, c);
                Tensor ra = upload(ref, a), rb = upload(ref, bb), rc = upload(ref, c);
                b.matmul(gc.view(offset, m * n), ga.view(offset, m * k), transA, gb.view(offset, k * n), transB, m, n, k, 1.25f, beta);
                ref.matmul(rc.view(offset, m * n), ra.view(offset, m * k), transA, rb.view(offset, k * n), transB, m, n, k, 1.25f, beta);
                float[] got = b.toHost(gc.view(offset, m * n)), want = ref.toHost(rc.view(offset, m * n));
                String where = "seed " + SEED + " trial " + trial + " m=" + m + " n=" + n + " k=" + k + " transA=" + transA + " transB=" + transB;
                for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-5, where + " element " + i);
            }
            Tensor c = upload(b, new float[] {Float.NaN, Float.NaN, Float.NaN, Float.NaN});
            b.matmul(c, c, false, c, false, 2, 2, 0, 1f, 0f);
            assertArrayEquals(new float[4], b.toHost(c), "k = 0 with beta = 0 clears C, NaN included");
        }
    }

    @Test
    void launchesDeliverTheirArgumentsAndAreChecked() {
        try (CudaBackend b = open(KERNELS)) {
            Tensor out = b.zeros(DType.F32, 5);
            KernelLauncher l = b.launcher();
            l.launch("fill_ramp", 1, 1, 1, 128, 1, 0, CudaStorage.ptr(out), 5, 2f, 7L);
            assertArrayEquals(new float[] {7, 9, 11, 13, 15}, b.toHost(out));

            l.launch("fill_ramp", 1, 1, 1, 128, 1, 64 * 1024, CudaStorage.ptr(out), 5, 1f, 0L);
            assertEquals(64 * 1024, mock.sharedAttribute(), "more than 48 KiB of shared memory needs the opt-in attribute");

            int launches = mock.launches();
            l.launch("fill_ramp", 0, 1, 1, 128, 1, 0, CudaStorage.ptr(out), 5, 1f, 0L);
            assertEquals(launches, mock.launches(), "an empty grid launches nothing");

            var wrong = assertThrows(CudaException.class, () -> l.launch("fill_ramp", 1, 1, 1, 1, 1, 0, CudaStorage.ptr(out), 5, 1f));
            assertTrue(wrong.getMessage().contains("takes 4 parameters of byte sizes [8, 4, 4, 8] but the launch passed 3"), wrong.getMessage());
            assertEquals(launches, mock.launches(), "a mismatched launch never reaches the driver");
            var tooMuch = assertThrows(CudaException.class, () -> l.launch("fill_ramp", 1, 1, 1, 1, 1, 300_000, CudaStorage.ptr(out), 5, 1f, 0L));
            assertTrue(tooMuch.getMessage().contains("allows 232448"), tooMuch.getMessage());
            var absent = assertThrows(CudaException.class, () -> l.launch("no_such_kernel", 1, 1, 1, 1, 1, 0));
            assertTrue(absent.getMessage().contains("no kernel named 'no_such_kernel' in kernels/[ramp.cu]"), absent.getMessage());
        }
    }

    @Test
    void kernelsCompileOnceThenComeFromTheCacheAndADamagedEntryIsRebuilt() throws IOException {
        int compiles = mock.compiles();
        for (int run = 0; run < 2; run++) {
            try (CudaBackend b = open(KERNELS)) {
                b.launcher().launch("fill_ramp", 1, 1, 1, 1, 1, 0, CudaStorage.ptr(b.zeros(DType.F32, 1)), 1, 1f, 0L);
            }
        }
        assertEquals(compiles + 1, mock.compiles(), "the second backend loads the cached cubin");
        try (var entries = Files.list(cache)) {
            for (Path entry : entries.toList()) Files.writeString(entry, "damaged");
        }
        try (CudaBackend b = open(KERNELS)) {
            b.launcher().launch("fill_ramp", 1, 1, 1, 1, 1, 0, CudaStorage.ptr(b.zeros(DType.F32, 1)), 1, 1f, 0L);
        }
        assertEquals(compiles + 2, mock.compiles(), "a cache entry the driver rejects is compiled again");
    }

    @Test
    void headersGoToNvrtcWithEverySourceAndIntoItsCacheKeyButAreNotCompiledAlone() {
        var withHeader = new java.util.HashMap<>(KERNELS);
        withHeader.put("scale.cuh", "#pragma once\n__device__ inline float twice(float x) { return 2 * x; }");
        int compiles = mock.compiles();
        try (CudaBackend b = open(withHeader)) {
            b.launcher().launch("fill_ramp", 1, 1, 1, 1, 1, 0, CudaStorage.ptr(b.zeros(DType.F32, 1)), 1, 1f, 0L);
        }
        assertEquals(compiles + 1, mock.compiles(), "one source compiled, the header only with it");
        assertEquals(1, mock.headers(), "the .cuh went to nvrtcCreateProgram by name");
        withHeader.put("scale.cuh", "#pragma once\n__device__ inline float twice(float x) { return x + x; }");
        try (CudaBackend b = open(withHeader)) {
            b.launcher().launch("fill_ramp", 1, 1, 1, 1, 1, 0, CudaStorage.ptr(b.zeros(DType.F32, 1)), 1, 1f, 0L);
        }
        assertEquals(compiles + 2, mock.compiles(), "an edited header recompiles the sources: it is part of their cache key");
    }

    @Test
    void aTrainerGivesBackEveryDeviceBufferItTookSoAProcessCanTrainModelsOneAfterAnother() {
        var model = new dev.sparsetrain.config.ModelConfig(64, 32, 2, 2, 1, 64, dev.sparsetrain.config.FfnKind.RELU2, 16, 10000f, 1e-5f,
                0.02f);
        var train = new dev.sparsetrain.config.TrainConfig(2, 1, 4, 1e-3f, 0.1f, 1, 0.1f, 0.9f, 0.95f, 1e-8f, 1f, 0, 1, 0, 1, 3, 7L);
        var sparsity = new dev.sparsetrain.config.SparsityConfig(false, 0.2, 0.8, 8, 16, "nearest", "l2", 10, 0, false, "latent");
        var config = new dev.sparsetrain.config.RunConfig(model, train, new dev.sparsetrain.config.DataConfig("synthetic", "bytes", ""), sparsity);
        var validation = new dev.sparsetrain.train.Validation(java.util.List.of(new int[32]), java.util.List.of(new int[32]), 0);
        try (CudaBackend b = open(KERNELS)) {
            long before = b.allocatedBytes();
            int buffersBefore = mock.liveAllocations();
            try (var trainer = new dev.sparsetrain.train.Trainer(config, b, new dev.sparsetrain.train.SyntheticBatches(64, 7L), validation)) {
                assertTrue(b.allocatedBytes() > before, "parameters, gradients, activations and AdamW's moments are on the device");
            }
            assertEquals(before, b.allocatedBytes(), "model and optimizer buffers released on close");
            assertEquals(buffersBefore, mock.liveAllocations());
        }
    }

    @Test
    void aCompileErrorCarriesTheProgramLog() {
        try (CudaBackend b = open(Map.of("broken.cu", "SYNTAX_ERROR __global__"))) {
            var e = assertThrows(CudaException.class, () -> b.launcher().launch("fill_ramp", 1, 1, 1, 1, 1, 0));
            assertTrue(e.getMessage().startsWith("NVRTC could not compile broken.cu (NVRTC_ERROR_COMPILATION, code 6)"), e.getMessage());
            assertTrue(e.getMessage().contains("broken.cu(1): error: expected a ';'"), e.getMessage());
        }
    }

    @Test
    void outOfMemorySaysWhatToLower() {
        try (CudaBackend b = open(KERNELS)) {
            var e = assertThrows(CudaOutOfMemoryException.class, () -> b.zeros(DType.F32, 1L << 40));
            assertTrue(e.getMessage().startsWith("out of GPU memory on cuda:0 (Mock H200): a F32 [1099511627776] tensor needs 4096.00 GiB"), e.getMessage());
            assertTrue(e.getMessage().contains("Lower train.batch_size or model.seq_len"), e.getMessage());
        }
    }

    @Test
    void theBackendDescribesItselfAndRefusesUseAfterClose() {
        CudaBackend b = open(KERNELS);
        String d = b.describe();
        assertTrue(d.startsWith("cuda:0: Mock H200, compute capability 9.0 (sm_90a), 132 SMs"), d);
        assertTrue(d.contains("NVRTC 13.0") && d.contains("cuBLASLt 130100"), d);
        b.close();
        b.close();
        assertThrows(IllegalStateException.class, () -> b.zeros(DType.F32, 1));
    }

    private static Tensor upload(dev.sparsetrain.tensor.Backend backend, float[] values) {
        Tensor t = backend.zeros(DType.F32, values.length);
        backend.upload(t, values, 0);
        return t;
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }
}
