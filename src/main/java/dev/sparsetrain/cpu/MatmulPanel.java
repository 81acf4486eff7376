package dev.sparsetrain.cpu;

import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * The packed op(B) column panel of one GEMM call, shared by all its tasks and packed lazily: the
 * first task to need a sliver packs it, any other task that needs it meanwhile waits for it. So
 * packing runs inside the compute phase, spread over the threads, and a call costs one fork/join
 * instead of two, which matters for the many mid-sized products of a small model.
 */
final class MatmulPanel {
    private static final int UNPACKED = 0, PACKING = 1, PACKED = 2, FAILED = 3;

    /** The packed slivers, as {@link MatmulPacking#packB} lays them out. */
    final float[] floats;
    private final AtomicIntegerArray state;
    private final float[] b;
    private final int bOff, n, k, c0, c1, nr;
    private final boolean transB;

    MatmulPanel(float[] floats, int slivers, float[] b, int bOff, boolean transB, int n, int k, int c0, int c1, int nr) {
        this.floats = floats;
        this.state = new AtomicIntegerArray(slivers);
        this.b = b;
        this.bOff = bOff;
        this.transB = transB;
        this.n = n;
        this.k = k;
        this.c0 = c0;
        this.c1 = c1;
        this.nr = nr;
    }

    /**
     * Returns once sliver q is packed. The thread that packs it is running, so waiting for it
     * always ends; the volatile state write publishes the packed floats to the waiters.
     */
    void ensurePacked(int q) {
        int s = state.get(q);
        if (s == PACKED) return;
        if (s == UNPACKED && state.compareAndSet(q, UNPACKED, PACKING)) {
            try {
                MatmulPacking.packB(b, bOff, transB, n, k, c0, c1, nr, q, floats);
            } catch (RuntimeException | Error e) {
                state.set(q, FAILED);
                throw e;
            }
            state.set(q, PACKED);
            return;
        }
        while ((s = state.get(q)) != PACKED) {
            if (s == FAILED) throw new IllegalStateException("another thread failed to pack GEMM panel sliver " + q);
            Thread.onSpinWait();
        }
    }
}
