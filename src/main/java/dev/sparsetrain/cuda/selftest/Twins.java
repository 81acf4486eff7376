package dev.sparsetrain.cuda.selftest;

import dev.sparsetrain.cuda.AttentionKernel;
import dev.sparsetrain.cuda.CudaBackend;
import dev.sparsetrain.cuda.GemmPrecision;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Bf16;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Tensors made in pairs, one on the backend under test and one on the reference, holding the same
 * random values, so an op can run on both and its outputs be compared. Outputs start as NaN
 * ({@link #poisoned}) so an element the op forgets to write fails the comparison. Closing releases
 * the tensors the pairs hold (device memory on a GPU backend).
 */
final class Twins implements AutoCloseable {
    /** Which backend of a pair an op runs on. */
    enum Side {
        CANDIDATE, REFERENCE;

        Tensor of(Pair p) { return this == CANDIDATE ? p.candidate() : p.reference(); }
    }

    /** The same logical tensor on both backends. */
    record Pair(Tensor candidate, Tensor reference) {}

    /** An op over pairs, run once per side. */
    @FunctionalInterface
    interface Op {
        void run(Backend backend, Side side);
    }

    /** A reduction over pairs that returns a value to the host. */
    @FunctionalInterface
    interface Reduction {
        double run(Backend backend, Side side);
    }

    private final Backend candidate;
    private final Backend reference;
    private final SplittableRandom random;
    private final List<Tensor> owned = new ArrayList<>();

    Twins(Backend candidate, Backend reference, SplittableRandom random) {
        this.candidate = candidate;
        this.reference = reference;
        this.random = random;
    }

    /** Standard normal values. */
    Pair gaussian(long... shape) {
        float[] v = new float[size(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) random.nextGaussian();
        return floats(v, shape);
    }

    /** Normal values with standard deviation {@code std}. */
    Pair scaledGaussian(double std, long... shape) {
        float[] v = new float[size(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (random.nextGaussian() * std);
        return floats(v, shape);
    }

    /** Uniform values in [lo, hi). */
    Pair uniform(double lo, double hi, long... shape) {
        float[] v = new float[size(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) random.nextDouble(lo, hi);
        return floats(v, shape);
    }

    /** Uniform token ids in [0, bound) as I32. */
    Pair tokens(int bound, long... shape) {
        return ints(randomInts(bound, size(shape)), shape);
    }

    /** {@code count} uniform ints in [0, bound), from the same seeded stream as the tensors. */
    int[] randomInts(int bound, int count) {
        int[] v = new int[count];
        for (int i = 0; i < count; i++) v[i] = random.nextInt(bound);
        return v;
    }

    /** Given I32 values. */
    Pair ints(int[] values, long... shape) {
        Pair p = new Pair(own(candidate.zeros(DType.I32, shape)), own(reference.zeros(DType.I32, shape)));
        candidate.uploadInts(p.candidate(), values, 0);
        reference.uploadInts(p.reference(), values, 0);
        return p;
    }

    /** Given F32 values. */
    Pair floats(float[] values, long... shape) {
        Pair p = new Pair(own(candidate.zeros(DType.F32, shape)), own(reference.zeros(DType.F32, shape)));
        candidate.upload(p.candidate(), values, 0);
        reference.upload(p.reference(), values, 0);
        return p;
    }

    /** An output: NaN everywhere on both sides. */
    Pair poisoned(long... shape) {
        float[] nan = new float[size(shape)];
        Arrays.fill(nan, Float.NaN);
        return floats(nan, shape);
    }

    /** Copies the reference side's values to the candidate side, so a later op gets identical inputs. */
    void mirror(Pair p) {
        candidate.upload(p.candidate(), reference.toHost(p.reference()), 0);
    }

    /** Rounds the reference side's values to bfloat16 (nearest, ties to even), as a bf16 GEMM rounds its operands. */
    void roundReferenceToBf16(Pair p) {
        float[] v = reference.toHost(p.reference());
        for (int i = 0; i < v.length; i++) v[i] = Bf16.toFloat(Bf16.fromFloat(v[i]));
        reference.upload(p.reference(), v, 0);
    }

    /** The candidate's GEMM operand precision: a CUDA backend's setting, fp32 for every other backend. */
    GemmPrecision candidateGemmPrecision() { return gemmPrecision(candidate); }

    /** Whether the candidate runs the attention forward at {@code headDim} on the bf16 tensor-core kernels. */
    boolean candidateAttentionOnTensorCores(int headDim) {
        return candidate instanceof CudaBackend && AttentionKernel.active().usesTensorCores(headDim);
    }

    static GemmPrecision gemmPrecision(Backend backend) {
        return backend instanceof CudaBackend cuda ? cuda.gemmPrecision() : GemmPrecision.FP32;
    }

    void run(Op op) {
        op.run(candidate, Side.CANDIDATE);
        op.run(reference, Side.REFERENCE);
    }

    /** Runs a reduction on both sides; {candidate's result, reference's result}. */
    double[] evaluate(Reduction r) {
        double got = r.run(candidate, Side.CANDIDATE);
        double want = r.run(reference, Side.REFERENCE);
        return new double[] {got, want};
    }

    /** The candidate's sparse row alignment (each expert's routed rows are padded to a multiple). */
    int candidateSparseRowAlignment() { return candidate.sparse().rowAlignment(); }

    /** Compares a pair's two sides by relative Frobenius error (see {@link Comparison#compareNorm}). */
    CheckRow compareNorm(String op, String shape, Pair p, double tolerance) {
        return Comparison.compareNorm(op, shape, candidate.toHost(p.candidate()), reference.toHost(p.reference()), tolerance);
    }

    /** Compares a pair's two sides after an op. */
    CheckRow compare(String op, String shape, Pair p, double tolerance) {
        return Comparison.compare(op, shape, candidate.toHost(p.candidate()), reference.toHost(p.reference()), tolerance);
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    private static int size(long[] shape) {
        long n = 1;
        for (long s : shape) n = Math.multiplyExact(n, s);
        return Math.toIntExact(n);
    }

    /** Releases every tensor made here (device memory is freed now rather than when the backend closes). */
    @Override
    public void close() {
        for (Tensor t : owned) {
            if (t.storage() instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IllegalStateException("could not release selftest tensor " + t, e);
                }
            }
        }
        owned.clear();
    }
}
