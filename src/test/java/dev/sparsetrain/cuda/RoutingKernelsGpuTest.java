package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparsetrain.sparse.Router;
import dev.sparsetrain.sparse.Routing;
import dev.sparsetrain.tensor.DType;
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
 * {@link RoutingKernels#nearest} on a real GPU (excluded from CI; run with -Dgroups=gpu on a GPU
 * machine) against {@code Router.route(..., NEAREST, blockRows)}: counts, offsets and perm exactly,
 * and perm's rows past the padded layout untouched. Outputs and workspace start as NaN words.
 */
@Tag("gpu")
class RoutingKernelsGpuTest {
    private static final long SEED = 20260402L;
    private static final int POISON = Float.floatToRawIntBits(Float.NaN);

    private static CudaBackend cuda;
    private final List<Tensor> allocated = new ArrayList<>();

    @BeforeAll
    static void open() { cuda = CudaBackend.open(0); }

    @AfterAll
    static void close() { cuda.close(); }

    @AfterEach
    void free() {
        for (Tensor t : allocated) ((CudaStorage) t.storage()).close();
        allocated.clear();
    }

    @Test
    void routesExactlyAsTheHostRouter() {
        var rng = new SplittableRandom(SEED);
        // tokens, experts, blockRows, empty expert (-1: none): small, partial tiles, a training
        // micro-batch's size with the CUDA padding, every lane an expert.
        int[][] cases = {{1, 1, 1, -1}, {4097, 8, 256, 5}, {9000, 3, 1, -1}, {12289, 5, 64, 1}, {262_144, 8, 256, -1},
                {300_001, 8, 256, 7}, {50_000, 32, 256, 17}};
        for (int[] c : cases) check(RoutingScores.of(rng, c[0], c[1], c[3]), c[0], c[1], c[2]);
    }

    @Test
    void routesRealisticScoresWithoutTies() {
        var rng = new SplittableRandom(SEED + 1);
        int tokens = 131_072, experts = 8;
        float[] scores = new float[tokens * experts];
        for (int i = 0; i < scores.length; i++) scores[i] = (float) rng.nextGaussian();
        check(scores, tokens, experts, 256);
    }

    private void check(float[] scores, int tokens, int experts, int blockRows) {
        String what = tokens + " tokens, " + experts + " experts, blockRows " + blockRows + "; seed " + SEED;
        Routing expected = Router.route(scores, tokens, experts, Router.Mode.NEAREST, blockRows);
        int capacity = Math.toIntExact(RoutingKernels.permCapacity(tokens, experts, blockRows));
        Tensor s = allocate(DType.F32, scores.length);
        cuda.upload(s, scores, 0);
        Tensor perm = poisoned(capacity), countsAndOffsets = poisoned(2 * experts + 1);
        Tensor workspace = poisoned(Math.toIntExact(RoutingKernels.workspaceBytes(tokens, experts) / 4));
        RoutingKernels.nearest(cuda.launcher(), CudaStorage.ptr(perm), CudaStorage.ptr(countsAndOffsets), CudaStorage.ptr(workspace),
                CudaStorage.ptr(s), tokens, experts, blockRows);

        int[] co = cuda.downloadInts(countsAndOffsets), p = cuda.downloadInts(perm);
        int[] counts = new int[experts], offsets = new int[experts + 1];
        for (int e = 0; e < experts; e++) counts[e] = expected.count(e);
        for (int e = 0; e <= experts; e++) offsets[e] = expected.offset(e);
        assertArrayEquals(counts, Arrays.copyOf(co, experts), "counts; " + what);
        assertArrayEquals(offsets, Arrays.copyOfRange(co, experts, 2 * experts + 1), "offsets; " + what);
        int[] want = expected.perm();
        for (int r = 0; r < want.length; r++) {
            if (p[r] != want[r]) throw new AssertionError("perm[" + r + "]: expected " + want[r] + ", got " + p[r] + "; " + what);
        }
        for (int r = want.length; r < capacity; r++) assertEquals(POISON, p[r], "perm row " + r + " past the padded layout; " + what);
    }

    /** A device int buffer of {@code n} NaN words. */
    private Tensor poisoned(int n) {
        Tensor t = allocate(DType.I32, n);
        int[] words = new int[n];
        Arrays.fill(words, POISON);
        cuda.uploadInts(t, words, 0);
        return t;
    }

    private Tensor allocate(DType dtype, long n) {
        Tensor t = cuda.zeros(dtype, n);
        allocated.add(t);
        return t;
    }
}
