package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.SparseOracles.assertBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.sparse.ExpertCentres;
import dev.sparsetrain.sparse.Router;
import dev.sparsetrain.tensor.Bf16;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.SparseKernels.ActivationStats;
import dev.sparsetrain.tensor.SparseKernels.WeightStats;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The sparse FFN kernels on a real GPU (excluded from CI; run with -Dgroups=gpu on a GPU machine):
 * every buffer byte for byte against the Java oracles (the expectations of the host-emulation
 * tests), the stats within float partial-sum rounding, centres and scores within about an ulp of the
 * double-accumulating CPU oracles. Outputs are poisoned with NaN words before each launch.
 */
@Tag("gpu")
class SparseFfnKernelsGpuTest {
    private static final long SEED = 20260317L;
    /** The bytes of the NaN word outputs are poisoned with. */
    private static final byte[] POISON = SparseOracles.bytes(new float[] {Float.NaN});

    private static CudaBackend cuda;
    private static KernelLauncher l;
    private final List<Tensor> allocated = new ArrayList<>();

    @BeforeAll
    static void open() {
        cuda = CudaBackend.open(0);
        l = cuda.launcher();
    }

    @AfterAll
    static void close() { cuda.close(); }

    @AfterEach
    void free() {
        for (Tensor t : allocated) ((CudaStorage) t.storage()).close();
        allocated.clear();
    }

    @Test
    void pruneWeightWritesTheOracleBytesAndStatsInBothLayouts() {
        var rng = new SplittableRandom(SEED);
        // rows, cols, blockRows: two experts with a gap between their buffers and a narrow last tile (416 = 3 x 128 + 32);
        // then 2048 tiles. Grid-stride over more tiles than blocks is covered by SparseWeightsHostTest.
        int[][] shapes = {{512, 416, 256}, {2048, 8192, 1024}};
        float beta = 0.83f;
        for (int[] s : shapes) {
            for (boolean transposed : new boolean[] {false, true}) {
                int rows = s[0], cols = s[1], blockRows = s[2];
                String what = rows + "x" + cols + (transposed ? " from W^T" : "") + "; seed " + SEED;
                long blockBytes = SparseFfnKernels.packedBytes(blockRows, cols), stride = blockBytes + 512;
                long packedBytes = (long) (rows / blockRows - 1) * stride + blockBytes;
                float[] e = SparseOracles.weights(rng, rows * cols);
                Buffer w = upload(SparseOracles.bytes(transposed ? SparseOracles.transpose(e, rows, cols) : e));
                Buffer packed = poisoned(packedBytes), dense = poisoned(2L * rows * cols);
                Buffer partials = poisoned(4L * SparseFfnKernels.weightPartialsCount(rows, cols));
                SparseFfnKernels.pruneWeight(l, packed.ptr(), stride, blockRows, dense.ptr(), partials.ptr(), w.ptr(), transposed, rows, cols, beta);

                var expected = SparseOracles.Pruned.of(e, rows, cols, beta);
                byte[] actual = packed.read(packedBytes);
                for (int b = 0; b < rows / blockRows; b++) {
                    int at = (int) (b * stride);
                    assertBytes(expected.packedBlock(b * blockRows, blockRows, cols), Arrays.copyOfRange(actual, at, at + (int) blockBytes),
                            "packed block " + b + " of " + what);
                    if (b + 1 < rows / blockRows) {
                        for (int i = at + (int) blockBytes; i < at + stride; i++) {
                            assertEquals(POISON[i % 4], actual[i], "byte " + i + " between packed blocks must stay untouched; " + what);
                        }
                    }
                }
                assertBytes(SparseOracles.bytes(Bf16.fromFloats(expected.effective())), dense.read(2L * rows * cols), "dense bf16 of " + what);

                double abs = 0, pruned = 0;
                for (int i = 0; i < e.length; i++) {
                    abs += Math.abs(e[i]);
                    pruned += Math.abs(expected.unscaled()[i]);
                }
                WeightStats stats = SparseFfnKernels.weightStats(partials.floats(SparseFfnKernels.weightPartialsCount(rows, cols)), rows, cols);
                assertEquals(abs, stats.absSum(), 1e-5 * abs, "sum |W|; " + what);
                assertEquals(pruned, stats.prunedAbsSum(), 1e-5 * pruned, "sum |S(W)|; " + what);

                // The last block's buffer unpacked by the GPU is the dense effective weight of its rows.
                int last = rows / blockRows - 1;
                Buffer unpacked = poisoned(4L * blockRows * cols);
                SparseFfnKernels.unpackPacked(l, unpacked.ptr(), packed.ptr() + last * stride, blockRows, cols);
                float[] u = unpacked.floats(blockRows * cols);
                for (int i = 0; i < u.length; i++) {
                    float want = Bf16.toFloat(Bf16.fromFloat(expected.effective()[last * blockRows * cols + i]));
                    if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(u[i])) {
                        throw new AssertionError("unpacked element " + i + " of the last block: expected " + want + ", got " + u[i] + "; " + what);
                    }
                }
            }
        }
    }

    @Test
    void relu2TopTwoAndActivationGradientWriteTheOracleBytesInBothLayouts() {
        var rng = new SplittableRandom(SEED + 1);
        int[] offsets = {0, 256, 256, 640};  // the middle expert is empty
        int experts = 3, rows = offsets[experts], f = 352;  // a 256-column and a 96-column tile per band
        long n = (long) rows * f;
        Buffer rowOffsets = uploadInts(offsets);
        for (boolean expertMajor : new boolean[] {false, true}) {
            String what = (expertMajor ? "expert-major" : "row-major") + " input; seed " + (SEED + 1);
            float[] z = SparseOracles.activations(rng, rows, f);
            Arrays.fill(z, 250 * f, 256 * f, 0f);  // padding rows of expert 0
            Arrays.fill(z, 600 * f, 640 * f, 0f);  // and of expert 2
            Buffer zIn = upload(SparseOracles.bytes(SparseOracles.routedLayout(z, offsets, experts, f, expertMajor)));
            Buffer packedA = poisoned(n / 8 * 9), denseA = poisoned(2 * n), kept = poisoned(n), nibbles = poisoned(n / 4);
            int partialsCount = SparseFfnKernels.activationPartialsCount(rows, f);
            Buffer partials = poisoned(4L * partialsCount);
            SparseFfnKernels.relu2TopTwo(l, zIn.ptr(), expertMajor, rowOffsets.ptr(), experts, rows, f, packedA.ptr(), denseA.ptr(), kept.ptr(),
                    nibbles.ptr(), partials.ptr());

            var expected = SparseOracles.Activated.of(z, rows, f);
            assertBytes(SparseOracles.packedExperts(expected.a(), expected.nibbles(), offsets, experts, f), packedA.read(n / 8 * 9), "packed A, " + what);
            assertBytes(SparseOracles.bytes(Bf16.fromFloats(expected.a())), denseA.read(2 * n), "dense A, " + what);
            assertBytes(SparseOracles.bytes(expected.keptRelu()), kept.read(n), "kept relu, " + what);
            assertBytes(expected.nibbles(), nibbles.read(n / 4), "nibbles, " + what);

            long positive = 0, keptCount = 0;
            double mass = 0, keptMass = 0;
            for (int i = 0; i < z.length; i++) {
                float relu = Math.max(z[i], 0f);
                if (z[i] > 0) positive++;
                if (expected.kept(i) && relu != 0) keptCount++;
                mass += relu * relu;
                keptMass += expected.a()[i];
            }
            ActivationStats stats = SparseFfnKernels.activationStats(partials.floats(partialsCount), rows, f);
            assertEquals(positive, stats.positive(), "positive count; " + what);
            assertEquals(keptCount, stats.kept(), "kept count; " + what);
            assertEquals(mass, stats.mass(), 1e-5 * mass, "relu^2 mass; " + what);
            assertEquals(keptMass, stats.keptMass(), 1e-5 * keptMass, "kept relu^2 mass; " + what);

            float[] dA = SparseOracles.activations(rng, rows, f);
            Buffer dAIn = upload(SparseOracles.bytes(SparseOracles.routedLayout(dA, offsets, experts, f, expertMajor)));
            Buffer packedDz = poisoned(n / 8 * 9), denseDz = poisoned(2 * n);
            SparseFfnKernels.activationGradient(l, dAIn.ptr(), expertMajor, rowOffsets.ptr(), experts, rows, f, kept.ptr(), nibbles.ptr(),
                    packedDz.ptr(), denseDz.ptr());
            float[] dz = expected.gradient(dA, z);
            assertBytes(SparseOracles.packedExperts(dz, expected.nibbles(), offsets, experts, f), packedDz.read(n / 8 * 9), "packed dZ, " + what);
            assertBytes(SparseOracles.bytes(Bf16.fromFloats(dz)), denseDz.read(2 * n), "dense dZ, " + what);
        }
    }

    @Test
    void gatherAndScatterMoveRowsThroughThePermutation() {
        var rng = new SplittableRandom(SEED + 2);
        int tokens = 1000, cols = 516, rows = 1088;
        int[] perm = new int[rows];
        Arrays.fill(perm, -1);
        int[] slots = rng.ints(0, rows).distinct().limit(tokens).toArray();
        for (int t = 0; t < tokens; t++) perm[slots[t]] = t;
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        Buffer xIn = upload(SparseOracles.bytes(x)), permIn = uploadInts(perm), gathered = poisoned(2L * rows * cols);
        SparseFfnKernels.gatherRows(l, gathered.ptr(), xIn.ptr(), permIn.ptr(), rows, cols);
        short[] expected = new short[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) expected[r * cols + c] = perm[r] < 0 ? 0 : Bf16.fromFloat(x[perm[r] * cols + c]);
        }
        assertBytes(SparseOracles.bytes(expected), gathered.read(2L * rows * cols), "gathered rows; seed " + (SEED + 2));

        Buffer scattered = poisoned(4L * tokens * cols);
        SparseFfnKernels.scatterRows(l, scattered.ptr(), gathered.ptr(), permIn.ptr(), rows, cols);
        float[] back = scattered.floats(tokens * cols);
        for (int r = 0; r < rows; r++) {
            if (perm[r] < 0) continue;
            for (int c = 0; c < cols; c++) {
                assertEquals(Bf16.toFloat(expected[r * cols + c]), back[perm[r] * cols + c], 0f,
                        "token " + perm[r] + ", column " + c + "; seed " + (SEED + 2));
            }
        }
    }

    @Test
    void centresAndScoresMatchTheDoubleAccumulatingOracles() {
        var rng = new SplittableRandom(SEED + 3);
        int neurons = 1024, dim = 520, tokens = 1000;
        for (int experts : new int[] {2, 8}) {
            float[] w1 = gaussians(rng, neurons * dim);
            Buffer w1In = upload(SparseOracles.bytes(w1)), centres = poisoned(4L * experts * dim);
            SparseFfnKernels.expertCentres(l, centres.ptr(), w1In.ptr(), neurons, dim, experts);
            float[] expected = new float[experts * dim];
            ExpertCentres.compute(w1, neurons, dim, experts, expected);
            float[] actual = centres.floats(experts * dim);
            for (int i = 0; i < expected.length; i++) {
                // Both sum in double and round once, so they differ by at most the final rounding.
                assertTrue(Math.abs(actual[i] - expected[i]) <= Math.ulp(expected[i]),
                        "centre " + i / dim + ", column " + i % dim + ": " + actual[i] + " vs " + expected[i] + "; seed " + (SEED + 3));
            }
        }
        for (int experts : new int[] {1, 2, 3, 5, 8, 12}) {
            float[] x = gaussians(rng, tokens * dim), c = gaussians(rng, experts * dim);
            Buffer xIn = upload(SparseOracles.bytes(x)), cIn = upload(SparseOracles.bytes(c)), scores = poisoned(4L * tokens * experts);
            SparseFfnKernels.routerScores(l, scores.ptr(), xIn.ptr(), cIn.ptr(), tokens, dim, experts);
            float[] expected = new float[tokens * experts];
            Router.scores(x, tokens, dim, c, experts, expected);
            float[] actual = scores.floats(tokens * experts);
            for (int t = 0; t < tokens; t++) {
                for (int e = 0; e < experts; e++) {
                    double scale = 0;
                    for (int j = 0; j < dim; j++) scale += Math.abs(2.0 * x[t * dim + j] * c[e * dim + j]) + (double) c[e * dim + j] * c[e * dim + j];
                    float want = expected[t * experts + e], got = actual[t * experts + e];
                    assertTrue(Math.abs(got - want) <= Math.ulp(want) + 1e-12 * scale,
                            "score of token " + t + " for expert " + e + " of " + experts + ": " + got + " vs " + want + "; seed " + (SEED + 3));
                }
            }
        }
    }

    // ---- device buffers ---------------------------------------------------------------------------

    /** A device buffer (an F32 tensor of whole words) read back as bytes or floats. */
    private record Buffer(Tensor tensor) {
        long ptr() { return CudaStorage.ptr(tensor); }

        byte[] read(long bytes) {
            float[] words = new float[(int) tensor.numel()];
            cuda.download(tensor, words, 0);
            return Arrays.copyOf(SparseOracles.bytes(words), (int) bytes);
        }

        float[] floats(int count) { return SparseOracles.floats(read(4L * count)); }
    }

    /** A buffer of at least {@code bytes}, every word NaN, so a byte the kernel fails to write shows up. */
    private Buffer poisoned(long bytes) {
        Tensor t = allocate(DType.F32, Math.ceilDiv(bytes, 4));
        cuda.fill(t, Float.NaN);
        return new Buffer(t);
    }

    private Buffer upload(byte[] data) {
        float[] words = SparseOracles.floats(Arrays.copyOf(data, (data.length + 3) / 4 * 4));
        Tensor t = allocate(DType.F32, words.length);
        cuda.upload(t, words, 0);
        return new Buffer(t);
    }

    private Buffer uploadInts(int[] data) {
        Tensor t = allocate(DType.I32, data.length);
        cuda.uploadInts(t, data, 0);
        return new Buffer(t);
    }

    private Tensor allocate(DType dtype, long n) {
        Tensor t = cuda.zeros(dtype, n);
        allocated.add(t);
        return t;
    }

    private static float[] gaussians(SplittableRandom rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rng.nextGaussian();
        return a;
    }
}
