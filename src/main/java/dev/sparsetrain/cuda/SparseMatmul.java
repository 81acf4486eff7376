package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * GEMMs whose left operand is 2:4 sparse, on sparse tensor cores through cuSPARSELt:
 * D = alpha·A·B + beta·D with bf16 A, B and D and fp32 accumulation. A is m×k, row-major, pruned
 * 2:4 along k and already compressed in the library's buffer layout (sparse.CusparseLtLayout,
 * which our kernels write and {@link SparseLayoutCheck} verifies); B and D are dense, each in
 * either order ({@link SparseMatmulForm} says how each layout is described to the library).
 *
 * <p>A plan (descriptors, matmul descriptor, algorithm selection, plan, workspace size) is built
 * once per shape, orders and B stride, and reused, so the hot path allocates nothing. On first use
 * of a key:
 * <ol>
 *   <li>{@code cusparseLtMatmulSearch} times the library's algorithms on scratch operands of the
 *       plan's shape (it writes its C/D, so never the caller's) and keeps the fastest. The
 *       environment variable {@value #SEARCH_VARIABLE}{@code =0} skips the search and keeps
 *       algorithm 0, the library's default.
 *   <li>The chosen algorithm is checked against a cuBLASLt GEMM of the same random operands
 *       ({@link SparseAlgorithmCheck}): max|Δ| / max|reference| must be at most {@value #TOLERANCE}.
 *       A searched algorithm that fails gives way to algorithm 0, which is checked in turn; when
 *       that fails too (or the library rejects the layout), the next description of the layout is
 *       tried, and without one that passes {@link #run} throws a {@link CudaException} naming the
 *       shape.
 * </ol>
 * <b>Families.</b> The sparse FFN's per-expert GEMMs change n (an expert's routed rows) from step
 * to step. The check's random operands are made on the host and cost hundreds of milliseconds at
 * training shapes, so it runs once per family: the same k, orders and B stride with m and n in the
 * same {@value #FAMILY_ROWS}-row bands. Every other n of a family gets a plan of its own on the layout
 * description the family's first shape settled on, and its own search (on zeroed scratch operands:
 * the timings do not depend on the values; tens of milliseconds on the GPU), because an algorithm id
 * is only meaningful for the shape it was found for.
 *
 * <p>Every call is queued on the backend's one stream; all plans share one workspace that grows.
 * The opaque structs live in this object's arena, which outlives every plan. Use from one thread
 * at a time, with the context current (as every CudaBackend entry point makes it).
 */
final class SparseMatmul implements AutoCloseable {
    /** {@code 0} (or false/off) keeps cuSPARSELt's default algorithm instead of searching; unset or {@code 1} searches. */
    static final String SEARCH_VARIABLE = "SPARSETRAIN_SPMMA_SEARCH";
    /** Largest accepted max|D − reference| / max|reference| of a checked algorithm: bf16 output rounding is ~0.4%. */
    static final double TOLERANCE = 1e-2;
    /** Pointer alignment declared in every descriptor, and so required of every operand. */
    static final int ALIGNMENT_BYTES = 16;
    /** n of the plans that only compress: the compressed layout depends on A alone. */
    private static final int COMPRESSION_N = 128;
    private static final long CHECK_SEED = 0x2_4_5EEDL;
    /** Width of the n bands within which shapes share one searched and checked algorithm. */
    static final int FAMILY_ROWS = 1024;

    /**
     * The shapes that share a checked layout description: a {@link PlanKey} with m and n reduced to
     * their bands (the sparse FFN varies n in GEMMs 1 and 3, where the tokens are B's columns, and m
     * in GEMMs 2 and 4, where they are the sparse operand's rows).
     */
    record FamilyKey(int mBand, int nBand, int k, boolean bColMajor, int ldb, boolean dColMajor) {
        static FamilyKey of(PlanKey key) {
            return new FamilyKey((key.m() - 1) / FAMILY_ROWS, (key.n() - 1) / FAMILY_ROWS, key.k(), key.bColMajor(), key.ldb(), key.dColMajor());
        }
    }

    /** What a family's first shape settled on. */
    private record FamilyChoice(SparseMatmulForm.Description description, int configId, String from) {}

    /**
     * What a plan is built and cached for.
     *
     * @param ldb B's stride: its row length in elements when row-major (at least n), its column
     *            length when column-major (at least k)
     */
    record PlanKey(int m, int n, int k, boolean bColMajor, int ldb, boolean dColMajor) {
        String describe() {
            return "m=" + m + " n=" + n + " k=" + k + ", B " + (bColMajor ? "column" : "row") + "-major ld " + ldb
                    + ", D " + (dColMajor ? "column" : "row") + "-major";
        }
    }

    private final CusparseLt lt;
    private final CudaContext context;
    private final DenseMatmul dense;
    private final boolean search;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle = CusparseLt.newStruct(arena);
    private final MemorySegment alpha = arena.allocate(JAVA_FLOAT);
    private final MemorySegment beta = arena.allocate(JAVA_FLOAT);
    /** cusparseLtMatmul takes an array of streams: ours, alone. */
    private final MemorySegment streams = arena.allocate(JAVA_LONG);
    private final Map<PlanKey, Plan> plans = new LinkedHashMap<>();
    private final Map<PlanKey, Plan> compressionPlans = new LinkedHashMap<>();
    private final Map<FamilyKey, FamilyChoice> families = new LinkedHashMap<>();
    private final DeviceScratch workspace, compressBuffer;
    /** Operands of the searches of a family's later shapes. */
    private final DeviceScratch searchA, searchB, searchD;
    private final int version;
    private boolean closed;

    /** A sparse GEMM runner that searches algorithms unless {@value #SEARCH_VARIABLE} says otherwise. */
    SparseMatmul(CusparseLt lt, CudaContext context, DenseMatmul dense) {
        this(lt, context, dense, searchEnabled(System.getenv()));
    }

    /** {@code dense} computes the references the algorithms are checked against. */
    SparseMatmul(CusparseLt lt, CudaContext context, DenseMatmul dense, boolean search) {
        this.lt = lt;
        this.context = context;
        this.dense = dense;
        this.search = search;
        this.workspace = new DeviceScratch(context, "cuSPARSELt workspace");
        this.compressBuffer = new DeviceScratch(context, "cuSPARSELt compression buffer");
        this.searchA = new DeviceScratch(context, "cuSPARSELt search operand A");
        this.searchB = new DeviceScratch(context, "cuSPARSELt search operand B");
        this.searchD = new DeviceScratch(context, "cuSPARSELt search operand D");
        streams.set(JAVA_LONG, 0, context.stream());
        context.makeCurrent();
        try {
            lt.init(handle);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        try {
            this.version = lt.version(handle);
        } catch (RuntimeException e) {
            lt.destroy(handle);
            arena.close();
            throw e;
        }
    }

    /** Whether {@code env} asks for the algorithm search: unset, blank, 1, true or on do; 0, false or off do not. */
    static boolean searchEnabled(Map<String, String> env) {
        String value = env.get(SEARCH_VARIABLE);
        if (value == null || value.isBlank()) return true;
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "1", "true", "on" -> true;
            case "0", "false", "off" -> false;
            default -> throw new IllegalArgumentException("environment variable " + SEARCH_VARIABLE + " is '" + value
                    + "'; use 1 to search cuSPARSELt's algorithms once per shape (default) or 0 to keep its default algorithm");
        };
    }

    /**
     * Whether (m, n, k) meets the sparse path's shape rules: m a multiple of 64 and k of 32 (the
     * 64×32 metadata blocks our packer writes), n a multiple of 8 (16-byte rows of a row-major D or
     * B; a column-major D or B has rows of m or k, already multiples of 8). Callers send other
     * shapes to cuBLASLt.
     */
    static boolean supports(int m, int n, int k) {
        return m > 0 && n > 0 && k > 0 && m % 64 == 0 && k % 32 == 0 && n % 8 == 0;
    }

    /** cuSPARSELt's version, major·1000 + minor·100 + patch. */
    int version() { return version; }

    String location() { return lt.location(); }

    /** Bytes of the compressed m×k bf16 2:4 left operand, as the library sizes it (cusparseLtSpMMACompressedSize). */
    long compressedBytes(int m, int k) {
        return compressedBytes(m, k, false, false);
    }

    /** {@link #compressedBytes(int, int)} through a plan with the given B and D orders. */
    long compressedBytes(int m, int k, boolean bColMajor, boolean dColMajor) {
        context.makeCurrent();
        return lt.compressedSize(handle, compressionPlan(m, k, bColMajor, dColMajor).plan).compressedBytes();
    }

    /**
     * Queues the library's compression of the dense row-major m×k bf16 {@code denseA}, already
     * pruned 2:4 along k, into {@code dst} ({@link #compressedBytes} bytes): the fallback for when
     * {@link SparseLayoutCheck} finds that our packer's layout is not the library's. Slow (1–7 ms
     * on an H200 at training shapes), so not for every step when the packer works.
     */
    void compressWithLibrary(long dst, long denseA, int m, int k) {
        compressWithLibrary(dst, denseA, m, k, false, false);
    }

    /** {@link #compressWithLibrary(long, long, int, int)} through a plan with the given B and D orders. */
    void compressWithLibrary(long dst, long denseA, int m, int k, boolean bColMajor, boolean dColMajor) {
        checkAligned("compressed A", dst);
        checkAligned("dense A", denseA);
        context.makeCurrent();
        Plan p = compressionPlan(m, k, bColMajor, dColMajor);
        long buffer = compressBuffer.atLeast(lt.compressedSize(handle, p.plan).bufferBytes());
        lt.compress(handle, p.plan, denseA, dst, buffer, context.stream());
    }

    /**
     * D = alpha·A·B + beta·D on device pointers, bf16 everywhere, fp32 accumulation (CUSPARSE_COMPUTE_32F).
     * A: m×k, 2:4 along k, row-major, non-transposed, already compressed in the library's buffer.
     * B: k×n dense bf16; bColMajor=false: row-major with leading dimension ldb (>= n); true: column-major, ldb >= k.
     * D: m×n dense bf16; dColMajor=false: row-major, ld n; true: column-major, ld m.
     * Every pointer 16-byte aligned; the shape must pass {@link #supports} and ldb be a multiple of 8.
     */
    void run(long d, boolean dColMajor, long aCompressed, long b, boolean bColMajor, int ldb, int m, int n, int k,
             float alphaValue, float betaValue) {
        checkAligned("D", d);
        checkAligned("compressed A", aCompressed);
        checkAligned("B", b);
        PlanKey key = new PlanKey(m, n, k, bColMajor, ldb, dColMajor);
        Plan p = plan(key);
        long ws = workspace.atLeast(p.workspaceBytes);
        alpha.set(JAVA_FLOAT, 0, alphaValue);
        beta.set(JAVA_FLOAT, 0, betaValue);
        int status = lt.matmul(handle, p.plan, alpha, aCompressed, b, beta, d, d, ws, streams, 1);
        if (status != 0) throw lt.failure(status, "cusparseLtMatmul(" + key.describe() + ")");
    }

    /**
     * Builds, searches and checks the plan of a {@link #run} with these shape, orders and stride now
     * rather than on its first use: the check allocates operands of the full shape for a moment
     * (for m×n×k = 16384×16384×4096 about 1.8 GB), which is easier to find before training fills
     * the device. Waits for the device.
     */
    void prepare(boolean dColMajor, boolean bColMajor, int ldb, int m, int n, int k) {
        plan(new PlanKey(m, n, k, bColMajor, ldb, dColMajor));
    }

    /** The cached plan of {@code key}, built on first use, after checking the shape and stride. */
    private Plan plan(PlanKey key) {
        Plan p = plans.get(key);
        if (p != null) return p;
        int m = key.m(), n = key.n(), k = key.k(), ldb = key.ldb();
        if (!supports(m, n, k)) {
            throw new IllegalArgumentException("the sparse GEMM needs m % 64 == 0, k % 32 == 0 and n % 8 == 0, got m=" + m + " n=" + n
                    + " k=" + k + "; run this shape through the dense GEMM (cuBLASLt)");
        }
        int minLd = key.bColMajor() ? k : n;
        if (ldb < minLd || ldb % 8 != 0) {
            throw new IllegalArgumentException("ldb=" + ldb + " for a " + (key.bColMajor() ? "column" : "row") + "-major B: it must be at least "
                    + minLd + " and a multiple of 8 (16-byte rows)");
        }
        p = planFor(key);
        plans.put(key, p);
        return p;
    }

    /** One line per cached plan: its key, how it describes the layout and which algorithm it settled on (for logs). */
    List<String> planChoices() {
        List<String> lines = new ArrayList<>();
        plans.forEach((key, p) -> lines.add(key.describe() + ": " + p.form.describe() + "; " + p.choice));
        return lines;
    }

    // ---- plans --------------------------------------------------------------------------------------------

    /**
     * A plan on its family's algorithm when the family has one, else the first description of
     * {@code key}'s layout whose plan builds and whose algorithm passes the check (which then
     * becomes the family's).
     */
    private Plan planFor(PlanKey key) {
        context.makeCurrent();
        FamilyKey familyKey = FamilyKey.of(key);
        FamilyChoice family = families.get(familyKey);
        if (family != null) {
            for (SparseMatmulForm form : SparseMatmulForm.candidates(key.m(), key.n(), key.k(), key.bColMajor(), key.ldb(), key.dColMajor())) {
                if (!form.description().equals(family.description())) continue;
                Plan p = new Plan(key, form);
                try {
                    if (search) searchOnScratch(p);
                } catch (RuntimeException e) {
                    throw destroyAfter(p, e);
                }
                p.choice = (search ? "searched algorithm " : "algorithm ") + p.configId + ", in the family checked at " + family.from()
                        + " (algorithm " + family.configId() + " there)";
                return p;
            }
        }
        Plan chosen = searchedPlanFor(key);
        families.put(familyKey, new FamilyChoice(chosen.form.description(), chosen.configId, key.describe()));
        return chosen;
    }

    /** Runs the algorithm search of {@code p} on zero-filled scratch operands of its shape and keeps its choice. */
    private void searchOnScratch(Plan p) {
        PlanKey key = p.key;
        long aBytes = lt.compressedSize(handle, p.plan).compressedBytes();
        long bBytes = (key.bColMajor() ? (long) key.ldb() * key.n() : (long) key.ldb() * key.k()) * 2;
        long dBytes = (long) key.m() * key.n() * 2;
        long a = zeroed(searchA, aBytes), b = zeroed(searchB, bBytes), d = zeroed(searchD, dBytes);
        alpha.set(JAVA_FLOAT, 0, 1f);
        beta.set(JAVA_FLOAT, 0, 0f);
        lt.search(handle, p.plan, alpha, a, b, beta, d, d, workspace.atLeast(p.workspaceBytes), streams, 1);
        p.readAlgorithm();
    }

    /** {@code bytes} (rounded up to whole words) of a scratch buffer, zero-filled in stream order. */
    private long zeroed(DeviceScratch scratch, long bytes) {
        long pointer = scratch.atLeast(bytes);
        context.driver.memsetD32Async(pointer, 0, (bytes + 3) / 4, context.stream());
        return pointer;
    }

    /** The first description of {@code key}'s layout whose plan builds and whose algorithm passes the check. */
    private Plan searchedPlanFor(PlanKey key) {
        List<String> rejected = new ArrayList<>();
        for (SparseMatmulForm form : SparseMatmulForm.candidates(key.m(), key.n(), key.k(), key.bColMajor(), key.ldb(), key.dColMajor())) {
            Plan p = null;
            try {
                p = new Plan(key, form);
                String problem = chooseAlgorithm(key, p);
                if (problem == null) return p;
                rejected.add(form.describe() + ": " + problem);
            } catch (CusparseLt.Failure f) {
                if (!f.rejectedArguments()) throw destroyAfter(p, f);
                rejected.add(form.describe() + ": " + f.getMessage());
            } catch (RuntimeException e) {
                throw destroyAfter(p, e);
            }
            if (p != null) p.destroy();
        }
        throw new CudaException("cuSPARSELt " + version + " (" + lt.location() + ") has no working sparse GEMM for " + key.describe()
                + ": " + String.join("; ", rejected) + ". Run this shape through the dense GEMM (cuBLASLt).");
    }

    /**
     * Searches (when enabled) and checks the plan's algorithm on random operands of its shape,
     * leaving the plan on the first algorithm that passes; returns null then, or what failed.
     */
    private String chooseAlgorithm(PlanKey key, Plan p) {
        CusparseLt.CompressedSize size = lt.compressedSize(handle, p.plan);
        try (SparseAlgorithmCheck check = SparseAlgorithmCheck.prepare(context, key, CHECK_SEED);
             DeviceScratch compressed = DeviceScratch.sized(context, "compressed A of the cuSPARSELt algorithm check at " + key.describe(),
                     size.compressedBytes())) {
            // The library's own compression: the check is of the algorithm, independent of our packer.
            lt.compress(handle, p.plan, check.denseA(), compressed.pointer(), compressBuffer.atLeast(size.bufferBytes()), context.stream());
            check.computeReference(dense);
            String searched = null;
            if (search) {
                alpha.set(JAVA_FLOAT, 0, 1f);
                beta.set(JAVA_FLOAT, 0, 0f);
                // The search's own workspace is the default algorithm's, as PyTorch's _cslt_sparse_mm_search passes it.
                lt.search(handle, p.plan, alpha, compressed.pointer(), check.b(), beta, check.d(), check.d(),
                        workspace.atLeast(p.workspaceBytes), streams, 1);
                p.readAlgorithm();
                double error = error(key, p, check, compressed.pointer());
                if (error <= TOLERANCE) {
                    p.choice = "searched algorithm " + p.configId + " (relative error " + format(error) + " vs cuBLASLt)";
                    return null;
                }
                searched = "searched algorithm " + p.configId + " failed the check against cuBLASLt (relative error " + format(error) + ")";
                if (p.configId == 0) return searched;
                p.useDefaultAlgorithm();
            }
            double error = error(key, p, check, compressed.pointer());
            if (error <= TOLERANCE) {
                p.choice = "algorithm 0 (relative error " + format(error) + " vs cuBLASLt; " + (searched == null ? "search off" : searched) + ")";
                return null;
            }
            String zero = "algorithm 0 failed the check against cuBLASLt (relative error " + format(error) + ")";
            return searched == null ? zero : searched + "; " + zero;
        }
    }

    /** Runs the plan once on the check's operands and measures it against the reference. */
    private double error(PlanKey key, Plan p, SparseAlgorithmCheck check, long compressedA) {
        check.clearResult();
        alpha.set(JAVA_FLOAT, 0, 1f);
        beta.set(JAVA_FLOAT, 0, 0f);
        int status = lt.matmul(handle, p.plan, alpha, compressedA, check.b(), beta, check.d(), check.d(),
                workspace.atLeast(p.workspaceBytes), streams, 1);
        if (status != 0) throw lt.failure(status, "cusparseLtMatmul(algorithm " + p.configId + ", check at " + key.describe() + ")");
        return check.relativeError();
    }

    /** A plan used only to size and run compressions of m×k (no search, no check: it never multiplies). */
    private Plan compressionPlan(int m, int k, boolean bColMajor, boolean dColMajor) {
        if (!supports(m, COMPRESSION_N, k)) {
            throw new IllegalArgumentException("a compressed 2:4 operand needs m % 64 == 0 and k % 32 == 0, got m=" + m + " k=" + k);
        }
        PlanKey key = new PlanKey(m, COMPRESSION_N, k, bColMajor, bColMajor ? k : COMPRESSION_N, dColMajor);
        Plan p = compressionPlans.get(key);
        if (p != null) return p;
        List<String> rejected = new ArrayList<>();
        for (SparseMatmulForm form : SparseMatmulForm.candidates(key.m(), key.n(), key.k(), key.bColMajor(), key.ldb(), key.dColMajor())) {
            try {
                p = new Plan(key, form);
                p.choice = "compression only";
                compressionPlans.put(key, p);
                return p;
            } catch (CusparseLt.Failure f) {
                if (!f.rejectedArguments()) throw f;
                rejected.add(form.describe() + ": " + f.getMessage());
            }
        }
        throw new CudaException("cuSPARSELt " + version + " cannot describe a compressed " + m + "x" + k + " bf16 2:4 operand: "
                + String.join("; ", rejected));
    }

    private static RuntimeException destroyAfter(Plan p, RuntimeException e) {
        if (p != null) {
            try {
                p.destroy();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
        }
        return e;
    }

    private static void checkAligned(String what, long pointer) {
        if (pointer % ALIGNMENT_BYTES != 0) {
            throw new IllegalArgumentException(what + " at 0x" + Long.toHexString(pointer) + " is not " + ALIGNMENT_BYTES
                    + "-byte aligned, as the sparse GEMM's descriptors declare");
        }
    }

    private static String format(double error) {
        return String.format(Locale.ROOT, "%.3g", error);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        context.makeCurrent();
        RuntimeException failure = null;
        try {
            context.synchronize();
        } catch (RuntimeException e) {
            failure = e;
        }
        List<Plan> all = new ArrayList<>(plans.values());
        all.addAll(compressionPlans.values());
        plans.clear();
        compressionPlans.clear();
        for (Plan p : all) failure = attempt(failure, p::destroy);
        failure = attempt(failure, () -> lt.destroy(handle));
        failure = attempt(failure, workspace::close);
        failure = attempt(failure, compressBuffer::close);
        for (DeviceScratch scratch : List.of(searchA, searchB, searchD)) failure = attempt(failure, scratch::close);
        arena.close();
        if (failure != null) throw failure;
    }

    private static RuntimeException attempt(RuntimeException failure, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            if (failure == null) return e;
            failure.addSuppressed(e);
        }
        return failure;
    }

    /** One plan's structs (in the arena), which of them are initialised, and the algorithm it uses. */
    private final class Plan {
        final PlanKey key;
        final SparseMatmulForm form;
        final MemorySegment a = CusparseLt.newStruct(arena), b = CusparseLt.newStruct(arena), d = CusparseLt.newStruct(arena);
        final MemorySegment matmul = CusparseLt.newStruct(arena), selection = CusparseLt.newStruct(arena), plan = CusparseLt.newStruct(arena);
        private boolean aLive, bLive, dLive, selectionLive, planLive;
        long workspaceBytes;
        int configId;
        String choice = "";

        /** Describes D[m,n] = A[m,k]·B[k,n] in {@code form} and builds a plan on the library's default algorithm. */
        Plan(PlanKey key, SparseMatmulForm form) {
            this.key = key;
            this.form = form;
            try {
                lt.structuredDescriptor(handle, a, key.m(), key.k(), key.k(), ALIGNMENT_BYTES, CusparseLt.CUDA_R_16BF, CusparseLt.ORDER_ROW,
                        CusparseLt.SPARSITY_50_PERCENT);
                aLive = true;
                lt.denseDescriptor(handle, b, form.bRows(), form.bCols(), form.ldb(), ALIGNMENT_BYTES, CusparseLt.CUDA_R_16BF, form.bOrder());
                bLive = true;
                lt.denseDescriptor(handle, d, key.m(), key.n(), form.ldd(), ALIGNMENT_BYTES, CusparseLt.CUDA_R_16BF, form.dOrder());
                dLive = true;
                // C and D share one descriptor: the product updates D in place.
                lt.matmulDescriptor(handle, matmul, CusparseLt.OP_N, form.opB(), a, b, d, d, CusparseLt.COMPUTE_32F);
                lt.algSelection(handle, selection, matmul);
                selectionLive = true;
                initPlan();
            } catch (RuntimeException e) {
                throw destroyAfter(this, e);
            }
        }

        /** Picks up the algorithm a search left in the selection, and what it needs. */
        void readAlgorithm() {
            configId = lt.algInt(handle, selection, CusparseLt.ALG_CONFIG_ID);
            workspaceBytes = lt.workspaceBytes(handle, plan);
        }

        /**
         * Rebuilds the plan on a fresh default selection (algorithm 0): a search may have left more
         * than the algorithm id in the selection (split-K settings), and none of it should remain.
         */
        void useDefaultAlgorithm() {
            lt.destroyPlan(plan);
            planLive = false;
            lt.destroyAlgSelection(selection);
            selectionLive = false;
            lt.algSelection(handle, selection, matmul);
            selectionLive = true;
            initPlan();
        }

        private void initPlan() {
            lt.planInit(handle, plan, matmul, selection);
            planLive = true;
            readAlgorithm();
        }

        /** Destroys what was initialised, plan first (it points at the rest); the memory stays in the arena. */
        void destroy() {
            RuntimeException failure = null;
            if (planLive) failure = attempt(failure, () -> lt.destroyPlan(plan));
            if (selectionLive) failure = attempt(failure, () -> lt.destroyAlgSelection(selection));
            if (dLive) failure = attempt(failure, () -> lt.destroyMatDescriptor(d));
            if (bLive) failure = attempt(failure, () -> lt.destroyMatDescriptor(b));
            if (aLive) failure = attempt(failure, () -> lt.destroyMatDescriptor(a));
            planLive = selectionLive = dLive = bLive = aLive = false;
            if (failure != null) throw failure;
        }
    }
}
