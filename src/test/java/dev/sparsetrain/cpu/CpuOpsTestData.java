package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Seeded random tensors for the CPU-ops tests. Every float tensor is a view at a random non-zero
 * offset into a larger storage whose elements outside the view hold {@link #GUARD}, so a kernel
 * that ignores the offset, or writes past the view, is caught.
 */
final class CpuOpsTestData {
    /** The value around every view; comparisons check it is still there. */
    static final float GUARD = -7777.25f;
    private static final ReferenceBackend MEMORY = new ReferenceBackend();

    final long seed;
    final SplittableRandom random;

    CpuOpsTestData(long seed) {
        this.seed = seed;
        this.random = new SplittableRandom(seed);
    }

    /** A uniform integer in [min, max]. */
    int between(int min, int max) {
        return random.nextInt(min, max + 1);
    }

    /** Gaussian values times {@code scale} (never all zero). */
    Tensor gaussian(double scale, long... shape) {
        Tensor t = guarded(shape);
        float[] a = HeapStorage.f(t);
        for (int j = 0; j < t.numel(); j++) a[HeapStorage.off(t) + j] = (float) (random.nextGaussian() * scale);
        return t;
    }

    /** |Gaussian| times {@code scale} plus a small floor, for values that must be positive. */
    Tensor positive(double scale, long... shape) {
        Tensor t = gaussian(scale, shape);
        float[] a = HeapStorage.f(t);
        for (int j = 0; j < t.numel(); j++) a[HeapStorage.off(t) + j] = (float) (Math.abs(a[HeapStorage.off(t) + j]) + 1e-3 * scale);
        return t;
    }

    /** A NaN-filled output, so any element the kernel fails to write fails the comparison. */
    Tensor poisoned(long... shape) {
        Tensor t = guarded(shape);
        Arrays.fill(HeapStorage.f(t), HeapStorage.off(t), HeapStorage.off(t) + HeapStorage.n(t), Float.NaN);
        return t;
    }

    /** The same shape and values in a fresh guarded storage at another offset. */
    Tensor copy(Tensor src) {
        Tensor t = guarded(src.shape());
        MEMORY.copy(t, src);
        return t;
    }

    /** I32 values uniform in [0, bound), at a non-zero offset. */
    Tensor tokens(int bound, int count) {
        int[] ids = new int[count];
        for (int j = 0; j < count; j++) ids[j] = random.nextInt(bound);
        return ints(ids);
    }

    /** The given ints as an I32 tensor at a non-zero offset. */
    Tensor ints(int... values) {
        int lead = between(1, 9);
        Tensor t = MEMORY.zeros(DType.I32, lead + values.length).view(lead, values.length);
        MEMORY.uploadInts(t, values, 0);
        return t;
    }

    /** The tensor's elements as a new array. */
    static float[] host(Tensor t) {
        return MEMORY.toHost(t);
    }

    /** Bit-for-bit equality, for kernels that do the reference's float operations in its order. */
    void assertSameAs(Tensor expected, Tensor actual, String what) {
        float[] e = host(expected), a = host(actual);
        for (int j = 0; j < e.length; j++) {
            if (Float.floatToIntBits(e[j]) != Float.floatToIntBits(a[j])) {
                fail(what + " [seed " + seed + "]: element " + j + " is " + a[j] + ", reference " + e[j]);
            }
        }
        assertGuardsIntact(actual, what);
    }

    /**
     * |actual − expected| ≤ tol·(|expected| + rms(expected)) elementwise: relative, with the
     * tensor's RMS as the floor so values that cancel to near zero are judged on the tensor's scale.
     * NaN anywhere fails.
     */
    void assertClose(Tensor expected, Tensor actual, double tol, String what) {
        float[] e = host(expected), a = host(actual);
        double sq = 0;
        for (float v : e) sq += (double) v * v;
        double rms = Math.sqrt(sq / Math.max(1, e.length));
        for (int j = 0; j < e.length; j++) {
            double diff = Math.abs((double) a[j] - e[j]);
            if (!(diff <= tol * (Math.abs(e[j]) + rms))) {
                fail(what + " [seed " + seed + "]: element " + j + " is " + a[j] + ", reference " + e[j]
                        + " (diff " + diff + ", tensor rms " + rms + ", tol " + tol + ")");
            }
        }
        assertGuardsIntact(actual, what);
    }

    /** Fails if anything outside the view changed. */
    void assertGuardsIntact(Tensor t, String what) {
        float[] all = HeapStorage.f(t);
        int from = HeapStorage.off(t), to = from + HeapStorage.n(t);
        for (int j = 0; j < all.length; j++) {
            if ((j < from || j >= to) && all[j] != GUARD) {
                fail(what + " [seed " + seed + "]: wrote outside its view at storage index " + j + " (view [" + from + ", " + to + "))");
            }
        }
    }

    /** |a − e| ≤ tol·|e| for a scalar result. */
    void assertClose(double expected, double actual, double tol, String what) {
        assertEquals(expected, actual, tol * Math.abs(expected), what + " [seed " + seed + "]");
    }

    private Tensor guarded(long... shape) {
        long numel = 1;
        for (long s : shape) numel *= s;
        int lead = between(1, 37), trail = between(0, 9);
        Tensor storage = MEMORY.zeros(DType.F32, lead + numel + trail);
        MEMORY.fill(storage, GUARD);
        return storage.view(lead, shape);
    }
}
