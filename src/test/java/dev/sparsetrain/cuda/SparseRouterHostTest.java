package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.SparseOracles.assertBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparsetrain.tensor.Bf16;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gather and scatter of sparse_router.cu without a GPU: a host program runs their per-quad
 * bodies over every (row, quad) the kernels visit. The centres and scores kernels are warp
 * reductions with nothing to emulate; their numerics are checked on the GPU. Skipped where nvcc is
 * not on the PATH.
 */
class SparseRouterHostTest {
    private static final long SEED = 20260316L;

    private static final String MAIN = """
            int main(int argc, char** argv) {
                std::string op = argv[1], dir = argv[argc - 1];
                int rows = std::atoi(argv[2]), cols = std::atoi(argv[3]), tokens = std::atoi(argv[4]);
                std::vector<unsigned char> src = load(dir + "/src.bin"), perm = load(dir + "/perm.bin");
                std::vector<unsigned char> dst;
                if (op == "gather") {
                    dst.assign((size_t) rows * cols * 2, 0xA5);
                    for (int r = 0; r < rows; r++) {
                        for (int q = 0; q < cols / 4; q++) sparse_gather_quad(as<unsigned short>(dst), as<float>(src), as<int>(perm), r, q, cols);
                    }
                } else if (op == "scatter") {
                    dst.assign((size_t) tokens * cols * 4, 0xFF);
                    for (int r = 0; r < rows; r++) {
                        for (int q = 0; q < cols / 4; q++) sparse_scatter_quad(as<float>(dst), as<unsigned short>(src), as<int>(perm), r, q, cols);
                    }
                } else {
                    return 2;
                }
                save(dir + "/dst.out", dst);
                return 0;
            }
            """;

    @TempDir
    static Path dir;
    private static KernelHostProgram program;

    @BeforeAll
    static void compile() throws Exception {
        Path nvcc = KernelHostProgram.nvcc();
        assumeTrue(nvcc != null, "nvcc is not on the PATH; the gather/scatter logic is checked where it is (CI)");
        program = KernelHostProgram.compile(nvcc, dir, "sparse_router.cu", MAIN);
    }

    @Test
    void gatherRoundsPickedRowsToBf16AndScatterWidensThemBack() {
        var rng = new SplittableRandom(SEED);
        int tokens = 50, cols = 36, rows = 64;
        int[] perm = permWithPadding(rng, tokens, rows);
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();

        program.write("src.bin", SparseOracles.bytes(x));
        program.write("perm.bin", SparseOracles.bytes(perm));
        program.run("gather", rows, cols, tokens);
        short[] gathered = new short[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) gathered[r * cols + c] = perm[r] < 0 ? 0 : Bf16.fromFloat(x[perm[r] * cols + c]);
        }
        assertBytes(SparseOracles.bytes(gathered), program.read("dst.out"), "gathered rows; seed " + SEED);

        program.write("src.bin", SparseOracles.bytes(gathered));
        program.run("scatter", rows, cols, tokens);
        float[] scattered = SparseOracles.floats(program.read("dst.out"));
        assertEquals(tokens * cols, scattered.length);
        for (int r = 0; r < rows; r++) {
            if (perm[r] < 0) continue;
            for (int c = 0; c < cols; c++) {
                assertEquals(Bf16.toFloat(gathered[r * cols + c]), scattered[perm[r] * cols + c], 0f,
                        "token " + perm[r] + " (routed row " + r + "), column " + c + "; seed " + SEED);
            }
        }
        for (int i = 0; i < scattered.length; i++) {
            assertFalse(Float.isNaN(scattered[i]), "every token row is written back, token " + i / cols + "; seed " + SEED);
        }
    }

    /** Every token exactly once in random order, with padding (−1) rows spread among them. */
    private static int[] permWithPadding(SplittableRandom rng, int tokens, int rows) {
        int[] perm = new int[rows];
        Arrays.fill(perm, -1);
        int[] slots = rng.ints(0, rows).distinct().limit(tokens).toArray();
        for (int t = 0; t < tokens; t++) perm[slots[t]] = t;
        return perm;
    }
}
