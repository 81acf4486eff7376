package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * GEMMs through cuBLASLt, row-major as {@code Backend.matmul} defines them (by the operand swap of
 * {@link ColumnMajorGemm}), on fp32 tensors. Compute type CUBLAS_COMPUTE_32F (never TF32) with fp32
 * scale, C and D in both precisions; what differs is the type of A and B:
 * <ul>
 *   <li>{@link GemmPrecision#FP32}: A and B are read as fp32, so results match the CPU backend within
 *       fp32 rounding.
 *   <li>{@link GemmPrecision#BF16}: A and B are first rounded to bfloat16 (nearest, ties to even) by
 *       {@link ConvertKernels} into {@link Bf16Conversions}' slots, which also reuse a copy while its
 *       source cannot have changed, and the GEMM runs on tensor cores with fp32 accumulation. The
 *       slots grow to the largest operand seen and are then reused, so a training step that repeats
 *       its shapes allocates nothing. Being fresh allocations they are 256-byte aligned, which also
 *       frees the heuristic to pick the fastest kernels.
 * </ul>
 * {@link #runBf16} takes operands that already are bfloat16, whatever the precision (the sparse
 * FFN's weight-gradient GEMMs, the reference of {@link SparseMatmul}'s algorithm check), with
 * leading dimensions, and reads them directly without a conversion pass.
 *
 * <p>A plan (descriptor, layouts, the heuristic's algorithm) is built once per shape, transposes,
 * leading dimensions, operand type and pointer alignments, and reused: a training step repeats the same few shapes, and the hot path then
 * allocates nothing. Alignments are part of the key because the heuristic may only pick kernels
 * whose alignment needs the pointers meet, and tensor views into the flat parameter buffer start at
 * any float.
 */
final class DenseMatmul implements AutoCloseable {
    /** cuBLASLt's recommended workspace on Hopper; smaller GPUs simply use less of it. */
    static final long WORKSPACE_BYTES = 32L << 20;

    private record PlanKey(int m, int n, int k, boolean transA, boolean transB, int lda, int ldb, int ldc, int operandType,
                           int resultType, int alignA, int alignB, int alignC) {}

    private record Plan(long desc, long firstLayout, long secondLayout, long resultLayout, MemorySegment algo, long workspaceBytes) {}

    private final CublasLt lt;
    private final CudaContext context;
    private final GemmPrecision precision;
    private final Bf16Conversions conversions;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment alpha = arena.allocate(JAVA_FLOAT);
    private final MemorySegment beta = arena.allocate(JAVA_FLOAT);
    private final Map<PlanKey, Plan> plans = new HashMap<>();
    private final long handle;
    private final long workspace;

    /** {@code launcher} runs the bf16 conversions (unused in fp32). */
    DenseMatmul(CublasLt lt, CudaContext context, GemmPrecision precision, KernelLauncher launcher) {
        this.lt = lt;
        this.context = context;
        this.precision = precision;
        this.conversions = new Bf16Conversions(context, launcher);
        this.handle = lt.createHandle();
        Driver.Allocation ws = context.driver.memAlloc(WORKSPACE_BYTES);
        if (ws.code() != 0) {
            lt.destroyHandle(handle);
            arena.close();
            context.driver.check(ws.code(), "cuMemAlloc_v2(cuBLASLt workspace of " + WORKSPACE_BYTES + " bytes)");
        }
        this.workspace = ws.pointer();
    }

    /** C = alpha·op(A)·op(B) + beta·C on device pointers, row-major, m, n, k all positive. */
    void run(long c, long a, boolean transA, long b, boolean transB, int m, int n, int k, float alphaValue, float betaValue) {
        if (precision == GemmPrecision.BF16) {
            // Queued on the same stream as the GEMM, so the GEMM reads the converted values, and the
            // next conversion overwrites them only after this GEMM has run.
            long a16 = conversions.of(a, (long) m * k, 0);
            long b16 = conversions.of(b, (long) k * n, a16);
            // C is about to change: a copy of anything it overlaps would be stale.
            conversions.forgetOverlapping(c, (long) m * n * 4);
            a = a16;
            b = b16;
        }
        int operandType = precision == GemmPrecision.BF16 ? CublasLt.CUDA_R_16BF : CublasLt.CUDA_R_32F;
        String hint = precision == GemmPrecision.BF16 ? "; " + GemmPrecision.VARIABLE + "=fp32 selects the fp32 GEMMs" : "";
        execute(new PlanKey(m, n, k, transA, transB, transA ? m : k, transB ? k : n, n, operandType, CublasLt.CUDA_R_32F, alignment(a),
                alignment(b), alignment(c)), c, a, b, alphaValue, betaValue, hint);
    }

    /** Drops every cached bf16 copy of an operand: the backend calls this before any op that may write device memory. */
    void forgetConversions() { conversions.forgetAll(); }

    /**
     * C (fp32, row-major, leading dimension ldc) = alpha·op(A)·op(B) + beta·C, A and B bf16 row-major
     * with leading dimensions lda/ldb as stored (op = transpose when transA/transB: A is stored [m,k],
     * or [k,m] when transA; B [k,n], or [n,k] when transB), no conversion pass. Tensor cores with fp32
     * accumulation, whatever this backend's {@link GemmPrecision}.
     */
    void runBf16(long c, int ldc, long a, int lda, boolean transA, long b, int ldb, boolean transB,
                 int m, int n, int k, float alphaValue, float betaValue) {
        conversions.forgetOverlapping(c, ((long) (m - 1) * ldc + n) * 4);
        execute(new PlanKey(m, n, k, transA, transB, lda, ldb, ldc, CublasLt.CUDA_R_16BF, CublasLt.CUDA_R_32F, alignment(a), alignment(b),
                alignment(c)), c, a, b, alphaValue, betaValue, "");
    }

    /** {@link #runBf16} with a bf16 C: the dense side of the sparse-vs-dense GEMM benchmark, bytes for bytes. */
    void runBf16ToBf16(long c, int ldc, long a, int lda, boolean transA, long b, int ldb, boolean transB,
                       int m, int n, int k, float alphaValue, float betaValue) {
        conversions.forgetOverlapping(c, ((long) (m - 1) * ldc + n) * 2);
        execute(new PlanKey(m, n, k, transA, transB, lda, ldb, ldc, CublasLt.CUDA_R_16BF, CublasLt.CUDA_R_16BF, alignment(a), alignment(b),
                alignment(c)), c, a, b, alphaValue, betaValue, "");
    }

    /** Runs one GEMM through the plan of {@code key}, building it on first use; {@code hint} ends a "no algorithm" message. */
    private void execute(PlanKey key, long c, long a, long b, float alphaValue, float betaValue, String hint) {
        Plan plan = plans.get(key);
        if (plan == null) {
            plan = plan(key, hint);
            plans.put(key, plan);
        }
        alpha.set(JAVA_FLOAT, 0, alphaValue);
        beta.set(JAVA_FLOAT, 0, betaValue);
        // The library's first operand is our B and its second our A (see ColumnMajorGemm); D = C in place.
        int status = lt.matmul(handle, plan.desc(), alpha, b, plan.firstLayout(), a, plan.secondLayout(), beta,
                c, plan.resultLayout(), c, plan.resultLayout(), plan.algo(), workspace, plan.workspaceBytes(), context.stream());
        if (status != 0) throw lt.failure(status, "cublasLtMatmul(" + shape(key) + ")");
    }

    private Plan plan(PlanKey key, String hint) {
        ColumnMajorGemm g = ColumnMajorGemm.of(key.m(), key.n(), key.k(), key.transA(), key.transB(), key.lda(), key.ldb(), key.ldc());
        long desc = lt.createMatmulDesc(CublasLt.CUBLAS_COMPUTE_32F, CublasLt.CUDA_R_32F);
        long first = 0, second = 0, result = 0;
        try {
            lt.setMatmulDescInt(desc, CublasLt.MATMUL_DESC_TRANSA, g.first().transposed() ? CublasLt.CUBLAS_OP_T : CublasLt.CUBLAS_OP_N);
            lt.setMatmulDescInt(desc, CublasLt.MATMUL_DESC_TRANSB, g.second().transposed() ? CublasLt.CUBLAS_OP_T : CublasLt.CUBLAS_OP_N);
            first = lt.createLayout(key.operandType(), g.first().rows(), g.first().cols(), g.first().ld());
            second = lt.createLayout(key.operandType(), g.second().rows(), g.second().cols(), g.second().ld());
            result = lt.createLayout(key.resultType(), g.rows(), g.cols(), g.ldResult());
            MemorySegment algo = arena.allocate(CublasLt.ALGO_BYTES, 8);
            long workspaceBytes = chooseAlgorithm(key, desc, first, second, result, algo, hint);
            return new Plan(desc, first, second, result, algo, workspaceBytes);
        } catch (RuntimeException e) {
            for (long layout : new long[] {first, second, result}) if (layout != 0) lt.destroyLayout(layout);
            lt.destroyMatmulDesc(desc);
            throw e;
        }
    }

    /** Runs the heuristic for one plan, copies its best algorithm into {@code algo} and returns the workspace it needs. */
    private long chooseAlgorithm(PlanKey key, long desc, long first, long second, long result, MemorySegment algo, String hint) {
        long pref = lt.createPreference();
        try (Arena scratch = Arena.ofConfined()) {
            lt.setPreferenceLong(pref, CublasLt.PREF_MAX_WORKSPACE_BYTES, WORKSPACE_BYTES);
            // The library's A is our B and its B our A.
            lt.setPreferenceInt(pref, CublasLt.PREF_MIN_ALIGNMENT_A_BYTES, key.alignB());
            lt.setPreferenceInt(pref, CublasLt.PREF_MIN_ALIGNMENT_B_BYTES, key.alignA());
            lt.setPreferenceInt(pref, CublasLt.PREF_MIN_ALIGNMENT_C_BYTES, key.alignC());
            lt.setPreferenceInt(pref, CublasLt.PREF_MIN_ALIGNMENT_D_BYTES, key.alignC());
            MemorySegment results = scratch.allocate(CublasLt.HEURISTIC_RESULT_BYTES, 8);
            int found = lt.heuristic(handle, desc, first, second, result, result, pref, results);
            String shape = shape(key) + " (pointer alignments A " + key.alignA() + ", B " + key.alignB() + ", C " + key.alignC() + " bytes)";
            String operands = key.operandType() == CublasLt.CUDA_R_16BF ? "bf16" : "fp32";
            if (found == 0) throw new CudaException("cuBLASLt has no " + operands + " algorithm for " + shape + hint);
            int state = results.get(JAVA_INT, CublasLt.HEURISTIC_STATE_OFFSET);
            if (state != 0) throw lt.failure(state, "cublasLtMatmulAlgoGetHeuristic for " + shape);
            algo.copyFrom(results.asSlice(0, CublasLt.ALGO_BYTES));
            return results.get(JAVA_LONG, CublasLt.HEURISTIC_WORKSPACE_OFFSET);
        } finally {
            lt.destroyPreference(pref);
        }
    }

    private static String shape(PlanKey key) {
        return "m=" + key.m() + ", n=" + key.n() + ", k=" + key.k() + ", transA=" + key.transA() + ", transB=" + key.transB()
                + ", lda=" + key.lda() + ", ldb=" + key.ldb() + ", ldc=" + key.ldc();
    }

    /** The largest power of two, at most 256, that divides {@code address}: what a kernel may assume of the pointer. */
    static int alignment(long address) {
        if (address == 0) return 256;
        return (int) Math.min(256, Long.lowestOneBit(address));
    }

    @Override
    public void close() {
        try {
            for (Plan p : plans.values()) {
                lt.destroyLayout(p.firstLayout());
                lt.destroyLayout(p.secondLayout());
                lt.destroyLayout(p.resultLayout());
                lt.destroyMatmulDesc(p.desc());
            }
            plans.clear();
            lt.destroyHandle(handle);
        } finally {
            try {
                conversions.close();
            } finally {
                context.driver.memFree(workspace);
                arena.close();
            }
        }
    }
}
