package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Storage;
import dev.sparsetrain.tensor.Tensor;

/**
 * Java-heap storage for the CPU backends: a float[] for F32, an int[] for I32.
 *
 * <p>Why heap arrays rather than off-heap segments: the Vector API compiles {@code fromArray}
 * loads to the tightest code, the CPU never hands these buffers to native code, and a model that
 * fits a CPU fits 2³¹ elements per buffer. The CUDA backend has its own device storage.
 */
public final class HeapStorage implements Storage {
    private final float[] floats;
    private final int[] ints;

    private HeapStorage(float[] floats, int[] ints) {
        this.floats = floats;
        this.ints = ints;
    }

    static Tensor allocate(DType dtype, long... shape) {
        long n = 1;
        for (long s : shape) n = Math.multiplyExact(n, s);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a CPU tensor holds at most 2^31 elements; asked for " + n);
        }
        HeapStorage s = switch (dtype) {
            case F32 -> new HeapStorage(new float[(int) n], null);
            case I32 -> new HeapStorage(null, new int[(int) n]);
            default -> throw new IllegalArgumentException("CPU backends store F32 and I32, not " + dtype);
        };
        return new Tensor(s, dtype, 0, shape);
    }

    @Override
    public long capacity() { return floats != null ? floats.length : ints.length; }

    /** The float array behind an F32 tensor; index it from {@link #off(Tensor)}. */
    public static float[] f(Tensor t) {
        if (!(t.storage() instanceof HeapStorage h) || h.floats == null) {
            throw new IllegalArgumentException("expected an F32 CPU tensor, got " + t + " on " + t.storage().getClass().getSimpleName());
        }
        return h.floats;
    }

    /** The int array behind an I32 tensor; index it from {@link #off(Tensor)}. */
    public static int[] i(Tensor t) {
        if (!(t.storage() instanceof HeapStorage h) || h.ints == null) {
            throw new IllegalArgumentException("expected an I32 CPU tensor, got " + t);
        }
        return h.ints;
    }

    /** The tensor's first element's index in its array. */
    public static int off(Tensor t) { return (int) t.offset(); }

    /** The tensor's element count as an int. */
    public static int n(Tensor t) { return (int) t.numel(); }
}
