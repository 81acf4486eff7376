package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.CudaStorage.ptr;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The FFN GEMMs of one shape T×d×F, dense (cuBLASLt, bf16 in and out, fp32 accumulation) against
 * our 2:4 path (our pack kernel + cuSPARSELt), side by side on the same data:
 * <ul>
 *   <li><b>weight</b>: the up projection Z[T,F] = X[T,d]·W1ᵀ with W1 [F,d] as the 2:4 operand, as
 *       the sparse FFN runs it (Zᵀ = W1e·Xᵀ, written column-major); the pack is the S-STE
 *       prune + pack of W1 from its fp32 latent;
 *   <li><b>activation</b>: the down projection Y[T,d] = A[T,F]·W2ᵀ with A as the 2:4 operand; the
 *       pack is the fused relu² → top-2-of-4 → pack of a bf16 pre-activation Z [T,F].
 * </ul>
 * Each figure is the mean over {@code iters} back-to-back launches after {@code warmup}, between
 * two synchronisations (the launches queue asynchronously, so host overhead is hidden).
 */
public final class GemmBenchmark {
    /** One operand kind's times in milliseconds. */
    public record Result(String operand, int tokens, int dim, int hidden, double denseMs, double sparseMs, double packMs) {
        /** GEMM FLOPs of the product, 2·T·d·F. */
        public double flops() { return 2.0 * tokens * dim * hidden; }

        public double speedup() { return denseMs / sparseMs; }

        public double speedupWithPack() { return denseMs / (sparseMs + packMs); }
    }

    private GemmBenchmark() {}

    /** Both operand kinds at T×d×F. */
    public static List<Result> run(CudaBackend backend, int tokens, int dim, int hidden, int warmup, int iters) {
        if (tokens % 64 != 0 || dim % 64 != 0 || hidden % 64 != 0) {
            throw new IllegalArgumentException("bench gemm needs T, d and F to be multiples of 64, got " + tokens + "x" + dim + "x" + hidden);
        }
        CudaSparseKernels kernels = (CudaSparseKernels) backend.sparse();
        SparseMatmul sparse = kernels.sparseMatmul();
        DenseMatmul dense = kernels.denseMatmul();
        KernelLauncher l = backend.launcher();
        var rng = new SplittableRandom(tokens * 31L + dim * 7L + hidden);
        List<Tensor> owned = new ArrayList<>();
        try {
            List<Result> results = new ArrayList<>();
            // ---- weight as the sparse operand -----------------------------------------------------------
            Tensor w1 = own(owned, random(backend, rng, 0.05f, hidden, dim));
            Tensor x = own(owned, bf16(backend, owned, random(backend, rng, 1f, tokens, dim)));
            Tensor w1Dense = own(owned, backend.zeros(DType.BF16, hidden, dim));
            Tensor z = own(owned, backend.zeros(DType.BF16, tokens, hidden));
            var packedW = (CudaPackedWeight) kernels.allocateWeight(hidden, dim, 1);
            Runnable prune = () -> kernels.pruneWeight(packedW, w1, false, 1f);
            prune.run();
            ConvertKernels.toBf16(l, ptr(w1Dense), ptr(w1), (long) hidden * dim);
            // Dense: Z[T,F] = X[T,d]·W1ᵀ. Sparse: Zᵀ[F,T] = W1e[F,d]·Xᵀ, D column-major = Z row-major.
            double denseW = time(backend, warmup, iters, () -> dense.runBf16ToBf16(ptr(z), hidden, ptr(x), dim, false, ptr(w1Dense), dim, true,
                    tokens, hidden, dim, 1f, 0f));
            double sparseW = time(backend, warmup, iters, () -> sparse.run(ptr(z), true, packedW.block(0), ptr(x), true, dim,
                    hidden, tokens, dim, 1f, 0f));
            double packW = time(backend, warmup, iters, prune);
            results.add(new Result("weight (W1 2:4, up projection)", tokens, dim, hidden, denseW, sparseW, packW));

            // ---- activations as the sparse operand ------------------------------------------------------
            Tensor zRandom = own(owned, bf16(backend, owned, random(backend, rng, 1f, tokens, hidden)));
            Tensor w2t = own(owned, bf16(backend, owned, random(backend, rng, 0.05f, hidden, dim)));
            Tensor y = own(owned, backend.zeros(DType.BF16, tokens, dim));
            var act = (CudaPackedActivations) kernels.allocateActivations(tokens, hidden, 1);
            Tensor offsets = own(owned, backend.zeros(DType.I32, 2));
            backend.uploadInts(offsets, new int[] {0, tokens}, 0);
            Runnable pack = () -> SparseFfnKernels.relu2TopTwo(l, ptr(zRandom), false, ptr(offsets), 1, tokens, hidden, ptr(act.packedA),
                    ptr(act.denseA), ptr(act.keptRelu), ptr(act.nibbles), ptr(act.partials));
            pack.run();
            // The dense side multiplies the same (masked) activations, stored densely.
            double denseA = time(backend, warmup, iters, () -> dense.runBf16ToBf16(ptr(y), dim, ptr(act.denseA), hidden, false, ptr(w2t), dim, false,
                    tokens, dim, hidden, 1f, 0f));
            double sparseA = time(backend, warmup, iters, () -> sparse.run(ptr(y), false, ptr(act.packedA), ptr(w2t), false, dim,
                    tokens, dim, hidden, 1f, 0f));
            double packA = time(backend, warmup, iters, pack);
            results.add(new Result("activation (A 2:4, down projection)", tokens, dim, hidden, denseA, sparseA, packA));
            return results;
        } finally {
            backend.synchronize();
            for (Tensor t : owned) ((CudaStorage) t.storage()).close();
        }
    }

    /** Mean milliseconds of {@code op} over {@code iters} queued launches. */
    private static double time(CudaBackend backend, int warmup, int iters, Runnable op) {
        for (int i = 0; i < warmup; i++) op.run();
        backend.synchronize();
        long start = System.nanoTime();
        for (int i = 0; i < iters; i++) op.run();
        backend.synchronize();
        return (System.nanoTime() - start) / 1e6 / iters;
    }

    private static Tensor own(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }

    /** A new fp32 tensor of uniform values in [-scale, scale). */
    private static Tensor random(CudaBackend backend, SplittableRandom rng, float scale, int rows, int cols) {
        float[] v = new float[Math.multiplyExact(rows, cols)];
        for (int i = 0; i < v.length; i++) v[i] = (2 * rng.nextFloat() - 1) * scale;
        Tensor t = backend.zeros(DType.F32, rows, cols);
        backend.upload(t, v, 0);
        return t;
    }

    /** A bf16 copy of an fp32 tensor; the fp32 original is released at the end with the others. */
    private static Tensor bf16(CudaBackend backend, List<Tensor> owned, Tensor f32) {
        owned.add(f32);
        Tensor out = backend.zeros(DType.BF16, f32.shape());
        ConvertKernels.toBf16(backend.launcher(), ptr(out), ptr(f32), f32.numel());
        return out;
    }
}
