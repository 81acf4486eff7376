package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.DeviceRanges.requireDistinct;

import dev.sparsetrain.cuda.DeviceRanges.Range;
import java.util.List;

/**
 * The host side of {@code kernels/sparse_routing.cu}: the {@code nearest} router of SPEC §3.2 on the
 * device, bit-identical to {@code Router.route(scores, tokens, experts, NEAREST, blockRows)}. Each
 * token goes to its lowest-score expert (ties, and NaN scores, resolved exactly as the host's strict
 * {@code <} scan upward), tokens are stable-sorted by expert and every expert's rows are padded to a
 * multiple of {@code blockRows}.
 *
 * <p>Like {@link ConvertKernels} this works on raw device pointers; it checks sizes, alignment and
 * overlaps, picks the launch shapes and queues three launches; nothing synchronises. The caller
 * downloads the {@code 2·experts + 1} ints of {@code countsAndOffsets} once and reads
 * {@code perm}'s first {@code offsets[experts]} rows on the device.
 */
public final class RoutingKernels {
    /** The kernel sources this class launches, resources under {@code /kernels/}. */
    public static final List<String> SOURCES = List.of("sparse_routing.cu");

    /** Mirrors ROUTE_THREADS of sparse_routing.cu (its launch bound; every kernel's block). */
    static final int THREADS = 1024;
    /** Mirrors ROUTE_TILE: the tokens of one block of the count and scatter kernels. */
    static final int TILE_TOKENS = 4096;
    /** Mirrors ROUTE_MAX_EXPERTS: lane e of a warp counts expert e. */
    public static final int MAX_EXPERTS = 32;
    private static final long INT_ALIGNMENT = 4;

    private RoutingKernels() {}

    /** Bytes of the scratch {@link #nearest} needs for {@code tokens} tokens and {@code experts} experts: an int per tile and expert. */
    public static long workspaceBytes(int tokens, int experts) {
        requireShape("workspaceBytes", tokens, experts);
        return 4L * experts * tiles(tokens);
    }

    /**
     * Queues the routing of {@code tokens} tokens by their scores (lower is closer).
     *
     * @param perm             device int [≥ tokens + experts·(blockRows − 1)]: row → token, −1 for a
     *                         padding row; rows [0, offsets[experts]) are written, the rest untouched
     * @param countsAndOffsets device int [2·experts + 1]: counts[experts] (tokens per expert), then
     *                         offsets[experts + 1] (expert e's first row; offsets[experts] = padded rows)
     * @param workspace        {@link #workspaceBytes} bytes of device scratch, 4-byte aligned
     * @param scores           device fp32 [tokens, experts] row-major
     * @param blockRows        every expert's rows are padded to a multiple of it (V)
     */
    public static void nearest(KernelLauncher l, long perm, long countsAndOffsets, long workspace, long scores, int tokens, int experts,
                               int blockRows) {
        String op = "nearest routing";
        requireShape(op, tokens, experts);
        if (blockRows <= 0) throw new IllegalArgumentException(op + ": blockRows must be positive, got " + blockRows);
        long rows = permCapacity(tokens, experts, blockRows);
        if (rows > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": tokens + experts * (blockRows - 1) = " + rows + " padded rows do not fit an int"
                    + " row index; route fewer tokens at a time");
        }
        // Every buffer holds 32-bit words.
        requireDistinct(op, new Range("perm", perm, 4 * rows, 4), new Range("countsAndOffsets", countsAndOffsets, 4L * (2 * experts + 1), 4),
                new Range("workspace", workspace, workspaceBytes(tokens, experts), 4), new Range("scores", scores, 4L * tokens * experts, 4));
        int tiles = tiles(tokens);
        l.launch("sparse_route_count", tiles, 1, 1, THREADS, 1, 0, workspace, scores, tokens, experts);
        l.launch("sparse_route_offsets", 1, 1, 1, THREADS, 1, 0, perm, countsAndOffsets, workspace, tiles, experts, blockRows);
        l.launch("sparse_route_scatter", tiles, 1, 1, THREADS, 1, 0, perm, scores, workspace, tokens, experts);
    }

    /** The most rows {@link #nearest} can write: every expert may need blockRows − 1 padding rows. */
    public static long permCapacity(int tokens, int experts, int blockRows) {
        return tokens + (long) experts * (blockRows - 1);
    }

    private static int tiles(int tokens) {
        return Math.ceilDiv(tokens, TILE_TOKENS);
    }

    private static void requireShape(String op, int tokens, int experts) {
        if (tokens <= 0) throw new IllegalArgumentException(op + ": tokens must be positive, got " + tokens);
        if (experts <= 0 || experts > MAX_EXPERTS) {
            throw new IllegalArgumentException(op + ": experts must be in [1, " + MAX_EXPERTS + "] (a warp's lane per expert), got " + experts);
        }
    }

    /** A device int or float buffer an op reads or writes: its name, address and extent in bytes. */
}
