package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.SparseOracles.assertBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparsetrain.tensor.Bf16;
import dev.sparsetrain.tensor.SparseKernels.ActivationStats;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sparse_activations.cu without a GPU: a host program runs every thread of every tile of the
 * relu² → top-2 → pack kernel and of the activation gradient kernel (the same
 * {@code __host__ __device__} functions, shared-memory staging of expert-major inputs included), and
 * their buffers must equal, byte for byte, {@code ActivationTopK} packed per expert by
 * {@code CusparseLtLayout}, and dZ = dA·2·relu(z) on that pattern as ReferenceSparseKernels computes
 * it. Skipped where nvcc is not on the PATH.
 */
class SparseActivationsHostTest {
    private static final long SEED = 20260315L;

    /**
     * Emulates the kernels' grids phase by phase, as the barriers order them: block b runs tiles b,
     * b + blocks, ...; per tile every thread stages (expert-major input), then every thread runs its
     * rows, then every thread writes its metadata chunk. The staging buffer and the nibble table are
     * poisoned before each tile, so a read of anything the tile did not write shows in the outputs.
     */
    private static final String MAIN = """
            template <bool Staged>
            static void relu2(int experts, int rowsTotal, int f, int blocks, const int* rowOffsets, const unsigned short* z,
                              unsigned char* packed, unsigned short* dense, unsigned short* kept, unsigned char* nibbles, unsigned char* partials) {
                std::vector<unsigned short> staged(SPARSE_TILE_ROWS * SPARSE_ACTIVATION_TILE_COLS);
                std::vector<unsigned char> table(SPARSE_NIBBLE_TABLE_BYTES);
                long long tiles = sparse_activation_tiles(rowsTotal, f);
                for (int block = 0; block < blocks; block++) {
                    SparseActivationSums sums = {0u, 0u, 0.0f, 0.0f};
                    for (long long tile = block; tile < tiles; tile += blocks) {
                        SparseActivationTile p = sparse_activation_tile_at(tile, rowOffsets, experts, f, Staged);
                        std::fill(staged.begin(), staged.end(), (unsigned short) 0xFFFF);
                        std::fill(table.begin(), table.end(), (unsigned char) 0xFF);
                        if (Staged) {
                            for (int t = 0; t < SPARSE_TILE_THREADS; t++) {
                                sparse_stage_activation_tile(staged.data(), z + p.sourceOffset, p.sourceStride, p.packed.cols, t);
                            }
                        }
                        for (int t = 0; t < SPARSE_TILE_THREADS; t++) {
                            sparse_relu2_top_two_thread<Staged>(p, t, packed, dense, kept, nibbles, table.data(), z, staged.data(), sums);
                        }
                        for (int t = 0; t < SPARSE_TILE_THREADS; t++) sparse_write_metadata_chunk(packed, p.packed, table.data(), t);
                    }
                    reinterpret_cast<unsigned int*>(partials)[4 * block] = sums.positive;
                    reinterpret_cast<unsigned int*>(partials)[4 * block + 1] = sums.kept;
                    reinterpret_cast<float*>(partials)[4 * block + 2] = sums.mass;
                    reinterpret_cast<float*>(partials)[4 * block + 3] = sums.keptMass;
                }
            }

            template <bool Staged>
            static void gradient(int experts, int rowsTotal, int f, int blocks, const int* rowOffsets, const unsigned short* dA,
                                 const unsigned short* kept, const unsigned char* nibbles, unsigned char* packed, unsigned short* dense) {
                std::vector<unsigned short> staged(SPARSE_TILE_ROWS * SPARSE_ACTIVATION_TILE_COLS);
                std::vector<unsigned char> table(SPARSE_NIBBLE_TABLE_BYTES);
                long long tiles = sparse_activation_tiles(rowsTotal, f);
                for (int block = 0; block < blocks; block++) {
                    for (long long tile = block; tile < tiles; tile += blocks) {
                        SparseActivationTile p = sparse_activation_tile_at(tile, rowOffsets, experts, f, Staged);
                        std::fill(staged.begin(), staged.end(), (unsigned short) 0xFFFF);
                        std::fill(table.begin(), table.end(), (unsigned char) 0xFF);
                        if (Staged) {
                            for (int t = 0; t < SPARSE_TILE_THREADS; t++) {
                                sparse_stage_activation_tile(staged.data(), dA + p.sourceOffset, p.sourceStride, p.packed.cols, t);
                            }
                        }
                        for (int t = 0; t < SPARSE_TILE_THREADS; t++) {
                            sparse_activation_gradient_thread<Staged>(p, t, packed, dense, table.data(), dA, staged.data(), kept, nibbles);
                        }
                        for (int t = 0; t < SPARSE_TILE_THREADS; t++) sparse_write_metadata_chunk(packed, p.packed, table.data(), t);
                    }
                }
            }

            int main(int argc, char** argv) {
                std::string op = argv[1], dir = argv[argc - 1];
                int experts = std::atoi(argv[2]), rowsTotal = std::atoi(argv[3]), f = std::atoi(argv[4]);
                bool expertMajor = std::atoi(argv[5]) != 0;
                int blocks = std::atoi(argv[6]);
                std::vector<unsigned char> offsets = load(dir + "/offsets.bin");
                const int* rowOffsets = as<int>(offsets);
                long long n = (long long) rowsTotal * f;
                std::vector<unsigned char> packed(n / 8 * 9, 0xA5), dense(n * 2, 0xA5);
                if (op == "relu2") {
                    std::vector<unsigned char> z = load(dir + "/z.bin");
                    std::vector<unsigned char> kept(n, 0xA5), nibbles(n / 4, 0xA5), partials((size_t) blocks * 16, 0xFF);
                    (expertMajor ? relu2<true> : relu2<false>)(experts, rowsTotal, f, blocks, rowOffsets, as<unsigned short>(z), packed.data(),
                                                               as<unsigned short>(dense), as<unsigned short>(kept), nibbles.data(), partials.data());
                    save(dir + "/kept.out", kept);
                    save(dir + "/nibbles.out", nibbles);
                    save(dir + "/partials.out", partials);
                } else if (op == "grad") {
                    std::vector<unsigned char> dA = load(dir + "/dA.bin"), kept = load(dir + "/kept.bin"), nibbles = load(dir + "/nibbles.bin");
                    (expertMajor ? gradient<true> : gradient<false>)(experts, rowsTotal, f, blocks, rowOffsets, as<unsigned short>(dA),
                                                                     as<unsigned short>(kept), nibbles.data(), packed.data(), as<unsigned short>(dense));
                } else {
                    return 2;
                }
                save(dir + "/packed.out", packed);
                save(dir + "/dense.out", dense);
                return 0;
            }
            """;

    @TempDir
    static Path dir;
    private static KernelHostProgram program;

    @BeforeAll
    static void compile() throws Exception {
        Path nvcc = KernelHostProgram.nvcc();
        assumeTrue(nvcc != null, "nvcc is not on the PATH; the sparse activation kernels' logic is checked where it is (CI)");
        program = KernelHostProgram.compile(nvcc, dir, "sparse_activations.cu", MAIN);
    }

    @Test
    void relu2TopTwoAndItsGradientMatchTheOraclesInBothLayouts() {
        // Three experts, the middle one empty; each real expert ends in padding rows of zeros. f = 352:
        // a full 256-column tile and a 96-column one per band.
        int[] offsets = {0, 128, 128, 320};
        int experts = 3, rows = offsets[experts], f = 352;
        int launched = SparseFfnKernels.activationPartialsCount(rows, f) / 4;
        assertEquals(10, launched, "the launcher's grid: a block per 64x256 tile, the last of a band narrower");
        for (boolean expertMajor : new boolean[] {false, true}) {
            for (int blocks : new int[] {launched, 3}) {
                check(new SplittableRandom(SEED), offsets, experts, rows, f, expertMajor, blocks, blocks == launched);
            }
        }
    }

    @Test
    void nanPreActivationsFollowJavasMathMaxAndRankHighest() {
        // The host computes like Java (NaN payloads propagate), so the kernels' bit tricks for NaN are
        // checked here: relu keeps a NaN of either sign, quieted as bf16 rounding does, ranks it above
        // everything and counts it as kept but not positive. (The GPU makes NaN products canonical, so
        // A's NaN bits differ there; kept relu and the nibbles do not.)
        int[] offsets = {0, 64};
        int rows = 64, f = 32;
        // bf16 bit patterns: quiet and signaling NaNs of both signs (the signaling ones must come out
        // quieted), infinities, +-0 and ordinary values.
        short nan = 0x7FC0, negativeNan = (short) 0xFFC0, signaling = 0x7F81, negativeSignaling = (short) 0xFF85;
        short one = 0x3F80, two = 0x4000, three = 0x4040, minusOne = (short) 0xBF80, zero = 0, minusZero = (short) 0x8000;
        short infinity = 0x7F80, minusInfinity = (short) 0xFF80;
        short[][] groups = {{nan, one, two, three}, {one, negativeNan, two, minusOne}, {signaling, signaling, zero, zero},
                {negativeSignaling, three, minusZero, nan}, {minusOne, minusOne, negativeSignaling, minusOne},
                {infinity, signaling, minusInfinity, two}, {negativeNan, negativeSignaling, minusZero, one}};
        float[] z = SparseOracles.activations(new SplittableRandom(SEED + 1), rows, f);
        short[] bits = SparseOracles.routedLayout(z, offsets, 1, f, false);
        for (int g = 0; g < groups.length; g++) {
            int at = 4 * (37 * g + 3);  // spread over rows and groups
            for (int i = 0; i < 4; i++) {
                bits[at + i] = groups[g][i];
                z[at + i] = Bf16.toFloat(groups[g][i]);
            }
        }
        String what = "NaN groups; seed " + (SEED + 1);
        program.write("offsets.bin", SparseOracles.bytes(offsets));
        program.write("z.bin", SparseOracles.bytes(bits));
        program.run("relu2", 1, rows, f, 0, 1);

        var expected = SparseOracles.Activated.of(z, rows, f);
        assertBytes(SparseOracles.packedExperts(expected.a(), expected.nibbles(), offsets, 1, f), program.read("packed.out"), "packed A, " + what);
        assertBytes(SparseOracles.bytes(Bf16.fromFloats(expected.a())), program.read("dense.out"), "dense A, " + what);
        assertBytes(SparseOracles.bytes(expected.keptRelu()), program.read("kept.out"), "kept relu, " + what);
        assertBytes(expected.nibbles(), program.read("nibbles.out"), "nibbles, " + what);
        long positive = 0, keptCount = 0;
        for (int i = 0; i < z.length; i++) {
            if (z[i] > 0) positive++;
            if (expected.kept(i) && Math.max(z[i], 0f) != 0) keptCount++;
        }
        ActivationStats stats = sum(SparseOracles.floats(program.read("partials.out")));
        assertEquals(positive, stats.positive(), "positive count; " + what);
        assertEquals(keptCount, stats.kept(), "kept count; " + what);
        assertTrue(Double.isNaN(stats.mass()) && Double.isNaN(stats.keptMass()), "NaN masses; " + what);
    }

    private static void check(SplittableRandom rng, int[] offsets, int experts, int rows, int f, boolean expertMajor, int blocks,
                              boolean launched) {
        String what = (expertMajor ? "expert-major" : "row-major") + " input, " + blocks + " blocks; seed " + SEED;
        float[] z = SparseOracles.activations(rng, rows, f);
        Arrays.fill(z, 120 * f, 128 * f, 0f);  // padding rows at the end of expert 0
        Arrays.fill(z, 300 * f, 320 * f, 0f);  // and of expert 2
        program.write("offsets.bin", SparseOracles.bytes(offsets));
        program.write("z.bin", SparseOracles.bytes(SparseOracles.routedLayout(z, offsets, experts, f, expertMajor)));
        program.run("relu2", experts, rows, f, expertMajor ? 1 : 0, blocks);

        var expected = SparseOracles.Activated.of(z, rows, f);
        assertBytes(SparseOracles.packedExperts(expected.a(), expected.nibbles(), offsets, experts, f), program.read("packed.out"),
                "packed A, " + what);
        assertBytes(SparseOracles.bytes(Bf16.fromFloats(expected.a())), program.read("dense.out"), "dense A, " + what);
        assertBytes(SparseOracles.bytes(expected.keptRelu()), program.read("kept.out"), "kept relu, " + what);
        assertBytes(expected.nibbles(), program.read("nibbles.out"), "nibbles, " + what);

        long positive = 0, keptCount = 0;
        double mass = 0, keptMass = 0;
        for (int i = 0; i < z.length; i++) {
            float relu = Math.max(z[i], 0f);
            if (z[i] > 0) positive++;
            if (expected.kept(i) && relu != 0) keptCount++;
            mass += relu * relu;
            keptMass += expected.a()[i];
        }
        float[] partials = SparseOracles.floats(program.read("partials.out"));
        ActivationStats stats = sum(partials);
        if (launched) {
            assertEquals(stats, SparseFfnKernels.activationStats(partials, rows, f), "activationStats reduces the quadruples; " + what);
        }
        assertEquals(positive, stats.positive(), "positive count; " + what);
        assertEquals(keptCount, stats.kept(), "kept count; " + what);
        assertEquals(mass, stats.mass(), 1e-5 * mass, "relu^2 mass; " + what);
        assertEquals(keptMass, stats.keptMass(), 1e-5 * keptMass, "kept relu^2 mass; " + what);

        float[] dA = SparseOracles.activations(rng, rows, f);
        program.write("dA.bin", SparseOracles.bytes(SparseOracles.routedLayout(dA, offsets, experts, f, expertMajor)));
        program.write("kept.bin", SparseOracles.bytes(expected.keptRelu()));
        program.write("nibbles.bin", expected.nibbles());
        program.run("grad", experts, rows, f, expertMajor ? 1 : 0, blocks);
        float[] dz = expected.gradient(dA, z);
        assertBytes(SparseOracles.packedExperts(dz, expected.nibbles(), offsets, experts, f), program.read("packed.out"), "packed dZ, " + what);
        assertBytes(SparseOracles.bytes(Bf16.fromFloats(dz)), program.read("dense.out"), "dense dZ, " + what);
    }

    private static ActivationStats sum(float[] partials) {
        long positive = 0, kept = 0;
        double mass = 0, keptMass = 0;
        for (int i = 0; i < partials.length; i += 4) {
            positive += Float.floatToRawIntBits(partials[i]);
            kept += Float.floatToRawIntBits(partials[i + 1]);
            mass += partials[i + 2];
            keptMass += partials[i + 3];
        }
        return new ActivationStats(positive, kept, mass, keptMass);
    }
}
