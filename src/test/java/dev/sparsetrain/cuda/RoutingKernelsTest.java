package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * {@link RoutingKernels} against sparse_routing.cu, without a GPU: the three launches' arguments
 * match the declared parameter lists by name and type, the grids give a block per tile of tokens
 * within the launch bound, the workspace holds an int per tile and expert, and bad shapes and
 * buffers fail with a message before anything is launched.
 */
class RoutingKernelsTest {
    /** Distinct, 256-byte aligned made-up device addresses, far enough apart for any buffer here. */
    private static final long PERM = 0x7a00_0000_0000L, COUNTS = 0x7b00_0000_0000L, WORK = 0x7c00_0000_0000L, SCORES = 0x7d00_0000_0000L;

    private static final Map<String, KernelSignatures.Kernel> DECLARED = RoutingKernels.SOURCES.stream()
            .flatMap(s -> KernelSignatures.parse(s, KernelSignatures.text(s)).stream())
            .collect(Collectors.toMap(KernelSignatures.Kernel::name, Function.identity()));

    private final RecordingLauncher l = new RecordingLauncher();

    @Test
    void nearestLaunchesCountOffsetsAndScatterWithABlockPerTile() {
        // tokens, experts, blockRows, tiles of 4096 tokens
        int[][] cases = {{1, 1, 1, 1}, {4096, 8, 256, 1}, {4097, 8, 256, 2}, {300_000, 8, 256, 74}, {1000, 32, 64, 1}};
        for (int[] c : cases) {
            l.launches.clear();
            int tokens = c[0], experts = c[1], blockRows = c[2], tiles = c[3];
            RoutingKernels.nearest(l, PERM, COUNTS, WORK, SCORES, tokens, experts, blockRows);
            assertEquals(3, l.launches.size(), "three launches: " + l.launches);
            var count = l.launches.get(0);
            assertLaunch(count, "sparse_route_count", Map.of("tileRows", WORK, "scores", SCORES, "tokens", tokens, "experts", experts));
            assertEquals(tiles, count.gridX(), "a block per tile of 4096 tokens: " + count);
            var offsets = l.launches.get(1);
            assertLaunch(offsets, "sparse_route_offsets", Map.of("perm", PERM, "countsAndOffsets", COUNTS, "tileRows", WORK, "tiles", tiles,
                    "experts", experts, "blockRows", blockRows));
            assertEquals(1, offsets.gridX(), "one block scans the tiles: " + offsets);
            var scatter = l.launches.get(2);
            assertLaunch(scatter, "sparse_route_scatter", Map.of("perm", PERM, "scores", SCORES, "tileRows", WORK, "tokens", tokens,
                    "experts", experts));
            assertEquals(tiles, scatter.gridX(), "the same tiles as the count: " + scatter);
            for (var launch : l.launches) {
                // The kernels index warps and lanes by expert and rounds by ROUTE_THREADS: exactly the launch bound.
                assertEquals(RoutingKernels.THREADS, launch.blockX(), "every kernel needs exactly ROUTE_THREADS threads: " + launch);
                assertEquals(DECLARED.get(launch.kernel()).maxThreads(), launch.blockX(), "block = launch bound: " + launch);
            }
            assertEquals(4L * experts * tiles, RoutingKernels.workspaceBytes(tokens, experts), "an int per tile and expert");
        }
    }

    @Test
    void threadsAndTileMirrorTheSource() {
        String text = KernelSignatures.text("sparse_routing.cu");
        assertTrue(text.contains("constexpr int ROUTE_THREADS = " + RoutingKernels.THREADS + ";"), "ROUTE_THREADS");
        assertTrue(text.contains("constexpr int ROUTE_ROUNDS = " + RoutingKernels.TILE_TOKENS / RoutingKernels.THREADS + ";"), "ROUTE_ROUNDS");
        assertTrue(text.contains("constexpr int ROUTE_MAX_EXPERTS = " + RoutingKernels.MAX_EXPERTS + ";"), "ROUTE_MAX_EXPERTS");
    }

    @Test
    void permCapacityLeavesRoomForEveryExpertsPadding() {
        assertEquals(1000 + 8 * 255, RoutingKernels.permCapacity(1000, 8, 256));
        assertEquals(7, RoutingKernels.permCapacity(7, 8, 1), "blockRows 1 pads nothing");
    }

    @Test
    void everyDeclaredKernelIsLaunchedAndNoNameClashesWithTheOtherSources() {
        RoutingKernels.nearest(l, PERM, COUNTS, WORK, SCORES, 10, 2, 64);
        Set<String> launched = l.launches.stream().map(RecordingLauncher.Launch::kernel).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(DECLARED.keySet()), launched, "RoutingKernels launches exactly the kernels its source declares");
        for (String name : DECLARED.keySet()) assertTrue(name.startsWith("sparse_route_"), name + " must be prefixed sparse_route_");
        // Modules are searched in turn for a kernel name, so a second declaration could shadow one.
        Set<String> others = Stream.of(CudaKernels.SOURCES, ConvertKernels.SOURCES, SparseFfnKernels.SOURCES).flatMap(List::stream)
                .flatMap(s -> KernelSignatures.parse(s, KernelSignatures.text(s)).stream()).map(KernelSignatures.Kernel::name)
                .collect(Collectors.toSet());
        others.retainAll(DECLARED.keySet());
        assertEquals(Set.of(), others, "kernel names declared twice");
    }

    @Test
    void nearestRejectsBadShapesAndBuffers() {
        assertRejected("tokens must be positive", () -> RoutingKernels.nearest(l, PERM, COUNTS, WORK, SCORES, 0, 2, 64));
        assertRejected("experts must be in [1, 32]", () -> RoutingKernels.nearest(l, PERM, COUNTS, WORK, SCORES, 10, 0, 64));
        assertRejected("experts must be in [1, 32]", () -> RoutingKernels.nearest(l, PERM, COUNTS, WORK, SCORES, 10, 33, 64));
        assertRejected("blockRows must be positive", () -> RoutingKernels.nearest(l, PERM, COUNTS, WORK, SCORES, 10, 2, 0));
        assertRejected("do not fit an int", () -> RoutingKernels.nearest(l, PERM, COUNTS, WORK, SCORES, Integer.MAX_VALUE - 100, 2, 256));
        assertRejected("scores is a null device pointer", () -> RoutingKernels.nearest(l, PERM, COUNTS, WORK, 0, 10, 2, 64));
        assertRejected("perm at 0x", () -> RoutingKernels.nearest(l, PERM + 2, COUNTS, WORK, SCORES, 10, 2, 64));
        // perm needs 10 + 2·63 ints = 544 bytes, so a workspace 512 bytes in overlaps it.
        assertRejected("overlaps", () -> RoutingKernels.nearest(l, PERM, COUNTS, PERM + 512, SCORES, 10, 2, 64));
        assertRejected("experts must be in [1, 32]", () -> RoutingKernels.workspaceBytes(10, 40));
        assertRejected("tokens must be positive", () -> RoutingKernels.workspaceBytes(-1, 4));
        assertEquals(List.of(), l.launches);
    }

    private static void assertRejected(String messagePart, Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(messagePart), "message should mention '" + messagePart + "': " + e.getMessage());
    }

    private static void assertLaunch(RecordingLauncher.Launch launch, String kernel, Map<String, Object> expected) {
        assertEquals(kernel, launch.kernel());
        var declared = DECLARED.get(kernel);
        assertTrue(declared != null, "no source declares " + kernel);
        assertEquals(declared.params().size(), launch.args().size(), kernel + " parameters " + declared.params() + " vs " + launch.args());
        var args = new HashMap<String, Object>();
        for (int i = 0; i < declared.params().size(); i++) {
            var param = declared.params().get(i);
            Object arg = launch.args().get(i);
            assertEquals(param.javaType(), arg.getClass(), kernel + " parameter " + i + " '" + param.type() + " " + param.name() + "'");
            args.put(param.name(), arg);
        }
        assertEquals(expected, args, kernel + " arguments by parameter name");
        assertTrue(launch.gridX() >= 1 && launch.gridY() == 1 && launch.gridZ() == 1 && launch.blockY() == 1, "a 1-D launch: " + launch);
        assertEquals(0, launch.sharedBytes(), "static shared memory only: " + launch);
    }
}
