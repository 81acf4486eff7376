package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.SparseOracles.assertBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparsetrain.sparse.CusparseLtLayout;
import dev.sparsetrain.sparse.TwoFourNibble;
import dev.sparsetrain.tensor.Bf16;
import dev.sparsetrain.tensor.SparseKernels.WeightStats;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sparse_weights.cu without a GPU: a host program runs every thread of every tile of the prune and
 * unpack kernels (the same {@code __host__ __device__} functions the kernels call, shared-memory
 * staging included) and its buffers must equal, byte for byte, S-STE by {@code SoftThreshold} packed
 * by {@link CusparseLtLayout}. Skipped where nvcc is not on the PATH.
 */
class SparseWeightsHostTest {
    private static final long SEED = 20260314L;

    /**
     * Emulates the kernels' grids phase by phase, as the barriers order them: block b runs tiles b,
     * b + blocks, ...; per tile every thread stages (transposed W), then every thread prunes its rows,
     * then every thread writes its metadata chunk. The staging buffer and the nibble table are
     * poisoned before each tile, so a read of anything the tile did not write shows in the outputs.
     */
    private static final String MAIN = """
            template <bool Staged>
            static void prune(int rows, int cols, int blockRows, long long stride, float beta, int blocks, const float* w,
                              unsigned char* packed, unsigned short* dense, float* partials) {
                std::vector<float> staged(SPARSE_TILE_ROWS * SPARSE_WEIGHT_TILE_COLS);
                std::vector<unsigned char> table(SPARSE_NIBBLE_TABLE_BYTES);
                long long tiles = sparse_prune_tiles(rows, cols);
                for (int block = 0; block < blocks; block++) {
                    float absSum = 0, keptSum = 0;
                    for (long long tile = block; tile < tiles; tile += blocks) {
                        SparsePruneTile p = sparse_prune_tile_at(tile, stride, blockRows, Staged, rows, cols);
                        std::fill(staged.begin(), staged.end(), sparse_bits_float(0x7FC00000u));
                        std::fill(table.begin(), table.end(), (unsigned char) 0xFF);
                        if (Staged) {
                            for (int t = 0; t < SPARSE_TILE_THREADS; t++) {
                                sparse_stage_weight_tile(staged.data(), w + p.sourceOffset, p.sourceStride, p.packed.cols, t);
                            }
                        }
                        for (int t = 0; t < SPARSE_TILE_THREADS; t++) {
                            sparse_prune_thread<Staged>(p, t, packed, dense, table.data(), w, staged.data(), beta, absSum, keptSum);
                        }
                        for (int t = 0; t < SPARSE_TILE_THREADS; t++) sparse_write_metadata_chunk(packed, p.packed, table.data(), t);
                    }
                    partials[2 * block] = absSum;
                    partials[2 * block + 1] = keptSum;
                }
            }

            int main(int argc, char** argv) {
                std::string op = argv[1], dir = argv[argc - 1];
                if (op == "prune") {
                    int rows = std::atoi(argv[2]), cols = std::atoi(argv[3]), blockRows = std::atoi(argv[4]);
                    long long stride = std::atoll(argv[5]);
                    bool transposed = std::atoi(argv[6]) != 0;
                    float beta = sparse_bits_float((unsigned int) std::strtoul(argv[7], nullptr, 16));
                    int blocks = std::atoi(argv[8]);
                    std::vector<unsigned char> w = load(dir + "/w.bin");
                    std::vector<unsigned char> packed((rows / blockRows - 1) * stride + (long long) blockRows * cols / 8 * 9, 0xA5);
                    std::vector<unsigned char> dense((size_t) rows * cols * 2, 0xA5), partials((size_t) blocks * 8, 0xFF);
                    (transposed ? prune<true> : prune<false>)(rows, cols, blockRows, stride, beta, blocks, as<float>(w), packed.data(),
                                                              as<unsigned short>(dense), as<float>(partials));
                    save(dir + "/packed.out", packed);
                    save(dir + "/dense.out", dense);
                    save(dir + "/partials.out", partials);
                    return 0;
                }
                if (op == "unpack") {
                    int m = std::atoi(argv[2]), k = std::atoi(argv[3]);
                    std::vector<unsigned char> packed = load(dir + "/packed.bin"), dense((size_t) m * k * 4, 0xFF);
                    for (long long g = 0; g < (long long) m * k / 4; g++) sparse_unpack_group(as<float>(dense), packed.data(), m, k, g);
                    save(dir + "/dense.out", dense);
                    return 0;
                }
                return 2;
            }
            """;

    @TempDir
    static Path dir;
    private static KernelHostProgram program;

    @BeforeAll
    static void compile() throws Exception {
        Path nvcc = KernelHostProgram.nvcc();
        assumeTrue(nvcc != null, "nvcc is not on the PATH; the sparse weight kernels' logic is checked where it is (CI)");
        program = KernelHostProgram.compile(nvcc, dir, "sparse_weights.cu", MAIN);
    }

    @Test
    void pruneWritesSoftThresholdPackedAsCusparseLtForEveryBlockLayout() {
        var rng = new SplittableRandom(SEED);
        // rows, cols, blockRows, stride slack, transposed, blocks (-1: the launcher's grid). Tiles are
        // 128 columns wide, the last of a band narrower.
        int[][] cases = {
                {192, 160, 64, 48, 0, -1},  // 3 expert blocks with gaps between them, a 128- and a 32-column tile per band
                {192, 160, 64, 48, 1, 5},   // the same transposed, grid-stride over 6 tiles with 5 blocks
                {128, 288, 128, 0, 1, -1},  // one block of two metadata row bands, 3 column tiles
                {128, 64, 128, 0, 0, 1},    // a single narrow tile per band, one block for both
        };
        for (int[] c : cases) {
            int rows = c[0], cols = c[1], blockRows = c[2];
            boolean transposed = c[4] == 1;
            long stride = SparseFfnKernels.packedBytes(blockRows, cols) + c[3];
            int blocks = c[5] > 0 ? c[5] : SparseFfnKernels.weightPartialsCount(rows, cols) / 2;
            float beta = 1.37f;
            String what = Arrays.toString(c) + ", seed " + SEED;

            float[] e = SparseOracles.weights(rng, rows * cols);
            program.write("w.bin", SparseOracles.bytes(transposed ? SparseOracles.transpose(e, rows, cols) : e));
            program.run("prune", rows, cols, blockRows, stride, transposed ? 1 : 0, Integer.toHexString(Float.floatToRawIntBits(beta)), blocks);

            var expected = SparseOracles.Pruned.of(e, rows, cols, beta);
            byte[] packed = program.read("packed.out");
            int blockBytes = CusparseLtLayout.bufferBytes(blockRows, cols);
            for (int b = 0; b < rows / blockRows; b++) {
                byte[] actual = Arrays.copyOfRange(packed, (int) (b * stride), (int) (b * stride) + blockBytes);
                assertBytes(expected.packedBlock(b * blockRows, blockRows, cols), actual, "packed block " + b + " of " + what);
                if (b + 1 < rows / blockRows) {
                    for (long i = b * stride + blockBytes; i < (b + 1) * stride; i++) {
                        assertEquals((byte) 0xA5, packed[(int) i], "byte " + i + " between packed blocks must stay untouched; " + what);
                    }
                }
            }
            assertBytes(SparseOracles.bytes(Bf16.fromFloats(expected.effective())), program.read("dense.out"), "dense bf16 of " + what);

            double abs = 0, pruned = 0;
            for (int i = 0; i < e.length; i++) {
                abs += Math.abs(e[i]);
                pruned += Math.abs(expected.unscaled()[i]);
            }
            float[] partials = SparseOracles.floats(program.read("partials.out"));
            double absSum = 0, prunedSum = 0;
            for (int i = 0; i < partials.length; i += 2) {
                absSum += partials[i];
                prunedSum += partials[i + 1];
            }
            if (c[5] < 0) {
                WeightStats stats = SparseFfnKernels.weightStats(partials, rows, cols);
                assertEquals(absSum, stats.absSum(), 0, "weightStats adds the pairs; " + what);
                assertEquals(prunedSum, stats.prunedAbsSum(), 0, "weightStats adds the pairs; " + what);
            }
            assertEquals(abs, absSum, 1e-5 * abs, "sum |W|; " + what);
            assertEquals(pruned, prunedSum, 1e-5 * pruned, "sum |S(W)|; " + what);
        }
    }

    @Test
    void unpackGivesTheDenseMeaningAndNaNsForAnInvalidNibble() {
        var rng = new SplittableRandom(SEED + 1);
        int m = 128, k = 64;
        short[] values = new short[m * k / 2];
        byte[] nibbles = new byte[m * k / 4];
        int[] valid = {0x4, 0x8, 0x9, 0xC, 0xD, 0xE};
        for (int i = 0; i < values.length; i++) values[i] = Bf16.fromFloat((float) rng.nextGaussian());
        for (int i = 0; i < nibbles.length; i++) nibbles[i] = (byte) valid[rng.nextInt(valid.length)];
        byte[] packed = CusparseLtLayout.pack(values, nibbles, m, k);
        // Corrupt the nibble of (row 77, group 5) into 0x5 (i0 == i1): row 77 % 16 >= 8, so the high half.
        int corrupted = m * k + CusparseLtLayout.metadataByteOffset(77, 5, k);
        packed[corrupted] = (byte) ((packed[corrupted] & 0x0F) | 0x50);
        program.write("packed.bin", packed);
        program.run("unpack", m, k);

        float[] dense = SparseOracles.floats(program.read("dense.out"));
        assertEquals(m * k, dense.length);
        for (int r = 0; r < m; r++) {
            for (int g = 0; g < k / 4; g++) {
                for (int i = 0; i < 4; i++) {
                    float actual = dense[r * k + 4 * g + i];
                    String where = "row " + r + ", group " + g + ", element " + i + "; seed " + (SEED + 1);
                    if (r == 77 && g == 5) {
                        assertTrue(Float.isNaN(actual), "an invalid nibble must unpack to NaN at " + where);
                        continue;
                    }
                    int nibble = nibbles[r * k / 4 + g];
                    float expected = i == TwoFourNibble.first(nibble) ? Bf16.toFloat(values[r * k / 2 + 2 * g])
                            : i == TwoFourNibble.second(nibble) ? Bf16.toFloat(values[r * k / 2 + 2 * g + 1]) : 0f;
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual), where);
                }
            }
        }
    }
}
