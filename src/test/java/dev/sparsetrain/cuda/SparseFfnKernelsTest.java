package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.tensor.SparseKernels.ActivationStats;
import dev.sparsetrain.tensor.SparseKernels.WeightStats;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * {@link SparseFfnKernels} against the sparse kernel sources, without a GPU: every launch's
 * arguments match the declared parameter list by name and type, grids cover the work within CUDA's
 * limits and the kernels' launch bounds, bad shapes and buffers fail with a message, and the host
 * reductions of the partials add what the kernels write.
 */
class SparseFfnKernelsTest {
    /** Distinct, 256-byte aligned made-up device addresses, far enough apart for any buffer here. */
    private static final long A = 0x7a00_0000_0000L, B = 0x7b00_0000_0000L, C = 0x7c00_0000_0000L, D = 0x7d00_0000_0000L,
            E = 0x7e00_0000_0000L, F = 0x7f00_0000_0000L, G = 0x7100_0000_0000L, H = 0x7200_0000_0000L;

    private static final Map<String, KernelSignatures.Kernel> DECLARED = SparseFfnKernels.SOURCES.stream()
            .flatMap(s -> KernelSignatures.parse(s, KernelSignatures.text(s)).stream())
            .collect(Collectors.toMap(KernelSignatures.Kernel::name, Function.identity()));

    private final RecordingLauncher l = new RecordingLauncher();

    // ---- launches -----------------------------------------------------------------------------------

    @Test
    void pruneWeightLaunchesOneBlockPerTileUpToTheBoundInEitherLayout() {
        int[][] shapes = {{4096, 16384, 2048}, {128, 64, 64}, {16384, 4096, 16384}, {8192, 16384, 8192}, {192, 160, 64}};
        for (int[] s : shapes) {
            for (boolean transposed : new boolean[] {false, true}) {
                l.launches.clear();
                int rows = s[0], cols = s[1], blockRows = s[2];
                long stride = SparseFfnKernels.packedBytes(blockRows, cols) + 256;
                SparseFfnKernels.pruneWeight(l, A, stride, blockRows, B, C, D, transposed, rows, cols, 0.75f);
                var launch = l.only();
                assertLaunch(launch, transposed ? "sparse_prune_weight_transposed" : "sparse_prune_weight_rows",
                        Map.of("packed", A, "blockStrideBytes", stride, "blockRows", blockRows, "dense", B, "partials", C, "w", D,
                                "rows", rows, "cols", cols, "beta", 0.75f));
                assertTiles(launch, rows, cols, 128);
                assertEquals(2 * launch.gridX(), SparseFfnKernels.weightPartialsCount(rows, cols), "one partials pair per block");
            }
        }
    }

    @Test
    void activationKernelsLaunchOneBlockPerTileUpToTheBoundInEitherLayout() {
        int[][] shapes = {{16384, 8192, 2}, {64, 32, 1}, {2048, 512, 8}, {16384, 16384, 4}, {320, 352, 3}};
        for (int[] s : shapes) {
            for (boolean expertMajor : new boolean[] {false, true}) {
                l.launches.clear();
                int rows = s[0], f = s[1], experts = s[2];
                SparseFfnKernels.relu2TopTwo(l, A, expertMajor, B + 4, experts, rows, f, C, D, E, F, G);
                SparseFfnKernels.activationGradient(l, A, expertMajor, B + 4, experts, rows, f, E, F, H, D);
                assertEquals(2, l.launches.size());
                String layout = expertMajor ? "expert_major" : "rows";
                var forward = l.launches.get(0);
                assertLaunch(forward, "sparse_relu2_top_two_" + layout, Map.of("packedA", C, "denseA", D, "keptRelu", E, "nibbles", F,
                        "partials", G, "z", A, "rowOffsets", B + 4, "experts", experts, "rowsTotal", rows, "f", f));
                assertTiles(forward, rows, f, 256);
                assertEquals(4 * forward.gridX(), SparseFfnKernels.activationPartialsCount(rows, f), "one partials quadruple per block");
                var backward = l.launches.get(1);
                assertLaunch(backward, "sparse_activation_gradient_" + layout, Map.of("packedDz", H, "denseDz", D, "dA", A, "keptRelu", E,
                        "nibbles", F, "rowOffsets", B + 4, "experts", experts, "rowsTotal", rows, "f", f));
                assertTiles(backward, rows, f, 256);
            }
        }
    }

    @Test
    void rowKernelsLaunchABlockPerRowOfWholeWarps() {
        for (int[] s : new int[][] {{64, 4}, {16384, 4096}, {100_000, 36}}) {
            l.launches.clear();
            int rows = s[0], cols = s[1];
            SparseFfnKernels.gatherRows(l, A, B, C, rows, cols);
            SparseFfnKernels.scatterRows(l, D, A, C, rows, cols);
            var gather = l.launches.get(0);
            var scatter = l.launches.get(1);
            assertLaunch(gather, "sparse_gather_rows", Map.of("dst", A, "src", B, "perm", C, "rows", rows, "cols", cols));
            assertLaunch(scatter, "sparse_scatter_rows", Map.of("dst", D, "src", A, "perm", C, "rows", rows, "cols", cols));
            for (var launch : List.of(gather, scatter)) {
                assertEquals(Math.min(rows, 8192), launch.gridX(), "a block per row, grid-stride beyond 8192: " + launch);
                assertTrue(launch.blockX() >= Math.min(cols / 4, 256) && launch.blockX() <= 256, "threads cover a row's quads: " + launch);
            }
        }
    }

    @Test
    void routerKernelsCoverEveryColumnAndTokenWithTheNarrowestExpertPass() {
        SparseFfnKernels.expertCentres(l, A, B, 16384, 4100, 8);
        var centres = l.only();
        assertLaunch(centres, "sparse_expert_centres", Map.of("centres", A, "w1", B, "neurons", 16384, "dim", 4100, "experts", 8));
        assertEquals(List.of(Math.ceilDiv(4100, 32), 8), List.of(centres.gridX(), centres.gridY()), "a block per 32 columns per expert");

        int[][] expertsToKernel = {{1, 2}, {2, 2}, {3, 4}, {4, 4}, {5, 8}, {8, 8}, {13, 8}};
        for (int[] ek : expertsToKernel) {
            l.launches.clear();
            SparseFfnKernels.routerScores(l, C, D, A, 1000, 4096, ek[0]);
            var launch = l.only();
            assertLaunch(launch, "sparse_router_scores_e" + ek[1],
                    Map.of("scores", C, "x", D, "centres", A, "tokens", 1000, "dim", 4096, "experts", ek[0]));
            assertEquals(Math.ceilDiv(1000, 32), launch.gridX(), "32 tokens per block");
        }
    }

    @Test
    void unpackLaunchesAGridStrideOverGroups() {
        SparseFfnKernels.unpackPacked(l, A, B, 4096, 16384);
        var launch = l.only();
        assertLaunch(launch, "sparse_unpack_packed", Map.of("dense", A, "packed", B, "m", 4096, "k", 16384));
        assertEquals(8192, launch.gridX(), "bounded grid");
        l.launches.clear();
        SparseFfnKernels.unpackPacked(l, A, B, 64, 32);
        assertEquals(2, l.only().gridX(), "512 groups, 256 threads a block");
    }

    @Test
    void emptyWorkLaunchesNothing() {
        SparseFfnKernels.relu2TopTwo(l, A, false, B, 2, 0, 64, C, D, E, F, G);
        SparseFfnKernels.activationGradient(l, A, true, B, 2, 0, 64, E, F, H, D);
        SparseFfnKernels.gatherRows(l, A, B, C, 0, 64);
        SparseFfnKernels.scatterRows(l, A, B, C, 0, 64);
        SparseFfnKernels.routerScores(l, A, B, C, 0, 64, 2);
        assertEquals(List.of(), l.launches);
        assertEquals(0, SparseFfnKernels.activationPartialsCount(0, 64));
        assertEquals(new ActivationStats(0, 0, 0, 0), SparseFfnKernels.activationStats(new float[0], 0, 64));
    }

    @Test
    void everyDeclaredKernelIsLaunchedAndNoNameClashesWithTheOtherSources() {
        SparseFfnKernels.pruneWeight(l, A, SparseFfnKernels.packedBytes(64, 32), 64, B, C, D, false, 64, 32, 1f);
        SparseFfnKernels.pruneWeight(l, A, SparseFfnKernels.packedBytes(64, 32), 64, B, C, D, true, 64, 32, 1f);
        for (boolean expertMajor : new boolean[] {false, true}) {
            SparseFfnKernels.relu2TopTwo(l, A, expertMajor, B, 1, 64, 32, C, D, E, F, G);
            SparseFfnKernels.activationGradient(l, A, expertMajor, B, 1, 64, 32, E, F, H, D);
        }
        SparseFfnKernels.gatherRows(l, A, B, C, 1, 4);
        SparseFfnKernels.scatterRows(l, A, B, C, 1, 4);
        SparseFfnKernels.expertCentres(l, A, B, 4, 4, 2);
        for (int experts : new int[] {2, 4, 8}) SparseFfnKernels.routerScores(l, A, B, C, 1, 4, experts);
        SparseFfnKernels.unpackPacked(l, A, B, 64, 32);

        Set<String> launched = l.launches.stream().map(RecordingLauncher.Launch::kernel).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(DECLARED.keySet()), launched, "SparseFfnKernels launches exactly the kernels its sources declare");
        for (String name : DECLARED.keySet()) assertTrue(name.startsWith("sparse_"), name + " must be prefixed sparse_");
        // Modules are searched in turn for a kernel name, so a second declaration could shadow one.
        Set<String> others = Stream.concat(CudaKernels.SOURCES.stream(), ConvertKernels.SOURCES.stream())
                .flatMap(s -> KernelSignatures.parse(s, KernelSignatures.text(s)).stream()).map(KernelSignatures.Kernel::name)
                .collect(Collectors.toSet());
        others.retainAll(DECLARED.keySet());
        assertEquals(Set.of(), others, "kernel names declared twice");
    }

    // ---- checks -------------------------------------------------------------------------------------

    @Test
    void pruneWeightRejectsBadShapesStridesAndBuffers() {
        long stride = SparseFfnKernels.packedBytes(64, 64);
        assertRejected("multiple of blockRows", () -> SparseFfnKernels.pruneWeight(l, A, stride, 64, B, C, D, false, 96, 64, 1f));
        assertRejected("multiple of 32", () -> SparseFfnKernels.pruneWeight(l, A, stride, 64, B, C, D, false, 64, 48, 1f));
        assertRejected("multiple of 64", () -> SparseFfnKernels.pruneWeight(l, A, stride, 96, B, C, D, false, 192, 64, 1f));
        assertRejected("at least " + stride, () -> SparseFfnKernels.pruneWeight(l, A, stride - 16, 64, B, C, D, false, 128, 64, 1f));
        assertRejected("multiple of 16", () -> SparseFfnKernels.pruneWeight(l, A, stride + 8, 64, B, C, D, false, 128, 64, 1f));
        assertRejected("beta must be finite", () -> SparseFfnKernels.pruneWeight(l, A, stride, 64, B, C, D, false, 64, 64, Float.NaN));
        assertRejected("w at 0x", () -> SparseFfnKernels.pruneWeight(l, A, stride, 64, B, C, D + 8, false, 64, 64, 1f));
        assertRejected("null device pointer", () -> SparseFfnKernels.pruneWeight(l, 0, stride, 64, B, C, D, false, 64, 64, 1f));
        // dense [64, 64] bf16 is 8 KiB, so w 4 KiB after it overlaps it.
        assertRejected("denseBf16 [0x", () -> SparseFfnKernels.pruneWeight(l, A, stride, 64, B, C, B + 4096, false, 64, 64, 1f));
        assertEquals(List.of(), l.launches);
    }

    @Test
    void activationKernelsRejectBadShapesAndBuffers() {
        assertRejected("f a positive multiple of 32", () -> SparseFfnKernels.relu2TopTwo(l, A, false, B, 2, 128, 48, C, D, E, F, G));
        assertRejected("rowsTotal a multiple of 64", () -> SparseFfnKernels.relu2TopTwo(l, A, false, B, 2, 100, 64, C, D, E, F, G));
        assertRejected("experts > 0", () -> SparseFfnKernels.activationGradient(l, A, false, B, 0, 128, 64, E, F, H, D));
        assertRejected("rowOffsets at 0x", () -> SparseFfnKernels.relu2TopTwo(l, A, false, B + 2, 2, 128, 64, C, D, E, F, G));
        assertRejected("nibbles at 0x", () -> SparseFfnKernels.activationGradient(l, A, false, B, 2, 128, 64, E, F + 4, H, D));
        assertRejected("overlaps", () -> SparseFfnKernels.relu2TopTwo(l, A, false, B, 2, 128, 64, C, C + 4096, E, F, G));
        assertEquals(List.of(), l.launches);
    }

    @Test
    void routerAndRowKernelsRejectBadShapes() {
        assertRejected("experts dividing neurons", () -> SparseFfnKernels.expertCentres(l, A, B, 100, 64, 3));
        assertRejected("multiple of 4", () -> SparseFfnKernels.routerScores(l, A, B, C, 10, 66, 2));
        assertRejected("multiple of 4", () -> SparseFfnKernels.gatherRows(l, A, B, C, 10, 66));
        assertRejected("perm at 0x", () -> SparseFfnKernels.scatterRows(l, A, B, C + 2, 10, 64));
        assertRejected("multiple of 64", () -> SparseFfnKernels.unpackPacked(l, A, B, 100, 64));
        assertRejected("multiple of 64", () -> SparseFfnKernels.packedBytes(32, 64));
        assertEquals(List.of(), l.launches);
    }

    // ---- partials ------------------------------------------------------------------------------------

    @Test
    void partialsCountsFollowTheGridAndReductionsAddWhatBlocksWrote() {
        assertEquals(2 * 8192, SparseFfnKernels.weightPartialsCount(8192, 16384), "bounded grid");
        assertEquals(2 * 6, SparseFfnKernels.weightPartialsCount(128, 288), "a block per 64x128 tile, the last of a band narrower");
        assertEquals(4 * 6, SparseFfnKernels.activationPartialsCount(192, 320), "a block per 64x256 tile, the last of a band narrower");

        float[] weight = new float[SparseFfnKernels.weightPartialsCount(128, 288) + 2];
        for (int i = 0; i < weight.length; i++) weight[i] = i + 1;
        // Pairs (1,2), (3,4), ... (11,12); the two trailing floats are beyond the grid and ignored.
        assertEquals(new WeightStats(36, 42), SparseFfnKernels.weightStats(weight, 128, 288));
        assertRejected("needs the 12 partials", () -> SparseFfnKernels.weightStats(new float[11], 128, 288));

        float[] activation = new float[SparseFfnKernels.activationPartialsCount(192, 320)];
        for (int b = 0; b < activation.length / 4; b++) {
            activation[4 * b] = Float.intBitsToFloat(0xF000_0000);  // a count above Integer.MAX_VALUE: read as unsigned
            activation[4 * b + 1] = Float.intBitsToFloat(b);
            activation[4 * b + 2] = 0.5f;
            activation[4 * b + 3] = 0.25f;
        }
        assertEquals(new ActivationStats(6 * 0xF000_0000L, 15, 3, 1.5), SparseFfnKernels.activationStats(activation, 192, 320));
        assertRejected("needs the 24 partials", () -> SparseFfnKernels.activationStats(new float[23], 192, 320));
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private static void assertRejected(String messagePart, Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(messagePart), "message should mention '" + messagePart + "': " + e.getMessage());
    }

    /**
     * A tile kernel's grid: one block per tile of 64 rows x tileCols columns (the last of a band
     * narrower), at most 8192 (then grid-stride), blocks of 256 threads.
     */
    private static void assertTiles(RecordingLauncher.Launch launch, int rows, int cols, int tileCols) {
        long tiles = (long) (rows / 64) * Math.ceilDiv(cols, tileCols);
        assertEquals(Math.min(tiles, 8192), launch.gridX(), "tiles of " + rows + "x" + cols + ": " + launch);
        assertEquals(256, launch.blockX(), "the thread map needs exactly 256 threads: " + launch);
    }

    private static void assertLaunch(RecordingLauncher.Launch launch, String kernel, Map<String, Object> expected) {
        assertEquals(kernel, launch.kernel());
        var declared = DECLARED.get(kernel);
        assertTrue(declared != null, "no source declares " + kernel);
        var args = new HashMap<String, Object>();
        assertEquals(declared.params().size(), launch.args().size(), kernel + " parameters " + declared.params() + " vs " + launch.args());
        for (int i = 0; i < declared.params().size(); i++) {
            var param = declared.params().get(i);
            Object arg = launch.args().get(i);
            assertEquals(param.javaType(), arg.getClass(), kernel + " parameter " + i + " '" + param.type() + " " + param.name() + "'");
            args.put(param.name(), arg);
        }
        assertEquals(expected, args, kernel + " arguments by parameter name");
        assertTrue(launch.gridX() >= 1 && launch.gridY() >= 1 && launch.gridY() <= 65535 && launch.gridZ() == 1, "grid: " + launch);
        int threads = launch.blockX() * launch.blockY();
        assertTrue(threads % 32 == 0 && threads <= declared.maxThreads(), "whole warps within the launch bound " + declared.maxThreads() + ": " + launch);
        assertEquals(0, launch.sharedBytes(), "the sparse kernels use static shared memory only: " + launch);
    }
}
