package dev.sparsetrain.cuda;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.SparseKernels;
import dev.sparsetrain.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The CUDA backend on one GPU: fp32 tensors (parameters, master weights, optimizer state and
 * activations), GEMMs through cuBLASLt ({@link DenseMatmul}) in the {@link GemmPrecision} chosen when
 * the backend opens (bf16 tensor cores by default, fp32 on request), attention by the kernels
 * {@link AttentionKernel} selects, every other op a kernel of {@code kernels/*.cu} launched by
 * {@link CudaKernels}, and the sparse FFN ({@link #sparse()}: our kernels and cuSPARSELt). All work
 * is queued on one stream; reductions that return a value to the host ({@link #sumSquares},
 * {@link #crossEntropy}), downloads and the sparse router's expert counts synchronise.
 *
 * <p>Use from one thread at a time. Buffers are freed by {@link CudaStorage#close()} or, at the
 * latest, by {@link #close()}; never by a cleaner.
 */
public final class CudaBackend implements Backend {
    private final CudaContext context;
    private final CudaMemory memory;
    private final Nvrtc nvrtc;
    private final KernelModules modules;
    private final CublasLt cublasLt;
    private final DenseMatmul matmul;
    /** bf16 copies and fp32 accumulators of the fa2 attention kernels, grown once and reused. */
    private final AttentionScratch attentionScratch;
    private final GemmPrecision gemmPrecision;
    private final LibrarySearchPath libraries;
    private final Arena arena;
    private final CudaLauncher launcher;
    private final Tensor partials;
    private final float[] hostPartials = new float[CudaKernels.SUM_BLOCKS];
    private float[] hostLosses = new float[0];
    /** cuSPARSELt and the sparse FFN kernels, opened by the first {@link #sparse()}: dense training needs neither. */
    private SparseMatmul sparseMatmul;
    private CudaSparseKernels sparseKernels;
    private SparseLayoutCheck.Result layout;
    private boolean closed;

    private CudaBackend(CudaContext context, Nvrtc nvrtc, CublasLt cublasLt, KernelCache cache, Supplier<Map<String, String>> sources,
                        GemmPrecision gemmPrecision, LibrarySearchPath libraries, List<AutoCloseable> opened) {
        this.context = context;
        this.libraries = libraries;
        this.gemmPrecision = gemmPrecision;
        this.nvrtc = nvrtc;
        this.cublasLt = cublasLt;
        this.memory = track(opened, new CudaMemory(context));
        this.arena = track(opened, Arena.ofShared());
        this.modules = track(opened, new KernelModules(context.driver, nvrtc, NvrtcOptions.forDevice(context.major, context.minor),
                cache, sources));
        this.launcher = new CudaLauncher(context.driver, modules, new LaunchArguments(arena), context.stream(), context.maxSharedBytesPerBlock);
        this.matmul = track(opened, new DenseMatmul(cublasLt, context, gemmPrecision, launcher));
        this.attentionScratch = track(opened, new AttentionScratch(memory::allocate));
        this.partials = memory.allocate(DType.F32, CudaKernels.SUM_BLOCKS);
    }

    private static <T extends AutoCloseable> T track(List<AutoCloseable> opened, T resource) {
        opened.add(resource);
        return resource;
    }

    /** Opens "cuda" (device 0) or "cuda:N". */
    public static CudaBackend open(String device) {
        return open(ordinal(device));
    }

    /**
     * Opens GPU {@code ordinal} with the libraries, kernel cache and GEMM precision of this process's
     * environment ({@link GemmPrecision#configured()}). Throws {@link CudaUnavailableException} when
     * there is no driver or no such GPU, {@link MissingLibraryException} when NVRTC or cuBLASLt cannot
     * be found, and {@link IllegalArgumentException} when the precision setting is not a valid value.
     */
    public static CudaBackend open(int ordinal) {
        return open(ordinal, LibrarySearchPath.standard(), KernelCache.standard(), KernelSources::load, GemmPrecision.configured());
    }

    /** Opens a GPU with explicit libraries, kernel cache, kernel sources and GEMM precision (tests). */
    static CudaBackend open(int ordinal, LibrarySearchPath path, KernelCache cache, Supplier<Map<String, String>> sources,
                            GemmPrecision gemmPrecision) {
        // The driver and the device first: without them the other libraries do not matter.
        CudaContext context = CudaContext.open(Driver.load(path), ordinal);
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            return new CudaBackend(context, Nvrtc.load(path), CublasLt.load(path), cache, sources, gemmPrecision, path, opened);
        } catch (RuntimeException e) {
            for (AutoCloseable r : opened.reversed()) {
                try {
                    r.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            context.close();
            throw e;
        }
    }

    /** The device ordinal of "cuda" (0) or "cuda:N". */
    public static int ordinal(String device) {
        if (device.equals("cuda")) return 0;
        if (device.startsWith("cuda:")) {
            try {
                int n = Integer.parseInt(device.substring(5));
                if (n >= 0) return n;
            } catch (NumberFormatException ignored) {
                // Falls through to the message below.
            }
        }
        throw new IllegalArgumentException("not a CUDA device name: '" + device + "'; use cuda or cuda:N (N = 0, 1, ...)");
    }

    @Override
    public String name() { return "cuda:" + context.ordinal; }

    /**
     * Makes the context current and drops the GEMMs' cached bf16 operand copies: called first by
     * every op that may write device memory (or allocate it: a new tensor may reuse a freed address),
     * so a copy is only ever reused by GEMMs that follow each other.
     */
    private void beginWrite() {
        context.makeCurrent();
        matmul.forgetConversions();
    }

    /** One line about the device and the libraries in use, for logs and the selftest. */
    public String describe() {
        context.makeCurrent();
        Driver.MemoryInfo info = context.driver.memoryInfo();
        return String.format(Locale.ROOT, "%s: %s, compute capability %d.%d (%s), %d SMs, %s total; driver %d (%s), NVRTC %s (%s), cuBLASLt %d (%s);"
                        + " attention %s; GEMM precision %s",
                name(), context.deviceName, context.major, context.minor, NvrtcOptions.architecture(context.major, context.minor),
                context.multiprocessors, CudaMemory.human(info.total()), context.driver.driverVersion(), context.driver.location(),
                nvrtc.version(), nvrtc.location(), cublasLt.version(), cublasLt.location(),
                AttentionKernel.active().label(), gemmPrecision.label());
    }

    /** The operand precision of this backend's GEMMs, fixed when it opened. */
    public GemmPrecision gemmPrecision() { return gemmPrecision; }

    /** The launcher kernels of this backend go through (for kernel tests and benchmarks). */
    public KernelLauncher launcher() {
        beginWrite();
        return launcher;
    }

    // ---- memory ---------------------------------------------------------------------------------------

    @Override
    public Tensor zeros(DType dtype, long... shape) {
        beginWrite();
        return memory.allocate(dtype, shape);
    }

    @Override
    public void upload(Tensor dst, float[] src, int srcOff) {
        beginWrite();
        long n = hostRange(dst, DType.F32, src.length, srcOff, "upload");
        if (n == 0) return;
        context.driver.copyHostToDevice(CudaStorage.ptr(dst), MemorySegment.ofArray(src).asSlice(srcOff * 4L, n * 4), n * 4);
    }

    @Override
    public void uploadInts(Tensor dst, int[] src, int srcOff) {
        beginWrite();
        long n = hostRange(dst, DType.I32, src.length, srcOff, "uploadInts");
        if (n == 0) return;
        context.driver.copyHostToDevice(CudaStorage.ptr(dst), MemorySegment.ofArray(src).asSlice(srcOff * 4L, n * 4), n * 4);
    }

    /** An I32 tensor's values on the host (synchronises). */
    int[] downloadInts(Tensor src) {
        context.makeCurrent();
        requireDType(src, DType.I32, "downloadInts");
        int[] out = new int[Math.toIntExact(src.numel())];
        if (out.length > 0) context.driver.copyDeviceToHost(MemorySegment.ofArray(out), CudaStorage.ptr(src), out.length * 4L);
        return out;
    }

    @Override
    public void download(Tensor src, float[] dst, int dstOff) {
        context.makeCurrent();
        long n = hostRange(src, DType.F32, dst.length, dstOff, "download");
        if (n == 0) return;
        context.driver.copyDeviceToHost(MemorySegment.ofArray(dst).asSlice(dstOff * 4L, n * 4), CudaStorage.ptr(src), n * 4);
    }

    /** Checks a host transfer's dtype and bounds; returns the element count. */
    private static long hostRange(Tensor t, DType dtype, int arrayLength, int offset, String op) {
        requireDType(t, dtype, op);
        long n = t.numel();
        if (offset < 0 || offset + n > arrayLength) {
            throw new IllegalArgumentException(op + ": " + n + " elements at offset " + offset + " do not fit an array of " + arrayLength);
        }
        return n;
    }

    private static void requireDType(Tensor t, DType dtype, String op) {
        if (t.dtype() != dtype) throw new IllegalArgumentException(op + " needs a " + dtype + " tensor, got " + t);
    }

    /** A bit-exact fill by cuMemsetD32: no kernel needed for a 32-bit pattern. */
    @Override
    public void fill(Tensor t, float value) {
        beginWrite();
        requireDType(t, DType.F32, "fill");
        if (t.numel() == 0) return;
        context.driver.memsetD32Async(CudaStorage.ptr(t), Float.floatToRawIntBits(value), t.numel(), context.stream());
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        beginWrite();
        if (dst.numel() != src.numel() || dst.dtype() != src.dtype()) throw new IllegalArgumentException("copy " + src + " -> " + dst);
        if (src.numel() == 0) return;
        context.driver.copyDeviceToDeviceAsync(CudaStorage.ptr(dst), CudaStorage.ptr(src), src.numel() * src.dtype().bytes(), context.stream());
    }

    // ---- elementwise and reductions -------------------------------------------------------------------

    @Override
    public void scale(Tensor t, float s) {
        beginWrite();
        CudaKernels.scale(launcher, t, s);
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        beginWrite();
        CudaKernels.add(launcher, out, a, b);
    }

    /** Per-block float partial sums on the device, summed on the host in double. */
    @Override
    public double sumSquares(Tensor t) {
        context.makeCurrent();
        CudaKernels.sumSquares(launcher, t, partials);
        download(partials, hostPartials, 0);
        double sum = 0;
        for (float p : hostPartials) sum += p;
        return sum;
    }

    // ---- GEMM -----------------------------------------------------------------------------------------

    @Override
    public void matmul(Tensor c, Tensor a, boolean transA, Tensor b, boolean transB, int m, int n, int k, float alpha, float beta) {
        context.makeCurrent();
        requireElements(c, (long) m * n, "C");
        requireElements(a, (long) m * k, "A");
        requireElements(b, (long) k * n, "B");
        if (m == 0 || n == 0) return;
        if (k == 0) {
            // An empty product: C = beta·C, where beta = 0 ignores C's old contents (even NaN).
            Tensor out = c.view(0, (long) m * n);
            if (beta == 0) fill(out, 0f);
            else if (beta != 1) scale(out, beta);
            return;
        }
        matmul.run(CudaStorage.ptr(c), CudaStorage.ptr(a), transA, CudaStorage.ptr(b), transB, m, n, k, alpha, beta);
    }

    private static void requireElements(Tensor t, long elements, String operand) {
        requireDType(t, DType.F32, "matmul operand " + operand);
        if (t.numel() < elements) {
            throw new IllegalArgumentException("matmul operand " + operand + " " + t + " holds " + t.numel() + " elements, needs " + elements);
        }
    }

    // ---- model ops: kernels -----------------------------------------------------------------------------

    @Override
    public void embeddingForward(Tensor out, Tensor tokens, Tensor table) {
        beginWrite();
        CudaKernels.embeddingForward(launcher, out, tokens, table);
    }

    @Override
    public void embeddingBackward(Tensor dTable, Tensor tokens, Tensor dOut) {
        beginWrite();
        CudaKernels.embeddingBackward(launcher, dTable, tokens, dOut);
    }

    @Override
    public void rmsNormForward(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) {
        beginWrite();
        CudaKernels.rmsNormForward(launcher, out, rstd, x, weight, eps);
    }

    @Override
    public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) {
        beginWrite();
        CudaKernels.rmsNormBackward(launcher, dx, dWeight, dOut, x, weight, rstd);
    }

    @Override
    public void ropeForward(Tensor x, int seqLen, int nHeads, int headDim, float theta) {
        beginWrite();
        CudaKernels.ropeForward(launcher, x, seqLen, nHeads, headDim, theta);
    }

    @Override
    public void ropeBackward(Tensor dx, int seqLen, int nHeads, int headDim, float theta) {
        beginWrite();
        CudaKernels.ropeBackward(launcher, dx, seqLen, nHeads, headDim, theta);
    }

    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        beginWrite();
        CudaKernels.attentionForward(launcher, attentionScratch, out, lse, q, k, v, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                  int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        beginWrite();
        CudaKernels.attentionBackward(launcher, attentionScratch, dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    @Override
    public void relu2Forward(Tensor a, Tensor z) {
        beginWrite();
        CudaKernels.relu2Forward(launcher, a, z);
    }

    @Override
    public void relu2Backward(Tensor dz, Tensor da, Tensor z) {
        beginWrite();
        CudaKernels.relu2Backward(launcher, dz, da, z);
    }

    @Override
    public void swigluForward(Tensor h, Tensor gate, Tensor up) {
        beginWrite();
        CudaKernels.swigluForward(launcher, h, gate, up);
    }

    @Override
    public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up) {
        beginWrite();
        CudaKernels.swigluBackward(launcher, dGate, dUp, dh, gate, up);
    }

    /** Losses are written on the device, downloaded and summed in double. */
    @Override
    public double crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale) {
        beginWrite();
        CudaKernels.crossEntropy(launcher, logits, targets, losses, gradScale);
        int n = Math.toIntExact(losses.numel());
        if (hostLosses.length < n) hostLosses = new float[n];
        download(losses, hostLosses, 0);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += hostLosses[i];
        return sum;
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay,
                      int step, float gradScale) {
        beginWrite();
        CudaKernels.adamw(launcher, param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step, gradScale);
    }

    // ---- sparse FFN ----------------------------------------------------------------------------------

    /**
     * The sparse FFN kernels: on the first call loads cuSPARSELt ({@link MissingLibraryException}
     * names where it looked) and checks at start-up that our packer writes the library's compressed
     * layout ({@link SparseLayoutCheck}); if it does not (a cuSPARSELt version that changed it), a
     * warning goes to stderr and the library's own, slower compression is used instead.
     */
    @Override
    public SparseKernels sparse() {
        context.makeCurrent();
        if (sparseKernels != null) return sparseKernels;
        CusparseLt library = CusparseLt.load(libraries);
        SparseMatmul spmm = new SparseMatmul(library, context, matmul);
        try {
            SparseLayoutCheck.Result layout = SparseLayoutCheck.run(spmm, context);
            this.layout = layout;
            if (!layout.matches()) {
                System.err.println("sparsetrain: WARNING: cuSPARSELt " + layout.libraryVersion() + " does not use the packed 2:4 layout our kernels"
                        + " write (" + layout.firstMismatch() + "); compressing with the library instead, which costs milliseconds per"
                        + " GEMM operand. Report this with the library version.");
            }
            sparseKernels = new CudaSparseKernels(this, context, memory, launcher, spmm, matmul, !layout.matches());
            sparseMatmul = spmm;
            return sparseKernels;
        } catch (RuntimeException e) {
            try {
                spmm.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** cuSPARSELt's version, file and the start-up layout check's verdict once {@link #sparse()} has loaded it, else "not loaded". */
    public String sparseLibrary() {
        if (sparseMatmul == null) return "cuSPARSELt not loaded";
        return "cuSPARSELt " + sparseMatmul.version() + " (" + sparseMatmul.location() + "): "
                + (layout.matches() ? "our packed 2:4 layout is byte-identical to the library's compress"
                : "our packed layout differs (" + layout.firstMismatch() + "), the library compresses");
    }

    // ---- lifetime ---------------------------------------------------------------------------------------

    @Override
    public void synchronize() {
        context.synchronize();
    }

    /** Waits for queued work, then frees every buffer, plan, module and the stream, and releases the context. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        RuntimeException failure = null;
        try {
            // Nothing may still run when the workspace, modules and buffers go.
            context.synchronize();
        } catch (RuntimeException e) {
            failure = e;
        }
        List<AutoCloseable> resources = new ArrayList<>();
        if (sparseKernels != null) resources.add(sparseKernels);
        // cuSPARSELt checks its algorithms with cuBLASLt GEMMs: it goes before the dense GEMMs.
        if (sparseMatmul != null) resources.add(sparseMatmul);
        resources.addAll(List.of(matmul, attentionScratch, modules, memory, arena, context));
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception e) {
                if (failure == null) failure = e instanceof RuntimeException re ? re : new CudaException("closing " + name(), e);
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }

    /** Bytes of device memory this backend's tensors hold now. */
    public long allocatedBytes() { return memory.liveBytes(); }
}
