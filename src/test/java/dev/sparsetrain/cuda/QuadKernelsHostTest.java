package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.RmsNormHostTest.bytes;
import static dev.sparsetrain.cuda.RmsNormHostTest.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The four-at-a-time kernels relu2_forward_f32, relu2_backward_f32 (elementwise.cu) and adamw_f32
 * (adamw.cu) without a GPU: a host program runs every thread of a grid through the kernels'
 * {@code __host__ __device__} thread bodies, on arrays that start on a 16-byte boundary (quads, then
 * the n % 4 tail) or any of them one float past it (one by one throughout), and the results must
 * equal {@link ReferenceBackend}'s. Skipped where nvcc is not on the PATH.
 */
class QuadKernelsHostTest {
    private static final long SEED = 20260708L;
    /** Small grids, so threads loop over several quads and the tail lands on threads other than 0. */
    private static final int THREADS = 24;

    /** Arrays in files a0..a3, each used from float offset[i] on (buffers from operator new are 16-byte aligned). */
    private static final String ARRAYS = """
            struct Arrays {
                std::vector<unsigned char> data[4];
                float* at[4];
                Arrays(const std::string& dir, char** offsets) {
                    for (int i = 0; i < 4; i++) {
                        data[i] = load(dir + "/a" + std::to_string(i));
                        if ((unsigned long long) data[i].data() % 16 != 0) { std::fprintf(stderr, "unaligned buffer\\n"); std::exit(4); }
                        at[i] = as<float>(data[i]) + std::atoi(offsets[i]);
                    }
                }
                void save_all(const std::string& dir) { for (int i = 0; i < 4; i++) save(dir + "/a" + std::to_string(i), data[i]); }
            };
            """;

    private static final String ELEMENTWISE_MAIN = ARRAYS + """
            int main(int argc, char** argv) {
                const bool backward = std::strcmp(argv[1], "backward") == 0;
                const long long n = std::atoll(argv[2]);
                const int threads = std::atoi(argv[3]);
                const std::string dir = argv[8];
                Arrays a(dir, argv + 4);
                for (int t = 0; t < threads; t++) {
                    if (backward) relu2_backward_thread(a.at[0], a.at[1], a.at[2], n, t, threads);
                    else relu2_forward_thread(a.at[0], a.at[2], n, t, threads);
                }
                a.save_all(dir);
                return 0;
            }
            """;

    private static final String ADAMW_MAIN = ARRAYS + """
            int main(int argc, char** argv) {
                const long long n = std::atoll(argv[1]);
                const int threads = std::atoi(argv[2]);
                float k[8];
                for (int i = 0; i < 8; i++) k[i] = std::strtof(argv[7 + i], nullptr);
                const std::string dir = argv[15];
                Arrays a(dir, argv + 3);
                const AdamwConstants c = adamw_constants(k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]);
                for (int t = 0; t < threads; t++) adamw_thread(a.at[0], a.at[1], a.at[2], a.at[3], n, c, t, threads);
                a.save_all(dir);
                return 0;
            }
            """;

    private static KernelHostProgram elementwise, adamw;

    @BeforeAll
    static void compile(@TempDir Path dir) throws Exception {
        Path nvcc = KernelHostProgram.nvcc();
        assumeTrue(nvcc != null, "nvcc is not on the PATH; the kernels' thread bodies are checked where it is (CI)");
        elementwise = KernelHostProgram.compile(nvcc, dir, "elementwise.cu", ELEMENTWISE_MAIN);
        adamw = KernelHostProgram.compile(nvcc, dir, "adamw.cu", "#include <cmath>\n" + ADAMW_MAIN);
    }

    /** Offsets (in floats) of the four arrays: all aligned, then each one alone a float past the boundary. */
    private static final int[][] OFFSETS = {{0, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    private static final int[] LENGTHS = {1, 3, 4, 7, 1001, 4096};

    @Test
    void relu2ThreadsWriteEveryElementAsTheReferenceDoes() {
        var random = new SplittableRandom(SEED);
        var ref = new ReferenceBackend();
        for (int n : LENGTHS) {
            for (int[] offset : OFFSETS) {
                String label = "seed " + SEED + ", n " + n + ", offsets " + Arrays.toString(offset);
                float[] da = gaussian(random, n), z = gaussian(random, n);
                Tensor rz = tensor(ref, z), rda = tensor(ref, da), ra = ref.zeros(DType.F32, n), rdz = ref.zeros(DType.F32, n);
                ref.relu2Forward(ra, rz);
                ref.relu2Backward(rdz, rda, rz);
                // a0 = a or dz (poisoned), a1 = da, a2 = z; a3 unused.
                write(elementwise, offset, new float[][] {poison(n), da, z, new float[0]});
                elementwise.run("forward", n, THREADS, offset[0], offset[1], offset[2], 0);
                assertArrayEquals(ref.toHost(ra), read(elementwise, 0, offset, n), "relu2 forward; " + label);
                write(elementwise, offset, new float[][] {poison(n), da, z, new float[0]});
                elementwise.run("backward", n, THREADS, offset[0], offset[1], offset[2], 0);
                assertArrayEquals(ref.toHost(rdz), read(elementwise, 0, offset, n), "relu2 backward; " + label);
            }
        }
    }

    @Test
    void adamwThreadsUpdateEveryElementAsTheReferenceDoes() {
        var random = new SplittableRandom(SEED + 1);
        var ref = new ReferenceBackend();
        float lr = 3e-4f, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, decay = 0.1f, gradScale = 0.25f;
        int step = 7;
        float bc1 = (float) (1 - Math.pow(beta1, step)), bc2 = (float) (1 - Math.pow(beta2, step));
        for (int n : LENGTHS) {
            for (int[] offset : OFFSETS) {
                String label = "seed " + (SEED + 1) + ", n " + n + ", offsets " + Arrays.toString(offset);
                float[] p = gaussian(random, n), g = gaussian(random, n), m = gaussian(random, n), v = new float[n];
                for (int i = 0; i < n; i++) v[i] = (float) random.nextDouble(1e-6, 2.0);
                Tensor rp = tensor(ref, p), rg = tensor(ref, g), rm = tensor(ref, m), rv = tensor(ref, v);
                ref.adamw(rp, rg, rm, rv, lr, beta1, beta2, eps, decay, step, gradScale);
                write(adamw, offset, new float[][] {p, g, m, v});
                adamw.run(n, THREADS, offset[0], offset[1], offset[2], offset[3], lr, beta1, beta2, eps, decay, bc1, bc2, gradScale);
                // The bias corrections reach the kernel as floats (CudaKernels.adamw rounds them), a relative
                // 6e-8 on an update of order lr: allow that beside the rounding of the result.
                assertClose(ref.toHost(rp), read(adamw, 0, offset, n), 1e-6 * lr, "param; " + label);
                assertClose(ref.toHost(rm), read(adamw, 2, offset, n), 0, "m; " + label);
                assertClose(ref.toHost(rv), read(adamw, 3, offset, n), 0, "v; " + label);
                assertArrayEquals(g, read(adamw, 1, offset, n), "the gradient is only read; " + label);
            }
        }
    }

    /** Writes file a{i} with offset[i] NaN floats before values[i]. */
    private static void write(KernelHostProgram program, int[] offset, float[][] values) {
        for (int i = 0; i < 4; i++) {
            float[] padded = new float[offset[i] + values[i].length + 1];
            Arrays.fill(padded, Float.NaN);
            System.arraycopy(values[i], 0, padded, offset[i], values[i].length);
            program.write("a" + i, bytes(padded));
        }
    }

    private static float[] read(KernelHostProgram program, int array, int[] offset, int n) {
        float[] all = floats(program.read("a" + array));
        assertTrue(Float.isNaN(all[all.length - 1]), "nothing written past the end of array " + array);
        if (offset[array] > 0) assertTrue(Float.isNaN(all[0]), "nothing written before the start of array " + array);
        return Arrays.copyOfRange(all, offset[array], offset[array] + n);
    }

    private static void assertArrayEquals(float[] want, float[] got, String what) {
        for (int i = 0; i < want.length; i++) {
            assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), what + ": element " + i + " is " + got[i] + ", want " + want[i]);
        }
    }

    /** Equal up to one float rounding (the kernel folds the bias-correction divisions into constants: double ulps) plus {@code slack}. */
    private static void assertClose(float[] want, float[] got, double slack, String what) {
        for (int i = 0; i < want.length; i++) {
            assertTrue(Math.abs(want[i] - got[i]) <= Math.ulp(want[i]) + slack, what + ": element " + i + " is " + got[i] + ", want " + want[i]);
        }
    }

    private static float[] poison(int n) {
        float[] v = new float[n];
        Arrays.fill(v, Float.NaN);
        return v;
    }

    private static Tensor tensor(ReferenceBackend b, float[] values) {
        Tensor t = b.zeros(DType.F32, values.length);
        b.upload(t, values, 0);
        return t;
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }
}
