package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.SparseWeightsHostTest.assertBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparsetrain.sparse.ActivationTopK;
import dev.sparsetrain.sparse.CusparseLtLayout;
import dev.sparsetrain.sparse.TwoFourNibble;
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
 * their buffers must equal, byte for byte, {@link ActivationTopK} packed per expert by
 * {@link CusparseLtLayout}, and dZ = dA·2·relu(z) on that pattern as ReferenceSparseKernels computes
 * it. Skipped where nvcc is not on the PATH.
 */
class SparseActivationsHostTest {
    private static final long SEED = 20260315L;

    private static final String MAIN = """
            int main(int argc, char** argv) {
                std::string op = argv[1], dir = argv[argc - 1];
                int experts = std::atoi(argv[2]), rowsTotal = std::atoi(argv[3]), f = std::atoi(argv[4]);
                bool expertMajor = std::atoi(argv[5]) != 0;
                int blocks = std::atoi(argv[6]);
                std::vector<unsigned char> offsets = load(dir + "/offsets.bin");
                const int* rowOffsets = as<int>(offsets);
                long long n = (long long) rowsTotal * f, tiles = (long long) (rowsTotal / SPARSE_TILE_ROWS) * (f / SPARSE_TILE_COLS);
                std::vector<float> staged(SPARSE_TILE_COLS * SPARSE_STAGE_STRIDE);
                std::vector<unsigned char> packed(n / 8 * 9, 0xA5), dense(n * 2, 0xA5);
                if (op == "relu2") {
                    std::vector<unsigned char> z = load(dir + "/z.bin");
                    std::vector<unsigned char> kept(n, 0xA5), nibbles(n / 4, 0xA5), partials((size_t) blocks * 16, 0xFF);
                    for (int block = 0; block < blocks; block++) {
                        SparseActivationSums sums = {0u, 0u, 0.0f, 0.0f};
                        for (long long tile = block; tile < tiles; tile += blocks) {
                            SparseActivationTile p = sparse_activation_tile_at(tile, rowOffsets, experts, f, expertMajor);
                            if (expertMajor) {
                                std::fill(staged.begin(), staged.end(), sparse_bits_float(0x7FC00000u));
                                for (int t = 0; t < SPARSE_TILE_THREADS; t++) {
                                    sparse_stage_tile(staged.data(), as<unsigned short>(z) + p.sourceOffset, p.sourceStride, t);
                                }
                            }
                            for (int t = 0; t < SPARSE_TILE_THREADS; t++) {
                                sparse_relu2_top_two_thread(p, t, packed.data(), as<unsigned short>(dense), as<unsigned short>(kept), nibbles.data(),
                                                            as<unsigned short>(z), expertMajor ? staged.data() : nullptr, sums);
                            }
                        }
                        as<unsigned int>(partials)[4 * block] = sums.positive;
                        as<unsigned int>(partials)[4 * block + 1] = sums.kept;
                        as<float>(partials)[4 * block + 2] = sums.mass;
                        as<float>(partials)[4 * block + 3] = sums.keptMass;
                    }
                    save(dir + "/kept.out", kept);
                    save(dir + "/nibbles.out", nibbles);
                    save(dir + "/partials.out", partials);
                } else if (op == "grad") {
                    std::vector<unsigned char> dA = load(dir + "/dA.bin"), kept = load(dir + "/kept.bin"), nibbles = load(dir + "/nibbles.bin");
                    for (long long tile = 0; tile < tiles; tile++) {
                        SparseActivationTile p = sparse_activation_tile_at(tile, rowOffsets, experts, f, expertMajor);
                        if (expertMajor) {
                            std::fill(staged.begin(), staged.end(), sparse_bits_float(0x7FC00000u));
                            for (int t = 0; t < SPARSE_TILE_THREADS; t++) {
                                sparse_stage_tile(staged.data(), as<unsigned short>(dA) + p.sourceOffset, p.sourceStride, t);
                            }
                        }
                        for (int t = 0; t < SPARSE_TILE_THREADS; t++) {
                            sparse_activation_gradient_thread(p, t, packed.data(), as<unsigned short>(dense), as<unsigned short>(dA),
                                                              expertMajor ? staged.data() : nullptr, as<unsigned short>(kept), nibbles.data());
                        }
                    }
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
        // Three experts, the middle one empty; each real expert ends in padding rows of zeros.
        int[] offsets = {0, 128, 128, 320};
        int experts = 3, rows = offsets[experts], f = 96;
        for (boolean expertMajor : new boolean[] {false, true}) {
            for (int blocks : new int[] {SparseFfnKernels.tileBlocks(rows, f), 7}) {
                check(new SplittableRandom(SEED), offsets, experts, rows, f, expertMajor, blocks);
            }
        }
    }

    private static void check(SplittableRandom rng, int[] offsets, int experts, int rows, int f, boolean expertMajor, int blocks) {
        String what = (expertMajor ? "expert-major" : "row-major") + " input, " + blocks + " blocks; seed " + SEED;
        float[] z = activations(rng, rows, f);
        for (int r = 120; r < 128; r++) Arrays.fill(z, r * f, (r + 1) * f, 0f);
        for (int r = 300; r < 320; r++) Arrays.fill(z, r * f, (r + 1) * f, 0f);
        program.write("offsets.bin", offsets);
        program.write("z.bin", layout(z, offsets, experts, f, expertMajor));
        program.run("relu2", experts, rows, f, expertMajor ? 1 : 0, blocks);

        float[] a = new float[rows * f];
        byte[] masks = new byte[rows * f / 4];
        ActivationTopK.apply(z, rows, f, a, masks);
        byte[] nibbles = new byte[masks.length];
        short[] kept = new short[rows * f / 2];
        for (int i = 0; i < masks.length; i++) {
            nibbles[i] = (byte) TwoFourNibble.ofPositions(masks[i]);
            kept[2 * i] = Bf16.fromFloat(Math.max(z[4 * i + TwoFourNibble.first(nibbles[i])], 0f));
            kept[2 * i + 1] = Bf16.fromFloat(Math.max(z[4 * i + TwoFourNibble.second(nibbles[i])], 0f));
        }
        assertBytes(packed(a, nibbles, offsets, experts, f), program.read("packed.out"), "packed A, " + what);
        assertBytes(KernelHostProgram.bytes(Bf16.fromFloats(a)), program.read("dense.out"), "dense A, " + what);
        assertBytes(KernelHostProgram.bytes(kept), program.read("kept.out"), "kept relu, " + what);
        assertBytes(nibbles, program.read("nibbles.out"), "nibbles, " + what);

        long positive = 0, keptCount = 0;
        double mass = 0, keptMass = 0;
        for (int i = 0; i < z.length; i++) {
            float relu = Math.max(z[i], 0f);
            if (z[i] > 0) positive++;
            if ((masks[i / 4] & (1 << (i % 4))) != 0 && relu != 0) keptCount++;
            mass += relu * relu;
            keptMass += a[i];
        }
        float[] partials = program.readFloats("partials.out");
        ActivationStats stats = sum(partials);
        if (blocks == SparseFfnKernels.tileBlocks(rows, f)) {
            assertEquals(stats, SparseFfnKernels.activationStats(partials, rows, f), "activationStats reduces the quadruples; " + what);
        }
        assertEquals(positive, stats.positive(), "positive count; " + what);
        assertEquals(keptCount, stats.kept(), "kept count; " + what);
        assertEquals(mass, stats.mass(), 1e-5 * mass, "relu^2 mass; " + what);
        assertEquals(keptMass, stats.keptMass(), 1e-5 * keptMass, "kept relu^2 mass; " + what);

        float[] dA = activations(rng, rows, f);
        program.write("dA.bin", layout(dA, offsets, experts, f, expertMajor));
        program.write("kept.bin", kept);
        program.write("nibbles.bin", nibbles);
        program.run("grad", experts, rows, f, expertMajor ? 1 : 0, blocks);
        float[] dz = new float[rows * f];
        for (int i = 0; i < dz.length; i++) {
            // ReferenceSparseKernels.activationGradient: dA·2·relu(z) in double on the kept pattern, rounded to float.
            if ((masks[i / 4] & (1 << (i % 4))) != 0) dz[i] = (float) ((double) dA[i] * 2 * Math.max(z[i], 0f));
        }
        assertBytes(packed(dz, nibbles, offsets, experts, f), program.read("packed.out"), "packed dZ, " + what);
        assertBytes(KernelHostProgram.bytes(Bf16.fromFloats(dz)), program.read("dense.out"), "dense dZ, " + what);
    }

    /**
     * bf16-exact pre-activations: mostly Gaussian, with whole groups negative, groups of one positive
     * value, groups of equal values and groups with zeros, the cases where the tie rule decides.
     */
    private static float[] activations(SplittableRandom rng, int rows, int f) {
        float[] z = new float[rows * f];
        for (int base = 0; base < z.length; base += 4) {
            int kind = rng.nextInt(6);
            float shared = (float) rng.nextGaussian();
            int positive = rng.nextInt(4);
            for (int i = 0; i < 4; i++) {
                float g = (float) rng.nextGaussian();
                z[base + i] = switch (kind) {
                    case 0 -> -Math.abs(g);
                    case 1 -> i == positive ? Math.abs(g) : -Math.abs(g);
                    case 2 -> shared;
                    case 3 -> rng.nextBoolean() ? 0f : g;
                    default -> g;
                };
            }
        }
        for (int i = 0; i < z.length; i++) z[i] = Bf16.toFloat(Bf16.fromFloat(z[i]));
        return z;
    }

    /** bf16 of the logical [rows, f] matrix, row-major or expert-major (expert e's block [f, P_e] at offsets[e]·f). */
    private static short[] layout(float[] m, int[] offsets, int experts, int f, boolean expertMajor) {
        short[] out = new short[m.length];
        for (int e = 0; e < experts; e++) {
            int first = offsets[e], pe = offsets[e + 1] - first;
            for (int r = first; r < first + pe; r++) {
                for (int n = 0; n < f; n++) {
                    out[expertMajor ? first * f + n * pe + (r - first) : r * f + n] = Bf16.fromFloat(m[r * f + n]);
                }
            }
        }
        return out;
    }

    /** The per-expert packed buffers of the kept values of {@code dense} (bf16), each at offsets[e]·f·9/8. */
    private static byte[] packed(float[] dense, byte[] nibbles, int[] offsets, int experts, int f) {
        byte[] out = new byte[offsets[experts] * f / 8 * 9];
        for (int e = 0; e < experts; e++) {
            int first = offsets[e], pe = offsets[e + 1] - first;
            if (pe == 0) continue;
            short[] values = new short[pe * f / 2];
            byte[] expertNibbles = new byte[pe * f / 4];
            for (int r = 0; r < pe; r++) {
                for (int g = 0; g < f / 4; g++) {
                    int nibble = nibbles[(first + r) * f / 4 + g];
                    expertNibbles[r * f / 4 + g] = (byte) nibble;
                    values[r * f / 2 + 2 * g] = Bf16.fromFloat(dense[(first + r) * f + 4 * g + TwoFourNibble.first(nibble)]);
                    values[r * f / 2 + 2 * g + 1] = Bf16.fromFloat(dense[(first + r) * f + 4 * g + TwoFourNibble.second(nibble)]);
                }
            }
            byte[] buffer = CusparseLtLayout.pack(values, expertNibbles, pe, f);
            System.arraycopy(buffer, 0, out, first * f / 8 * 9, buffer.length);
        }
        return out;
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
