package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.DeviceRanges.requireDistinct;

import dev.sparsetrain.cuda.DeviceRanges.Range;
import dev.sparsetrain.tensor.SparseKernels.ActivationStats;
import dev.sparsetrain.tensor.SparseKernels.WeightStats;
import java.util.List;

/**
 * The host side of the sparse FFN's own kernels ({@code kernels/sparse_weights.cu},
 * {@code sparse_activations.cu}, {@code sparse_router.cu}; SPEC §3): S-STE weight prune + pack,
 * relu² → top-2-of-4 → pack after GEMM 1, the activation gradient after GEMM 3, the router's centres
 * and scores, and the gather/scatter of token rows. The sparse GEMMs themselves are cuSPARSELt's.
 *
 * <p>Like {@link ConvertKernels} these work on raw device pointers: the buffers are the CUDA
 * {@code SparseKernels}' own packed forms, not tensors. Each method checks its sizes, the alignment
 * of every pointer (16 bytes for data, 4 for int arrays: the kernels use vector loads and stores; a
 * cuMemAlloc is 256-byte aligned) and that its outputs do not overlap its inputs, picks the launch
 * shape and queues the launch; nothing synchronises. Device int arrays (perm, row offsets) cannot be
 * checked here and must be valid.
 *
 * <p><b>Packed buffer</b> ({@link #packedBytes}): cuSPARSELt 0.8's sm_90 compressed 2:4 left operand
 * of an m×k bf16 row-major matrix, exactly {@link dev.sparsetrain.sparse.CusparseLtLayout}: m·k/2
 * bf16 values (each group's two kept values in column order), then m·k/8 metadata bytes. m % 64 == 0,
 * k % 32 == 0. A group always gets the pair its selection rule keeps, even where the kept values are
 * zero (e.g. a weight group (2,2,2,0) keeps columns 1 and 2, both zero after the threshold), so
 * nibbles can differ from cuSPARSELt's compress (which writes 0xE for all-zero groups) but products
 * are identical.
 *
 * <p><b>Routed rows</b>: P = rowOffsets[E] rows grouped by expert, expert e owning
 * [rowOffsets[e], rowOffsets[e+1]) (offsets multiples of 64, empty experts allowed), f neurons per
 * expert. Per-expert buffers: expert e's packed P_e×f buffer starts {@code rowOffsets[e]·f·9/8}
 * bytes into a packed-activations allocation of {@code P·f·9/8} bytes. GEMM outputs z and dA are
 * bf16, row-major [P, f], or <i>expert-major</i>: expert e's block row-major [f, P_e] at element
 * offset rowOffsets[e]·f.
 *
 * <p><b>Partials.</b> The tile kernels run a bounded grid; each block writes its own partial sums,
 * so the stats need no atomics and come out the same every run. Download
 * {@link #weightPartialsCount} / {@link #activationPartialsCount} floats and reduce them with
 * {@link #weightStats} / {@link #activationStats} (double).
 */
public final class SparseFfnKernels {
    /** The kernel sources this class launches, resources under {@code /kernels/}. */
    public static final List<String> SOURCES = List.of("sparse_activations.cu", "sparse_router.cu", "sparse_weights.cu");

    /** Rows and columns of one metadata block of the packed layout (mirrors SPARSE_TILE_ROWS and SPARSE_METADATA_COLS). */
    static final int TILE_ROWS = 64, TILE_COLS = 32;
    /**
     * Columns of a tile of the activation kernels (64 rows × 256 bf16) and of the prune (64 rows × 128
     * fp32): 16 bytes of source per lane along a row (mirror SPARSE_ACTIVATION_TILE_COLS and
     * SPARSE_WEIGHT_TILE_COLS). The last tile of a row may be narrower, down to 32 columns.
     */
    static final int ACTIVATION_TILE_COLS = 256, WEIGHT_TILE_COLS = 128;
    /** Mirrors SPARSE_TILE_THREADS: one block per tile at a time. */
    static final int TILE_THREADS = 256;
    /**
     * The tile kernels' grid stops growing here (about 20 waves of an H200 at 3 blocks per SM, so the
     * hardware's block scheduler balances the tiles); it bounds their partials to 8192 blocks' worth.
     */
    static final int MAX_TILE_BLOCKS = 8192;
    /** Floats of partials per tile-kernel block: Σ|W|, Σ|S(W)| for weights; four words for activations. */
    static final int WEIGHT_PARTIALS = 2, ACTIVATION_PARTIALS = 4;
    /** Mirrors SPARSE_UNPACK_THREADS and SPARSE_ROWS_THREADS. */
    static final int UNPACK_THREADS = 256, ROWS_THREADS = 256;
    /** Mirrors SPARSE_CENTRES_THREADS and CENTRES_COLUMNS (columns per centres block). */
    static final int CENTRES_THREADS = 1024, CENTRES_COLUMNS = 32;
    /** Mirrors SPARSE_SCORES_THREADS and SCORES_TOKENS (tokens per scores block). */
    static final int SCORES_THREADS = 256, SCORES_TOKENS = 32;
    /** Grid-stride kernels over rows or groups stop growing the grid here. */
    private static final int MAX_BLOCKS = 8192;
    private static final int MAX_GRID_YZ = 65535;
    private static final long DATA_ALIGNMENT = 16, INT_ALIGNMENT = 4;

    private SparseFfnKernels() {}

    // ---- packed layout ------------------------------------------------------------------------------

    /** Bytes of one packed m×k buffer: m·k/2 bf16 values and m·k/8 metadata bytes. */
    public static long packedBytes(int m, int k) {
        requirePackedShape("packedBytes", m, k);
        return (long) m * k / 8 * 9;
    }

    // ---- weights ------------------------------------------------------------------------------------

    /** Floats of {@link #pruneWeight}'s partials for an effective [rows, cols] weight: 2 per block. */
    public static int weightPartialsCount(int rows, int cols) {
        return WEIGHT_PARTIALS * tileBlocks(rows, cols, WEIGHT_TILE_COLS);
    }

    /**
     * Queues the S-STE prune and pack of one weight (SPEC §3.1): the effective E [rows, cols] =
     * β·S(W), groups of 4 along cols, soft-thresholded exactly as {@code SoftThreshold}, scaled by β
     * and rounded to bf16 (nearest even). W is fp32 [rows, cols] row-major, or with {@code transposed}
     * fp32 [cols, rows] row-major and E = β·S(Wᵀ) (W2 [d,F] packs as W2ᵀ [F,d] grouped along d).
     *
     * @param packed           E's row blocks of {@code blockRows} rows, each a packed blockRows×cols
     *                         buffer ({@link #packedBytes}) at {@code packed + b·blockStrideBytes}
     * @param blockStrideBytes ≥ packedBytes(blockRows, cols), a multiple of 16
     * @param blockRows        rows per block (one neuron expert); a multiple of 64 dividing rows
     * @param denseBf16        E as bf16 [rows, cols] row-major, zeros where pruned (2·rows·cols bytes)
     * @param partials         {@link #weightPartialsCount} floats for {@link #weightStats}
     * @param w                the latent fp32 weight (4·rows·cols bytes)
     */
    public static void pruneWeight(KernelLauncher l, long packed, long blockStrideBytes, int blockRows, long denseBf16, long partials,
                                   long w, boolean transposed, int rows, int cols, float beta) {
        String op = "pruneWeight";
        requirePackedShape(op, blockRows, cols);
        if (rows <= 0 || rows % blockRows != 0) {
            throw new IllegalArgumentException(op + ": rows (" + rows + ") must be a positive multiple of blockRows (" + blockRows + ")");
        }
        long blockBytes = packedBytes(blockRows, cols);
        if (blockStrideBytes < blockBytes || blockStrideBytes % DATA_ALIGNMENT != 0) {
            throw new IllegalArgumentException(op + ": blockStrideBytes " + blockStrideBytes + " must be a multiple of " + DATA_ALIGNMENT
                    + " of at least " + blockBytes + " (one packed " + blockRows + "x" + cols + " block)");
        }
        if (!Float.isFinite(beta)) throw new IllegalArgumentException(op + ": beta must be finite, got " + beta);
        long elements = (long) rows * cols;
        var packedRange = new Range("packed", packed, (long) (rows / blockRows - 1) * blockStrideBytes + blockBytes, DATA_ALIGNMENT);
        var denseRange = new Range("denseBf16", denseBf16, 2 * elements, DATA_ALIGNMENT);
        var partialsRange = new Range("partials", partials, 4L * weightPartialsCount(rows, cols), DATA_ALIGNMENT);
        var wRange = new Range("w", w, 4 * elements, DATA_ALIGNMENT);
        requireDistinct(op, packedRange, denseRange, partialsRange, wRange);
        l.launch(transposed ? "sparse_prune_weight_transposed" : "sparse_prune_weight_rows", tileBlocks(rows, cols, WEIGHT_TILE_COLS), 1, 1,
                TILE_THREADS, 1, 0, packed, blockStrideBytes, blockRows, denseBf16, partials, w, rows, cols, beta);
    }

    /** Σ|W| and Σ|S(W)| (scale 1) from the downloaded partials of {@link #pruneWeight} for [rows, cols]. */
    public static WeightStats weightStats(float[] partials, int rows, int cols) {
        int n = weightPartialsCount(rows, cols);
        requireLength("weightStats", partials, n);
        double abs = 0, pruned = 0;
        for (int i = 0; i < n; i += WEIGHT_PARTIALS) {
            abs += partials[i];
            pruned += partials[i + 1];
        }
        return new WeightStats(abs, pruned);
    }

    // ---- activations --------------------------------------------------------------------------------

    /** Floats of {@link #relu2TopTwo}'s stats partials for P = rowsTotal routed rows of f neurons: 4 per block. */
    public static int activationPartialsCount(int rowsTotal, int f) {
        return rowsTotal == 0 ? 0 : ACTIVATION_PARTIALS * tileBlocks(rowsTotal, f, ACTIVATION_TILE_COLS);
    }

    /**
     * Queues relu² → top-2-of-4 → pack (SPEC §3.3) over P = rowsTotal routed rows: per row and group
     * of 4 neurons, a = relu(z)², the two largest kept (ties to the higher index, exactly
     * {@code ActivationTopK}, so a group with at most one positive value keeps its highest-index
     * zeros). Nothing is launched for P = 0.
     *
     * @param z           bf16 GEMM-1 output, [P, f] or expert-major (2·P·f bytes)
     * @param rowOffsets  device int [experts + 1], rowOffsets[experts] == rowsTotal
     * @param packedA     P·f·9/8 bytes: expert e's packed P_e×f buffer of A at rowOffsets[e]·f·9/8
     * @param denseA      bf16 [P, f]: A on the kept pattern, zeros elsewhere (2·P·f bytes)
     * @param keptRelu    bf16 [P, f/2]: relu(z) of each group's two kept entries in column order (P·f bytes)
     * @param nibbles     uint8 [P, f/4]: each group's kept pair i0 | i1 &lt;&lt; 2 (P·f/4 bytes)
     * @param statsPartials {@link #activationPartialsCount} floats for {@link #activationStats}
     */
    public static void relu2TopTwo(KernelLauncher l, long z, boolean zExpertMajor, long rowOffsets, int experts, int rowsTotal, int f,
                                   long packedA, long denseA, long keptRelu, long nibbles, long statsPartials) {
        String op = "relu2TopTwo";
        requireRouted(op, experts, rowsTotal, f);
        if (rowsTotal == 0) return;
        long elements = (long) rowsTotal * f;
        requireDistinct(op, new Range("packedA", packedA, elements / 8 * 9, DATA_ALIGNMENT),
                new Range("denseA", denseA, 2 * elements, DATA_ALIGNMENT),
                new Range("keptRelu", keptRelu, elements, DATA_ALIGNMENT),
                new Range("nibbles", nibbles, elements / 4, DATA_ALIGNMENT),
                new Range("statsPartials", statsPartials, 4L * activationPartialsCount(rowsTotal, f), DATA_ALIGNMENT),
                new Range("z", z, 2 * elements, DATA_ALIGNMENT),
                new Range("rowOffsets", rowOffsets, 4L * (experts + 1), INT_ALIGNMENT));
        l.launch(zExpertMajor ? "sparse_relu2_top_two_expert_major" : "sparse_relu2_top_two_rows", tileBlocks(rowsTotal, f, ACTIVATION_TILE_COLS),
                1, 1, TILE_THREADS, 1, 0, packedA, denseA, keptRelu, nibbles, statsPartials, z, rowOffsets, experts, rowsTotal, f);
    }

    /**
     * The {@link ActivationStats} from the downloaded partials of {@link #relu2TopTwo}: per block, the
     * positive and kept counts as uint32 bit patterns in the float words 0 and 1 (read them raw), and
     * Σrelu² and Σ kept relu² as floats in words 2 and 3.
     */
    public static ActivationStats activationStats(float[] partials, int rowsTotal, int f) {
        int n = activationPartialsCount(rowsTotal, f);
        requireLength("activationStats", partials, n);
        long positive = 0, kept = 0;
        double mass = 0, keptMass = 0;
        for (int i = 0; i < n; i += ACTIVATION_PARTIALS) {
            positive += Integer.toUnsignedLong(Float.floatToRawIntBits(partials[i]));
            kept += Integer.toUnsignedLong(Float.floatToRawIntBits(partials[i + 1]));
            mass += partials[i + 2];
            keptMass += partials[i + 3];
        }
        return new ActivationStats(positive, kept, mass, keptMass);
    }

    /**
     * Queues the activation backward after GEMM 3: on A's pattern ({@code nibbles}), dZ = dA ⊙ 2·relu(z)
     * (relu(z) from {@code keptRelu}), rounded once to bf16. Writes packedDz (per-expert packed
     * buffers laid out as packedA, with A's metadata) and denseDz bf16 [P, f] (zeros off the
     * pattern). dA is bf16 laid out like z in {@link #relu2TopTwo}; keptRelu and nibbles are what
     * relu2TopTwo wrote (every nibble an ordered pair of distinct indices). Nothing is launched for P = 0.
     */
    public static void activationGradient(KernelLauncher l, long dA, boolean dAExpertMajor, long rowOffsets, int experts, int rowsTotal,
                                          int f, long keptRelu, long nibbles, long packedDz, long denseDz) {
        String op = "activationGradient";
        requireRouted(op, experts, rowsTotal, f);
        if (rowsTotal == 0) return;
        long elements = (long) rowsTotal * f;
        requireDistinct(op, new Range("packedDz", packedDz, elements / 8 * 9, DATA_ALIGNMENT),
                new Range("denseDz", denseDz, 2 * elements, DATA_ALIGNMENT),
                new Range("dA", dA, 2 * elements, DATA_ALIGNMENT),
                new Range("keptRelu", keptRelu, elements, DATA_ALIGNMENT),
                new Range("nibbles", nibbles, elements / 4, DATA_ALIGNMENT),
                new Range("rowOffsets", rowOffsets, 4L * (experts + 1), INT_ALIGNMENT));
        l.launch(dAExpertMajor ? "sparse_activation_gradient_expert_major" : "sparse_activation_gradient_rows",
                tileBlocks(rowsTotal, f, ACTIVATION_TILE_COLS), 1, 1, TILE_THREADS, 1, 0, packedDz, denseDz, dA, keptRelu, nibbles, rowOffsets,
                experts, rowsTotal, f);
    }

    // ---- routing ------------------------------------------------------------------------------------

    /**
     * Queues dst[r,:] = bf16(src[perm[r],:]) for r &lt; rows, zeros where perm[r] &lt; 0 (padding).
     * dst bf16 [rows, cols], src fp32 [T, cols] with every perm[r] &lt; T, perm device int [rows];
     * cols % 4 == 0.
     */
    public static void gatherRows(KernelLauncher l, long dstBf16, long srcF32, long perm, int rows, int cols) {
        String op = "gatherRows";
        requireRows(op, rows, cols);
        if (rows == 0) return;
        // src's extent depends on the tokens perm names; only its alignment and distinctness from dst at row 0 are checked.
        requireDistinct(op, new Range("dstBf16", dstBf16, 2L * rows * cols, DATA_ALIGNMENT), new Range("perm", perm, 4L * rows, INT_ALIGNMENT),
                new Range("srcF32", srcF32, 4L * cols, DATA_ALIGNMENT));
        l.launch("sparse_gather_rows", Math.min(rows, MAX_BLOCKS), 1, 1, rowThreads(cols / 4), 1, 0, dstBf16, srcF32, perm, rows, cols);
    }

    /**
     * Queues dst[perm[r],:] = float(src[r,:]) for every r &lt; rows with perm[r] ≥ 0; other rows of
     * dst are left as they are. dst fp32 [T, cols], src bf16 [rows, cols], perm device int [rows]
     * naming each token at most once; cols % 4 == 0.
     */
    public static void scatterRows(KernelLauncher l, long dstF32, long srcBf16, long perm, int rows, int cols) {
        String op = "scatterRows";
        requireRows(op, rows, cols);
        if (rows == 0) return;
        requireDistinct(op, new Range("srcBf16", srcBf16, 2L * rows * cols, DATA_ALIGNMENT), new Range("perm", perm, 4L * rows, INT_ALIGNMENT),
                new Range("dstF32", dstF32, 4L * cols, DATA_ALIGNMENT));
        l.launch("sparse_scatter_rows", Math.min(rows, MAX_BLOCKS), 1, 1, rowThreads(cols / 4), 1, 0, dstF32, srcBf16, perm, rows, cols);
    }

    /**
     * Queues centres[e,:] = mean of w1 rows [e·F/E, (e+1)·F/E) (SPEC §3.2), accumulated in double:
     * centres fp32 [experts, dim], w1 fp32 [neurons, dim].
     */
    public static void expertCentres(KernelLauncher l, long centres, long w1, int neurons, int dim, int experts) {
        String op = "expertCentres";
        if (neurons <= 0 || dim <= 0 || experts <= 0 || neurons % experts != 0) {
            throw new IllegalArgumentException(op + ": need positive neurons, dim and experts with experts dividing neurons; got neurons="
                    + neurons + ", dim=" + dim + ", experts=" + experts);
        }
        if (experts > MAX_GRID_YZ) throw new IllegalArgumentException(op + ": at most " + MAX_GRID_YZ + " experts, got " + experts);
        requireDistinct(op, new Range("centres", centres, 4L * experts * dim, DATA_ALIGNMENT),
                new Range("w1", w1, 4L * neurons * dim, DATA_ALIGNMENT));
        l.launch("sparse_expert_centres", Math.ceilDiv(dim, CENTRES_COLUMNS), experts, 1, CENTRES_THREADS, 1, 0,
                centres, w1, neurons, dim, experts);
    }

    /**
     * Queues scores[t,e] = −2·x_t·c_e + ‖c_e‖² (double accumulation, rounded to float), scores fp32
     * [tokens, experts], x fp32 [tokens, dim], centres fp32 [experts, dim]; dim % 4 == 0.
     */
    public static void routerScores(KernelLauncher l, long scores, long x, long centres, int tokens, int dim, int experts) {
        String op = "routerScores";
        if (tokens < 0 || dim <= 0 || dim % 4 != 0 || experts <= 0) {
            throw new IllegalArgumentException(op + ": need tokens >= 0, a positive dim that is a multiple of 4 (float4 loads) and"
                    + " experts > 0; got tokens=" + tokens + ", dim=" + dim + ", experts=" + experts);
        }
        if (tokens == 0) return;
        requireDistinct(op, new Range("scores", scores, 4L * tokens * experts, DATA_ALIGNMENT),
                new Range("x", x, 4L * tokens * dim, DATA_ALIGNMENT), new Range("centres", centres, 4L * experts * dim, DATA_ALIGNMENT));
        // The narrowest pass that covers every expert: the accumulators of unused experts would cost double FMAs.
        String kernel = experts <= 2 ? "sparse_router_scores_e2" : experts <= 4 ? "sparse_router_scores_e4" : "sparse_router_scores_e8";
        l.launch(kernel, Math.ceilDiv(tokens, SCORES_TOKENS), 1, 1, SCORES_THREADS, 1, 0, scores, x, centres, tokens, dim, experts);
    }

    // ---- inspection ---------------------------------------------------------------------------------

    /**
     * Queues dense fp32 [m, k] = the meaning of one packed m×k buffer (zeros off the kept pairs); a
     * group whose nibble is not an ordered pair of distinct indices comes out as four NaNs.
     */
    public static void unpackPacked(KernelLauncher l, long dense, long packed, int m, int k) {
        String op = "unpackPacked";
        requirePackedShape(op, m, k);
        requireDistinct(op, new Range("dense", dense, 4L * m * k, DATA_ALIGNMENT), new Range("packed", packed, packedBytes(m, k), DATA_ALIGNMENT));
        long groups = (long) m * k / 4;
        l.launch("sparse_unpack_packed", (int) Math.min(MAX_BLOCKS, Math.ceilDiv(groups, UNPACK_THREADS)), 1, 1, UNPACK_THREADS, 1, 0,
                dense, packed, m, k);
    }

    // ---- launch shapes and checks -------------------------------------------------------------------

    /**
     * Blocks of a tile kernel over [rows, cols] with tiles {@code tileCols} wide: one per tile (64 rows ×
     * tileCols columns, the last of a row narrower), at most MAX_TILE_BLOCKS (then grid-stride).
     */
    static int tileBlocks(int rows, int cols, int tileCols) {
        requirePackedShape("tile kernels", rows, cols);
        return (int) Math.min(MAX_TILE_BLOCKS, (long) (rows / TILE_ROWS) * Math.ceilDiv(cols, tileCols));
    }

    /** Threads for a block that walks a row of {@code width} items: whole warps, at most ROWS_THREADS. */
    private static int rowThreads(int width) {
        return (int) Math.clamp(Math.ceilDiv(width, 32) * 32L, 32, ROWS_THREADS);
    }

    private static void requirePackedShape(String op, int m, int k) {
        if (m <= 0 || m % TILE_ROWS != 0 || k <= 0 || k % TILE_COLS != 0) {
            throw new IllegalArgumentException(op + ": a packed 2:4 matrix needs rows a positive multiple of " + TILE_ROWS + " and columns a"
                    + " positive multiple of " + TILE_COLS + " (cuSPARSELt's 64x32 metadata blocks); got " + m + "x" + k);
        }
    }

    private static void requireRouted(String op, int experts, int rowsTotal, int f) {
        if (experts <= 0 || rowsTotal < 0 || rowsTotal % TILE_ROWS != 0 || f <= 0 || f % TILE_COLS != 0) {
            throw new IllegalArgumentException(op + ": need experts > 0, rowsTotal a multiple of " + TILE_ROWS + " (experts are padded to it)"
                    + " and f a positive multiple of " + TILE_COLS + "; got experts=" + experts + ", rowsTotal=" + rowsTotal + ", f=" + f);
        }
    }

    private static void requireRows(String op, int rows, int cols) {
        if (rows < 0 || cols <= 0 || cols % 4 != 0) {
            throw new IllegalArgumentException(op + ": need rows >= 0 and cols a positive multiple of 4 (4-column vector loads); got rows="
                    + rows + ", cols=" + cols);
        }
    }

    private static void requireLength(String op, float[] partials, int n) {
        if (partials == null || partials.length < n) {
            throw new IllegalArgumentException(op + ": needs the " + n + " partials the kernel wrote, got "
                    + (partials == null ? "none" : partials.length));
        }
    }

    /** A device buffer an op reads or writes: its name, address, extent in bytes and required alignment. */
}
