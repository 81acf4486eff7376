package dev.sparsetrain.cpu;

import java.lang.constant.ConstantDescs;
import java.lang.invoke.MethodHandles;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-blocked micro-kernel of the CPU GEMM: a {@link #MR}×(2 vectors) tile of C kept in
 * twelve vector accumulators over a packed A sliver and a packed B sliver.
 *
 * <p>Why this shape: each k step loads two B vectors and broadcasts six A scalars to feed twelve
 * independent FMAs, enough to hide the FMA latency on every x86 core, and the twelve accumulators,
 * two B vectors and one broadcast fit the sixteen registers of AVX2 as well as the 32 of AVX-512.
 *
 * <p>Why the species is a static constant: the JIT turns Vector API calls into vector instructions
 * only when it knows the species at compile time; passed as an argument it falls back to boxed
 * objects, about ten times slower. This class runs {@link MatmulSpecies#SELECTED}; for any other
 * width {@link MatmulKernels} defines a hidden copy of this class whose class data is that species.
 * That is also why this class has no nested classes or lambdas: a hidden copy could not share them.
 */
final class MatmulKernel implements MatmulMicroKernel {
    /** Rows of C per micro-tile. */
    static final int MR = 6;

    private static final VectorSpecies<Float> S = speciesOfThisCopy();
    private static final int L = S.length();

    MatmulKernel() {}

    @Override
    public VectorSpecies<Float> species() { return S; }

    @Override
    public int nr() { return 2 * L; }

    @Override
    public void run(int kc, float[] ap, int aOff, float[] bp, int bOff, float[] dst, int dstOff, int ldd, float beta) {
        final int nr = 2 * L;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int p = 0; p < kc; p++) {
            int ai = aOff + p * MR, bi = bOff + p * nr;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector a = FloatVector.broadcast(S, ap[ai]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        store(c00, c01, dst, dstOff, beta);
        store(c10, c11, dst, dstOff + ldd, beta);
        store(c20, c21, dst, dstOff + 2 * ldd, beta);
        store(c30, c31, dst, dstOff + 3 * ldd, beta);
        store(c40, c41, dst, dstOff + 4 * ldd, beta);
        store(c50, c51, dst, dstOff + 5 * ldd, beta);
    }

    private static void store(FloatVector v0, FloatVector v1, float[] dst, int off, float beta) {
        if (beta != 0) {
            FloatVector vb = FloatVector.broadcast(S, beta);
            v0 = FloatVector.fromArray(S, dst, off).fma(vb, v0);
            v1 = FloatVector.fromArray(S, dst, off + L).fma(vb, v1);
        }
        v0.intoArray(dst, off);
        v1.intoArray(dst, off + L);
    }

    /** The hidden copy's class data, or the selected species in the class as compiled. */
    private static VectorSpecies<Float> speciesOfThisCopy() {
        try {
            @SuppressWarnings("unchecked")
            VectorSpecies<Float> own = MethodHandles.classData(MethodHandles.lookup(), ConstantDescs.DEFAULT_NAME, VectorSpecies.class);
            return own != null ? own : MatmulSpecies.SELECTED;
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot read the GEMM kernel's class data", e);
        }
    }
}
