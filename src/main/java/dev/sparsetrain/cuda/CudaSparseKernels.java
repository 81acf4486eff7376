package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.CudaStorage.ptr;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.SparseKernels;
import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The sparse FFN of SPEC.md §3 on one GPU: our kernels ({@link SparseFfnKernels}) prune and pack the
 * weights, gather and scatter the routed tokens and turn GEMM 1's output into packed 2:4
 * activations; cuSPARSELt ({@link SparseMatmul}) runs the four GEMMs with a 2:4 left operand, one
 * call per expert; cuBLASLt ({@link DenseMatmul#runBf16}) the two dense weight-gradient GEMMs.
 *
 * <p>GEMMs 1 and 3 take the expert's weight block [f, d] as the sparse operand and the routed
 * tokens as B = X_eᵀ, read column-major straight from the row-major gathered [P, d] rows, and write
 * D column-major, i.e. Z_e (or dA_e) row-major [P_e, f]: the layout the activation kernels read.
 * GEMMs 2 and 4 take the packed activations (or dZ) [P_e, f] as the sparse operand and the dense
 * effective weight block [f, d] as B, writing [P_e, d] rows that are scattered back to token order.
 * Every operand is bf16 with fp32 accumulation; the model's tensors stay fp32.
 *
 * <p>Each expert's routed rows are padded to a multiple of {@link #ROUTED_ROW_BUCKET}: a multiple of
 * the packed layout's 64-row block, so every per-expert GEMM meets cuSPARSELt's shape rules, and
 * coarse enough that the `nearest` router's per-step expert loads map to few distinct GEMM shapes,
 * each of which costs a cuSPARSELt plan, algorithm search and check the first time it occurs (the
 * padding rows are zeros: ~{@value #ROUTED_ROW_BUCKET}/2 rows of extra work per expert on average).
 * MVUE is not implemented on the GPU.
 *
 * <p>With {@code libraryCompress} (the start-up layout check failed), our kernels still prune and
 * select, and their dense bf16 outputs are then compressed by cuSPARSELt itself, per expert block,
 * into the library's own offsets: correct on any library version, but milliseconds per operand.
 */
final class CudaSparseKernels implements SparseKernels, AutoCloseable {
    /** Rows of one metadata block of the packed layout: each expert's routed rows must be a multiple. */
    static final int ROW_ALIGNMENT = 64;
    /** What the router pads each expert's rows to (a multiple of {@link #ROW_ALIGNMENT}; see the class comment). */
    static final int ROUTED_ROW_BUCKET = 256;
    /** Columns of one metadata block: d and f must be multiples. */
    static final int COL_ALIGNMENT = 32;

    private final CudaMemory memory;
    private final KernelLauncher launcher;
    private final SparseMatmul sparse;
    private final DenseMatmul dense;
    private final CudaBackend backend;
    private final boolean libraryCompress;
    /** Scratch shared by all layers: GEMM 1 / GEMM 3 outputs [P, f], gathered dY [P, d], GEMM 2 / GEMM 4 outputs [P, d]. */
    private final DeviceScratch preActivations, gatheredGradient, routedOutput;
    /** The device router's workspace and its counts-and-offsets output [2E+1]. */
    private final DeviceScratch routeWorkspace;
    private Tensor routeCounts;
    /** The (f, d, capacity) combinations whose GEMM plans {@link #prepareGemms} has built. */
    private final Set<List<Integer>> prepared = new HashSet<>();

    /** {@code backend} does the host transfers; the other parts are its own. */
    CudaSparseKernels(CudaBackend backend, CudaContext context, CudaMemory memory, KernelLauncher launcher, SparseMatmul sparse,
                      DenseMatmul dense, boolean libraryCompress) {
        this.backend = backend;
        this.libraryCompress = libraryCompress;
        this.memory = memory;
        this.launcher = launcher;
        this.sparse = sparse;
        this.dense = dense;
        this.preActivations = new DeviceScratch(context, "sparse FFN pre-activation scratch");
        this.gatheredGradient = new DeviceScratch(context, "sparse FFN gathered dY scratch");
        this.routedOutput = new DeviceScratch(context, "sparse FFN routed output scratch");
        this.routeWorkspace = new DeviceScratch(context, "sparse FFN router workspace");
    }

    @Override
    public int rowAlignment() { return ROUTED_ROW_BUCKET; }

    /** The cuSPARSELt runner these kernels use (for benchmarks). */
    SparseMatmul sparseMatmul() { return sparse; }

    /** The cuBLASLt runner these kernels use (for benchmarks). */
    DenseMatmul denseMatmul() { return dense; }

    // ---- allocation --------------------------------------------------------------------------------

    @Override
    public PackedWeight allocateWeight(int rows, int cols, int experts) {
        writes();
        if (experts <= 0 || rows % experts != 0) {
            throw new IllegalArgumentException("a packed weight of " + rows + " rows cannot be split into " + experts + " equal expert blocks");
        }
        int blockRows = rows / experts;
        requireMultiple(blockRows, ROW_ALIGNMENT, "neurons per expert (model.ffn_hidden / (sparsity.m / 4))");
        requireMultiple(cols, COL_ALIGNMENT, "model.dim");
        // Blocks start on 256-byte boundaries: cuSPARSELt wants aligned operands.
        long stride = Math.ceilDiv(sparse.compressedBytes(blockRows, cols), 256) * 256;
        Tensor packed = memory.allocate(DType.BF16, Math.ceilDiv(stride * experts, 2));
        Tensor denseForm = memory.allocate(DType.BF16, rows, cols);
        Tensor partials = memory.allocate(DType.F32, SparseFfnKernels.weightPartialsCount(rows, cols));
        return new CudaPackedWeight(rows, cols, experts, stride, packed, denseForm, partials);
    }

    @Override
    public PackedActivations allocateActivations(int capacityRows, int neurons, int experts) {
        writes();
        if (experts <= 0 || neurons % experts != 0) {
            throw new IllegalArgumentException(neurons + " neurons cannot be split into " + experts + " equal experts");
        }
        requireMultiple(neurons / experts, ROW_ALIGNMENT, "neurons per expert (model.ffn_hidden / (sparsity.m / 4))");
        int capacity = Math.ceilDiv(capacityRows, ROW_ALIGNMENT) * ROW_ALIGNMENT;
        long cells = (long) capacity * (neurons / experts);
        // The library's blocks start on 256-byte boundaries at its own offsets, after our kernel's writes.
        long packedBytes = libraryCompress
                ? 2 * CudaPackedActivations.packedBytes(cells) + 256L * experts : CudaPackedActivations.packedBytes(cells);
        return new CudaPackedActivations(memory, backend::downloadInts, capacity, neurons, experts, packedBytes,
                SparseFfnKernels.activationPartialsCount(capacity, neurons / experts));
    }

    private static void requireMultiple(int value, int of, String what) {
        if (value % of != 0) {
            throw new IllegalArgumentException("the CUDA sparse FFN needs " + what + " to be a multiple of " + of + " (the packed 2:4 layout's"
                    + " blocks), got " + value + "; choose model.dim, model.ffn_hidden and sparsity.m accordingly or train on the cpu backend");
        }
    }

    // ---- weights -----------------------------------------------------------------------------------

    @Override
    public void pruneWeight(PackedWeight out, Tensor w, boolean transposed, float beta) {
        writes();
        CudaPackedWeight p = CudaPackedWeight.of(out);
        requireF32(w, (long) p.rows() * p.cols(), "pruneWeight w");
        SparseFfnKernels.pruneWeight(launcher, ptr(p.packed()), p.blockStrideBytes(), p.blockRows(), ptr(p.dense()), ptr(p.partials()),
                ptr(w), transposed, p.rows(), p.cols(), beta);
        if (libraryCompress) {
            for (int e = 0; e < p.experts(); e++) sparse.compressWithLibrary(p.block(e), p.denseBlock(e), p.blockRows(), p.cols());
        }
    }

    @Override
    public WeightStats weightStats(PackedWeight w) {
        CudaPackedWeight p = CudaPackedWeight.of(w);
        return SparseFfnKernels.weightStats(backend.toHost(p.partials()), p.rows(), p.cols());
    }

    @Override
    public void unpackWeight(Tensor denseOut, PackedWeight w) {
        writes();
        CudaPackedWeight p = CudaPackedWeight.of(w);
        requireF32(denseOut, (long) p.rows() * p.cols(), "unpackWeight dense");
        ConvertKernels.toF32(launcher, ptr(denseOut), ptr(p.dense()), (long) p.rows() * p.cols());
    }

    // ---- router ------------------------------------------------------------------------------------

    @Override
    public void expertCentres(Tensor centres, Tensor w1, int experts) {
        writes();
        int neurons = (int) w1.dim(0), dim = (int) w1.dim(1);
        requireF32(centres, (long) experts * dim, "expertCentres centres");
        SparseFfnKernels.expertCentres(launcher, ptr(centres), ptr(w1), neurons, dim, experts);
    }

    @Override
    public void routerScores(Tensor scores, Tensor x, Tensor centres) {
        writes();
        int tokens = (int) x.dim(0), dim = (int) x.dim(1), experts = (int) centres.dim(0);
        requireF32(scores, (long) tokens * experts, "routerScores scores");
        SparseFfnKernels.routerScores(launcher, ptr(scores), ptr(x), ptr(centres), tokens, dim, experts);
    }

    @Override
    public boolean routesNearestOnDevice() { return true; }

    /** {@link RoutingKernels#nearest}, then one download of the counts and offsets (the routing's only synchronisation). */
    @Override
    public int[] routeNearest(Tensor perm, Tensor scores, int blockRows) {
        writes();
        int tokens = (int) scores.dim(0), experts = (int) scores.dim(1);
        requireF32(scores, (long) tokens * experts, "routeNearest scores");
        if (perm.dtype() != DType.I32 || perm.numel() < RoutingKernels.permCapacity(tokens, experts, blockRows)) {
            throw new IllegalArgumentException("routeNearest perm must be an I32 tensor of at least "
                    + RoutingKernels.permCapacity(tokens, experts, blockRows) + " rows, got " + perm);
        }
        if (routeCounts == null || routeCounts.numel() < 2L * experts + 1) {
            if (routeCounts != null) ((CudaStorage) routeCounts.storage()).close();
            routeCounts = memory.allocate(DType.I32, 2L * experts + 1);
        }
        RoutingKernels.nearest(launcher, ptr(perm), ptr(routeCounts), routeWorkspace.atLeast(RoutingKernels.workspaceBytes(tokens, experts)),
                ptr(scores), tokens, experts, blockRows);
        int[] countsAndOffsets = backend.downloadInts(routeCounts.view(0, 2L * experts + 1));
        return Arrays.copyOf(countsAndOffsets, experts);
    }

    // ---- forward -------------------------------------------------------------------------------------

    @Override
    public void upProject(PackedActivations act, Tensor x, Tensor perm, int[] rowOffsets, PackedWeight w1) {
        writes();
        CudaPackedActivations a = CudaPackedActivations.of(act);
        CudaPackedWeight w = CudaPackedWeight.of(w1);
        int d = (int) x.dim(1), f = a.f;
        checkRouting(a, rowOffsets, perm);
        if (w.rows() != a.neurons || w.cols() != d || w.experts() != a.experts) {
            throw new IllegalArgumentException("upProject: weight " + w.rows() + "x" + w.cols() + " in " + w.experts() + " experts does not match "
                    + a.neurons + " neurons in " + a.experts + " experts of width " + d);
        }
        prepareGemms(f, d, a.capacityRows);
        a.rowOffsets = rowOffsets.clone();
        a.perm = perm;
        int rows = a.rows();
        uploadOffsets(a);
        a.packedOffsets = packedOffsets(a);
        if (a.gatheredX == null || a.gatheredX.dim(1) != d) a.gatheredX = memory.allocate(DType.BF16, a.capacityRows, d);
        SparseFfnKernels.gatherRows(launcher, ptr(a.gatheredX), ptr(x), ptr(perm), rows, d);
        long z = preActivations.atLeast((long) a.capacityRows * f * 2);
        weightTimesRouted(z, w, a, ptr(a.gatheredX)); // GEMM 1: Z_e = X_e·W1e_eᵀ
        SparseFfnKernels.relu2TopTwo(launcher, z, false, ptr(a.rowOffsetsOnDevice), a.experts, rows, f, ptr(a.packedA), ptr(a.denseA),
                ptr(a.keptRelu), ptr(a.nibbles), ptr(a.partials));
        if (libraryCompress) compressRows(a, a.packedA, a.denseA);
    }

    /**
     * Builds, once per (f, d, capacity), the cuSPARSELt plans of every expert row count the router
     * can produce (multiples of {@link #ROUTED_ROW_BUCKET} up to the capacity) for both GEMM forms:
     * a plan's first use costs an algorithm search (and, first in its family, a check against
     * cuBLASLt), tens to hundreds of milliseconds, which would otherwise land in whichever training
     * steps first meet each expert load. At the 1b shapes this takes seconds, once, when the sparse
     * phase starts.
     */
    private void prepareGemms(int f, int d, int capacity) {
        if (!prepared.add(List.of(f, d, capacity))) return;
        for (int rows = ROUTED_ROW_BUCKET; rows <= capacity; rows += ROUTED_ROW_BUCKET) {
            // GEMMs 1 and 3: Zᵀ [f, rows] = W [f, d] · (routed rows [rows, d])ᵀ, D column-major.
            sparse.prepare(true, true, d, f, rows, d);
            // GEMMs 2 and 4: [rows, d] = A or dZ [rows, f] · W block [f, d].
            sparse.prepare(false, false, d, rows, d, f);
        }
    }

    /**
     * Byte offsets of the experts' packed blocks: where our kernels write them (off_e·f·9/8), or with
     * {@code libraryCompress} where the library's blocks go, each on a 256-byte boundary.
     */
    private long[] packedOffsets(CudaPackedActivations a) {
        long[] offsets = new long[a.experts];
        long next = 0;
        for (int e = 0; e < a.experts; e++) {
            if (!libraryCompress) {
                offsets[e] = CudaPackedActivations.packedBytes((long) a.rowOffsets[e] * a.f);
                continue;
            }
            offsets[e] = next;
            int pe = a.expertRows(e);
            if (pe > 0) next += Math.ceilDiv(sparse.compressedBytes(pe, a.f), 256) * 256;
        }
        if (libraryCompress && next > a.packedCapacityBytes) {
            throw new IllegalStateException("cuSPARSELt's compressed blocks need " + next + " bytes, more than the " + a.packedCapacityBytes + " reserved");
        }
        return offsets;
    }

    /** The library's compression of each expert's dense bf16 rows [P_e, f] into its packed block (libraryCompress only). */
    private void compressRows(CudaPackedActivations a, Tensor packed, Tensor denseRows) {
        for (int e = 0; e < a.experts; e++) {
            int pe = a.expertRows(e);
            if (pe > 0) sparse.compressWithLibrary(ptr(packed) + a.packedOffsets[e], rowAddress(denseRows, a.rowOffsets[e], a.f), pe, a.f);
        }
    }

    @Override
    public void downProject(Tensor y, PackedActivations act, PackedWeight w2t) {
        writes();
        CudaPackedActivations a = CudaPackedActivations.of(act);
        a.requireForward();
        sparseTimesWeight(y, a, a.packedA, CudaPackedWeight.of(w2t), "downProject y");
    }

    // ---- backward ------------------------------------------------------------------------------------

    @Override
    public void activationGradient(PackedActivations act, Tensor dY, PackedWeight w2t) {
        writes();
        CudaPackedActivations a = CudaPackedActivations.of(act);
        a.requireForward();
        CudaPackedWeight w = CudaPackedWeight.of(w2t);
        int d = w.cols(), f = a.f, rows = a.rows();
        long dyRows = gatherGradient(a, dY, d);
        long dA = preActivations.atLeast((long) a.capacityRows * f * 2);
        weightTimesRouted(dA, w, a, dyRows); // GEMM 3: dA_e = dY_e·W2e_e, dense; kept only on A's pattern below
        SparseFfnKernels.activationGradient(launcher, dA, false, ptr(a.rowOffsetsOnDevice), a.experts, rows, f, ptr(a.keptRelu),
                ptr(a.nibbles), ptr(a.packedDz), ptr(a.denseDz));
        if (libraryCompress) compressRows(a, a.packedDz, a.denseDz);
    }

    @Override
    public void inputGradient(Tensor dx, PackedActivations act, PackedWeight w1) {
        writes();
        CudaPackedActivations a = CudaPackedActivations.of(act);
        a.requireForward();
        sparseTimesWeight(dx, a, a.packedDz, CudaPackedWeight.of(w1), "inputGradient dx");
    }

    @Override
    public void downWeightGradient(Tensor dW2, Tensor dY, PackedActivations act) {
        writes();
        CudaPackedActivations a = CudaPackedActivations.of(act);
        a.requireForward();
        int d = (int) dY.dim(1), f = a.f;
        requireF32(dW2, (long) d * a.neurons, "downWeightGradient dW2");
        long dyRows = gatherGradient(a, dY, d);
        for (int e = 0; e < a.experts; e++) {
            int pe = a.expertRows(e);
            if (pe == 0) continue;
            // dW2[:, e·f ..] [d, f] (row stride F) += dY_eᵀ [d, P_e] · A_e [P_e, f].
            dense.runBf16(ptr(dW2) + (long) e * f * 4, a.neurons, dyRows + (long) a.rowOffsets[e] * d * 2, d, true,
                    rowAddress(a.denseA, a.rowOffsets[e], f), f, false, d, f, pe, 1f, 1f);
        }
    }

    @Override
    public void upWeightGradient(Tensor dW1, PackedActivations act, Tensor x) {
        writes();
        CudaPackedActivations a = CudaPackedActivations.of(act);
        a.requireForward();
        int d = (int) x.dim(1), f = a.f;
        requireF32(dW1, (long) a.neurons * d, "upWeightGradient dW1");
        for (int e = 0; e < a.experts; e++) {
            int pe = a.expertRows(e);
            if (pe == 0) continue;
            // dW1[e·f .., :] [f, d] += dZ_eᵀ [f, P_e] · X_e [P_e, d], X_e as gathered by upProject.
            dense.runBf16(ptr(dW1) + (long) e * f * d * 4, d, rowAddress(a.denseDz, a.rowOffsets[e], f), f, true,
                    rowAddress(a.gatheredX, a.rowOffsets[e], d), d, false, f, d, pe, 1f, 1f);
        }
    }

    /**
     * GEMMs 2 and 4: routed [P_e, d] = (A or dZ)_e packed [P_e, f] · the weight's dense block [f, d]
     * per expert, into the routed-output scratch, then scattered back to token order into {@code out}.
     */
    private void sparseTimesWeight(Tensor out, CudaPackedActivations a, Tensor packed, CudaPackedWeight w, String what) {
        int d = w.cols();
        requireRows(out, d, what);
        long routed = routedOutput.atLeast((long) a.capacityRows * d * 2);
        for (int e = 0; e < a.experts; e++) {
            int pe = a.expertRows(e);
            if (pe == 0) continue;
            sparse.run(routed + (long) a.rowOffsets[e] * d * 2, false, ptr(packed) + a.packedOffsets[e], w.denseBlock(e), false, d, pe, d,
                    a.f, 1f, 0f);
        }
        SparseFfnKernels.scatterRows(launcher, ptr(out), routed, ptr(a.perm), a.rows(), d);
    }

    /**
     * GEMMs 1 and 3: per expert, the weight's sparse block [f, d] times the expert's routed rows
     * [P_e, d] read as B = rowsᵀ (column-major), written column-major: [P_e, f] row-major into
     * {@code out} (bf16 [P, f], the pre-activation scratch).
     */
    private void weightTimesRouted(long out, CudaPackedWeight w, CudaPackedActivations a, long routedRows) {
        int d = w.cols(), f = a.f;
        for (int e = 0; e < a.experts; e++) {
            int pe = a.expertRows(e);
            if (pe == 0) continue;
            sparse.run(out + (long) a.rowOffsets[e] * f * 2, true, w.block(e), routedRows + (long) a.rowOffsets[e] * d * 2, true, d, f, pe, d,
                    1f, 0f);
        }
    }

    /** dY gathered into expert order as bf16 [P, d]; returns its address. */
    private long gatherGradient(CudaPackedActivations a, Tensor dY, int d) {
        long rows = gatheredGradient.atLeast((long) a.capacityRows * d * 2);
        SparseFfnKernels.gatherRows(launcher, rows, ptr(dY), ptr(a.perm), a.rows(), d);
        return rows;
    }

    // ---- MVUE ----------------------------------------------------------------------------------------

    @Override
    public boolean supportsMvue() { return false; }

    @Override
    public void mvueRowGroups(Tensor out, Tensor dY, PackedActivations act, long seed) {
        throw new UnsupportedOperationException(MVUE_MESSAGE);
    }

    @Override
    public void mvueActivationGradient(PackedActivations act, long seed) {
        throw new UnsupportedOperationException(MVUE_MESSAGE);
    }

    private static final String MVUE_MESSAGE = "sparsity.mvue runs on the cpu backend only; set sparsity.mvue=false to train on cuda";

    // ---- inspection ----------------------------------------------------------------------------------

    @Override
    public ActivationStats activationStats(PackedActivations act) {
        CudaPackedActivations a = CudaPackedActivations.of(act);
        a.requireForward();
        return SparseFfnKernels.activationStats(backend.toHost(a.partials), a.rows(), a.f);
    }

    @Override
    public void unpackActivations(Tensor aOut, Tensor dzOut, PackedActivations act) {
        writes();
        CudaPackedActivations a = CudaPackedActivations.of(act);
        a.requireForward();
        long cells = (long) a.rows() * a.f;
        if (aOut != null) {
            requireF32(aOut, cells, "unpackActivations a");
            ConvertKernels.toF32(launcher, ptr(aOut), ptr(a.denseA), cells);
        }
        if (dzOut != null) {
            requireF32(dzOut, cells, "unpackActivations dz");
            ConvertKernels.toF32(launcher, ptr(dzOut), ptr(a.denseDz), cells);
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------

    /** Called first by every method that writes or allocates device memory: the dense GEMMs' cached bf16 copies may be stale after it. */
    private void writes() {
        dense.forgetConversions();
    }

    private void uploadOffsets(CudaPackedActivations a) {
        int[] offsets = a.rowOffsets;
        if (offsets[a.experts] > a.capacityRows) {
            throw new IllegalArgumentException("routing has " + offsets[a.experts] + " rows, more than the activations' capacity " + a.capacityRows);
        }
        backend.uploadInts(a.rowOffsetsOnDevice, offsets, 0);
    }

    private static void checkRouting(CudaPackedActivations a, int[] rowOffsets, Tensor perm) {
        if (rowOffsets.length != a.experts + 1 || rowOffsets[0] != 0) {
            throw new IllegalArgumentException("row offsets must have E+1 = " + (a.experts + 1) + " entries starting at 0");
        }
        for (int e = 0; e < a.experts; e++) {
            int pe = rowOffsets[e + 1] - rowOffsets[e];
            if (pe < 0 || pe % ROW_ALIGNMENT != 0) {
                throw new IllegalArgumentException("expert " + e + " has " + pe + " routed rows; the CUDA sparse kernels need a multiple of "
                        + ROW_ALIGNMENT + " (pad with SparseKernels.rowAlignment())");
            }
        }
        if (perm.dtype() != DType.I32 || perm.numel() < rowOffsets[a.experts]) {
            throw new IllegalArgumentException("perm must be an I32 tensor of at least " + rowOffsets[a.experts] + " rows, got " + perm);
        }
    }

    private static long rowAddress(Tensor bf16Rows, int row, int cols) {
        return ptr(bf16Rows) + (long) row * cols * 2;
    }

    private static void requireRows(Tensor t, int cols, String what) {
        if (t.dtype() != DType.F32 || t.rank() != 2 || t.dim(1) != cols) {
            throw new IllegalArgumentException(what + " must be an F32 [tokens, " + cols + "] tensor, got " + t);
        }
    }

    private static void requireF32(Tensor t, long elements, String what) {
        if (t.dtype() != DType.F32 || t.numel() < elements) {
            throw new IllegalArgumentException(what + " must be an F32 tensor of at least " + elements + " elements, got " + t);
        }
    }

    @Override
    public void close() {
        preActivations.close();
        gatheredGradient.close();
        routedOutput.close();
        routeWorkspace.close();
    }
}
