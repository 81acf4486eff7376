package dev.sparsetrain.cuda;

/**
 * The bf16 copies of fp32 GEMM operands that {@link DenseMatmul} makes in its bf16 precision, kept
 * in a few slots and reused while nothing can have changed their source: the model's GEMMs come in
 * runs that share operands (x for the q, k and v projections; dY for a layer's weight and input
 * gradients; the FFN's dZ, [tokens, F], for dW1 and dX), and each avoided conversion saves reading
 * 4 and writing 2 bytes per element.
 *
 * <p>A copy stays valid only until {@link #forgetAll} (which the backend calls before every op that
 * is not a GEMM: any of them may write anywhere, and an allocation may reuse a freed address) or
 * until a GEMM writes over its source ({@link #forgetOverlapping}). Slots are taken least recently
 * used first; each grows to the largest operand it held and is then reused.
 */
final class Bf16Conversions implements AutoCloseable {
    /** Enough for the longest run of GEMMs that share operands (q, k, v: x and three weights) plus the next GEMM's two. */
    static final int SLOTS = 6;

    private final KernelLauncher launcher;
    private final DeviceScratch[] buffers = new DeviceScratch[SLOTS];
    private final long[] source = new long[SLOTS], elements = new long[SLOTS], lastUse = new long[SLOTS];
    private final boolean[] valid = new boolean[SLOTS];
    private long clock;
    private int reused, converted;

    Bf16Conversions(CudaContext context, KernelLauncher launcher) {
        this.launcher = launcher;
        for (int i = 0; i < SLOTS; i++) {
            buffers[i] = new DeviceScratch(context, "bf16 copy of a GEMM operand (" + GemmPrecision.VARIABLE + "=fp32 needs none)");
        }
    }

    /**
     * A device pointer to bf16(src[0..n)): a valid copy if one exists, else a conversion queued now
     * into the least recently used slot other than {@code keep}'s (the other operand of the same GEMM).
     */
    long of(long src, long n, long keep) {
        clock++;
        for (int i = 0; i < SLOTS; i++) {
            if (valid[i] && source[i] == src && elements[i] == n) {
                lastUse[i] = clock;
                reused++;
                return buffers[i].pointer();
            }
        }
        int slot = -1;
        for (int i = 0; i < SLOTS; i++) {
            if (valid[i] && buffers[i].pointer() == keep) continue;
            if (slot < 0 || !valid[i] && valid[slot] || valid[i] == valid[slot] && lastUse[i] < lastUse[slot]) slot = i;
        }
        long dst = buffers[slot].atLeast(n * 2);
        ConvertKernels.toBf16(launcher, dst, src, n);
        source[slot] = src;
        elements[slot] = n;
        valid[slot] = true;
        lastUse[slot] = clock;
        converted++;
        return dst;
    }

    /** Drops every copy whose fp32 source overlaps the {@code bytes} at {@code pointer} (a GEMM is about to write there). */
    void forgetOverlapping(long pointer, long bytes) {
        for (int i = 0; i < SLOTS; i++) {
            if (valid[i] && pointer < source[i] + elements[i] * 4 && source[i] < pointer + bytes) valid[i] = false;
        }
    }

    /** Drops every copy. */
    void forgetAll() {
        for (int i = 0; i < SLOTS; i++) valid[i] = false;
    }

    /** Conversions avoided and made so far (for tests and logs). */
    int reused() { return reused; }

    int converted() { return converted; }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (DeviceScratch b : buffers) {
            try {
                b.close();
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        if (failure != null) throw failure;
    }
}
