package dev.sparsetrain.cuda;

import dev.sparsetrain.tensor.Bf16;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/**
 * The data on which {@link SparseMatmul} checks a cuSPARSELt algorithm before caching it, at the
 * plan's own shape and layouts (NVIDIA's algorithms have given wrong products at particular shapes,
 * pytorch/pytorch#155333): a random exactly-2:4 bf16 A (dense, for cuBLASLt and for compression),
 * a random B in the plan's layout and stride, the sparse result D, and a cuBLASLt reference of the
 * same product in fp32, computed in D's own layout so that the two compare element by element.
 *
 * <p>Everything is device memory freed by {@link #close()}; host data moves in chunks, so a
 * 16384×16384 check needs no gigabyte arrays on the heap.
 */
final class SparseAlgorithmCheck implements AutoCloseable {
    /** Elements per host chunk of an upload or a comparison. */
    private static final int CHUNK = 1 << 22;
    /**
     * What D holds before the checked run: bf16 65536, far from any product of these operands, so
     * an algorithm that leaves part of D unwritten fails; finite, so a library that reads C at
     * beta = 0 is not failed for it.
     */
    private static final short UNWRITTEN = 0x4780;

    private final CudaContext context;
    private final SparseMatmul.PlanKey key;
    private final DeviceScratch denseA, b, d, reference;

    private SparseAlgorithmCheck(CudaContext context, SparseMatmul.PlanKey key, DeviceScratch denseA, DeviceScratch b,
                                 DeviceScratch d, DeviceScratch reference) {
        this.context = context;
        this.key = key;
        this.denseA = denseA;
        this.b = b;
        this.d = d;
        this.reference = reference;
    }

    /** Allocates and fills the operands of {@code key}'s shape with data drawn from {@code seed}. */
    static SparseAlgorithmCheck prepare(CudaContext context, SparseMatmul.PlanKey key, long seed) {
        long elementsA = (long) key.m() * key.k(), elementsD = (long) key.m() * key.n();
        long elementsB = (long) (key.bColMajor() ? key.n() : key.k()) * key.ldb();
        String what = " of the cuSPARSELt algorithm check at " + key.describe();
        DeviceScratch denseA = null, b = null, d = null, reference = null;
        try {
            denseA = DeviceScratch.sized(context, "dense A" + what, elementsA * 2);
            b = DeviceScratch.sized(context, "B" + what, elementsB * 2);
            d = DeviceScratch.sized(context, "D" + what, elementsD * 2);
            reference = DeviceScratch.sized(context, "fp32 reference" + what, elementsD * 4);
            var check = new SparseAlgorithmCheck(context, key, denseA, b, d, reference);
            var random = new SplittableRandom(seed);
            // Rows of A are whole multiples of 4 long, so flat groups of 4 are the 2:4 groups along k.
            check.upload(denseA.pointer(), elementsA, random, true);
            check.upload(b.pointer(), elementsB, random, false);
            return check;
        } catch (RuntimeException e) {
            for (DeviceScratch s : new DeviceScratch[] {reference, d, b, denseA}) if (s != null) s.close();
            throw e;
        }
    }

    /** The dense (uncompressed) 2:4 A, row-major m×k. */
    long denseA() { return denseA.pointer(); }

    /** B, k×n in the plan's order and stride. */
    long b() { return b.pointer(); }

    /** The sparse product's output, m×n in the plan's order. */
    long d() { return d.pointer(); }

    /**
     * Queues the cuBLASLt reference A·B in fp32. A row-major D is C = A·B; a column-major D is,
     * read row-major, Dᵀ = Bᵀ·Aᵀ, so the reference is computed as that product and lands in D's
     * element order.
     */
    void computeReference(DenseMatmul dense) {
        int m = key.m(), n = key.n(), k = key.k();
        if (!key.dColMajor()) {
            // B column-major k×n is a row-major n×k matrix: op T.
            dense.runBf16(reference.pointer(), n, denseA.pointer(), k, false, b.pointer(), key.ldb(), key.bColMajor(), m, n, k, 1f, 0f);
        } else {
            // Bᵀ: a row-major B [k,n] is transposed; a column-major B already is Bᵀ [n,k] row-major. Aᵀ: A [m,k] transposed.
            dense.runBf16(reference.pointer(), m, b.pointer(), key.ldb(), !key.bColMajor(), denseA.pointer(), k, true, n, m, k, 1f, 0f);
        }
    }

    /** Queues the fill of D with a value no correct product writes. */
    void clearResult() {
        long words = (long) key.m() * key.n() / 2; // m is a multiple of 64, so D is whole 32-bit words
        context.driver.memsetD32Async(d.pointer(), (UNWRITTEN & 0xFFFF) * 0x10001, words, context.stream());
    }

    /** max|D − reference| / max|reference| once queued work is done; NaN when D holds a NaN. */
    double relativeError() {
        context.synchronize();
        long total = (long) key.m() * key.n();
        short[] got = new short[(int) Math.min(CHUNK, total)];
        float[] want = new float[got.length];
        double maxDiff = 0, maxRef = 0;
        for (long start = 0; start < total; start += got.length) {
            int count = (int) Math.min(got.length, total - start);
            context.driver.copyDeviceToHost(MemorySegment.ofArray(got), d.pointer() + start * 2, count * 2L);
            context.driver.copyDeviceToHost(MemorySegment.ofArray(want), reference.pointer() + start * 4, count * 4L);
            for (int i = 0; i < count; i++) {
                double diff = Math.abs(Bf16.toFloat(got[i]) - (double) want[i]);
                if (Double.isNaN(diff)) return Double.NaN;
                maxDiff = Math.max(maxDiff, diff);
                maxRef = Math.max(maxRef, Math.abs(want[i]));
            }
        }
        return maxDiff / maxRef;
    }

    private void upload(long dst, long total, SplittableRandom random, boolean twoFour) {
        short[] host = new short[(int) Math.min(CHUNK, total)];
        for (long start = 0; start < total; start += host.length) {
            int count = (int) Math.min(host.length, total - start);
            if (twoFour) RandomBf16.fillTwoFour(host, count, random);
            else RandomBf16.fill(host, count, random);
            context.driver.copyHostToDevice(dst + start * 2, MemorySegment.ofArray(host), count * 2L);
        }
    }

    @Override
    public void close() {
        try {
            reference.close();
            d.close();
        } finally {
            try {
                b.close();
            } finally {
                denseA.close();
            }
        }
    }
}
