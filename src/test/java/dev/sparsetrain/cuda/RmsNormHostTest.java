package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RMSNorm kernels of reductions.cu without a GPU: a host program runs every thread of every block
 * through the kernels' {@code __host__ __device__} phases ({@code RmsNormThread}: which columns a
 * thread owns, its 16-byte or scalar loads, the row update and its weight-gradient sums across the
 * grid-stride rows), with the block reductions and the final dWeight adds done in between as the
 * kernels do them, at the launch shape {@link CudaKernels} picks. The results must match
 * {@link ReferenceBackend}'s rmsNormForward and rmsNormBackward. Skipped where nvcc is not on the PATH.
 */
class RmsNormHostTest {
    private static final long SEED = 20260707L;
    private static final double TOLERANCE = 1e-4;

    private static final String MAIN = """
            template <int W>
            static void run(bool backward, int rows, int d, int threads, int blocks, float eps, const float* x, const float* w,
                            const float* g, const float* rstdIn, float* out, float* rstd, float* dx, float* dWeight) {
                for (int b = 0; b < blocks; b++) {
                    std::vector<RmsNormThread<W>> me;
                    for (int t = 0; t < threads; t++) me.emplace_back(t, threads, d);
                    for (int row = b; row < rows; row += blocks) {
                        const long long at = (long long) row * d;
                        float sum = 0.0f;
                        if (!backward) {
                            for (auto& m : me) sum += m.forward_load(x + at);
                            const float r = 1.0f / std::sqrt(sum / d + eps);
                            rstd[row] = r;
                            for (auto& m : me) m.forward_store(out + at, w, r);
                        } else {
                            for (auto& m : me) sum += m.backward_load(g + at, x + at, dx + at, w);
                            const float r = rstdIn[row];
                            for (auto& m : me) m.backward_store(dx + at, w, r, r * r * r / d * sum);
                        }
                    }
                    if (!backward) continue;
                    for (auto& m : me)
                        for (int k = 0; k < RmsNormThread<W>::SLOTS; k++)
                            if (m.owns(k))
                                for (int i = 0; i < W; i++) dWeight[m.column(k) + i] += m.dw[k][i];
                }
            }

            int main(int argc, char** argv) {
                const int width = std::atoi(argv[1]), rows = std::atoi(argv[3]), d = std::atoi(argv[4]);
                const int threads = std::atoi(argv[5]), blocks = std::atoi(argv[6]);
                const bool backward = std::strcmp(argv[2], "backward") == 0;
                const float eps = std::strtof(argv[7], nullptr);
                const std::string dir = argv[8];
                auto x = load(dir + "/x"), w = load(dir + "/w"), g = load(dir + "/g"), rstdIn = load(dir + "/rstd_in");
                auto out = load(dir + "/out"), rstd = load(dir + "/rstd"), dx = load(dir + "/dx"), dWeight = load(dir + "/dw");
                auto go = width == 4 ? run<4> : run<1>;
                go(backward, rows, d, threads, blocks, eps, as<float>(x), as<float>(w), as<float>(g), as<float>(rstdIn), as<float>(out),
                   as<float>(rstd), as<float>(dx), as<float>(dWeight));
                save(dir + "/out", out);
                save(dir + "/rstd", rstd);
                save(dir + "/dx", dx);
                save(dir + "/dw", dWeight);
                return 0;
            }
            """;

    private static KernelHostProgram program;

    @BeforeAll
    static void compile(@TempDir Path dir) throws Exception {
        Path nvcc = KernelHostProgram.nvcc();
        assumeTrue(nvcc != null, "nvcc is not on the PATH; the RMSNorm thread logic is checked where it is (CI)");
        program = KernelHostProgram.compile(nvcc, dir, "reductions.cu", "#include <cmath>\n" + MAIN);
    }

    @Test
    void vectorAndScalarThreadsMatchTheReferenceOnEveryWidthShape() {
        // Widths: below a warp's worth, not a multiple of the 16 columns a thread holds, 2048 (the 1b model),
        // the widest supported; the scalar kernel also at widths the vector kernel never gets (d % 4 != 0).
        int[][] cases = {{4, 200}, {4, 36}, {4, 2048}, {4, 8192}, {1, 200}, {1, 13}, {1, 2050}, {1, 8192}};
        var random = new SplittableRandom(SEED);
        for (int[] c : cases) {
            int width = c[0], d = c[1], rows = 7;
            // Fewer blocks than rows, so blocks walk several rows and sum their dWeight over them.
            check(random, width, rows, d, 3);
        }
    }

    private static void check(SplittableRandom random, int width, int rows, int d, int blocks) {
        String label = "seed " + SEED + ", width " + width + ", rows " + rows + ", d " + d;
        int threads = CudaKernels.rmsNormThreads(d);
        float eps = 1e-5f;
        float[] x = gaussian(random, rows * d), w = uniform(random, d), g = gaussian(random, rows * d);
        float[] dx = gaussian(random, rows * d), dw = gaussian(random, d);
        var ref = new ReferenceBackend();
        Tensor rx = tensor(ref, x, rows, d), rw = tensor(ref, w, d), rg = tensor(ref, g, rows, d), rdx = tensor(ref, dx, rows, d), rdw = tensor(ref, dw, d);
        Tensor rout = ref.zeros(DType.F32, rows, d), rrstd = ref.zeros(DType.F32, rows);
        ref.rmsNormForward(rout, rrstd, rx, rw, eps);
        float[] wantRstd = ref.toHost(rrstd);
        ref.rmsNormBackward(rdx, rdw, rg, rx, rw, rrstd);

        float[] poison = new float[rows * d];
        Arrays.fill(poison, Float.NaN);
        float[] poisonRows = new float[rows];
        Arrays.fill(poisonRows, Float.NaN);
        program.write("x", bytes(x));
        program.write("w", bytes(w));
        program.write("g", bytes(g));
        program.write("rstd_in", bytes(wantRstd));
        program.write("out", bytes(poison));
        program.write("rstd", bytes(poisonRows));
        program.write("dx", bytes(dx));
        program.write("dw", bytes(dw));
        program.run(width, "forward", rows, d, threads, blocks, eps);
        assertClose(ref.toHost(rout), floats(program.read("out")), "forward out; " + label);
        assertClose(wantRstd, floats(program.read("rstd")), "forward rstd; " + label);
        program.run(width, "backward", rows, d, threads, blocks, eps);
        assertClose(ref.toHost(rdx), floats(program.read("dx")), "backward dx; " + label);
        assertClose(ref.toHost(rdw), floats(program.read("dw")), "backward dWeight; " + label);
    }

    private static void assertClose(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            double scale = Math.max(1.0, Math.abs(want[i]));
            assertTrue(Math.abs(want[i] - got[i]) <= TOLERANCE * scale, what + ": element " + i + " is " + got[i] + ", want " + want[i]);
        }
    }

    private static Tensor tensor(ReferenceBackend b, float[] values, long... shape) {
        Tensor t = b.zeros(DType.F32, shape);
        b.upload(t, values, 0);
        return t;
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian() * 1.5);
        return v;
    }

    private static float[] uniform(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextDouble(0.5, 1.5);
        return v;
    }

    static byte[] bytes(float[] v) {
        var buffer = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(v);
        return buffer.array();
    }

    static float[] floats(byte[] b) {
        float[] v = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return v;
    }
}
