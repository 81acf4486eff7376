package dev.sparsetrain.cuda;

/**
 * One device buffer that only grows: scratch whose size is known only at the first call of a shape.
 * A training step repeats its shapes, so after the first step it never allocates again.
 */
final class GrowingBuffer implements AutoCloseable {
    /** Sizes grow in steps of this, so a slightly larger request does not reallocate. */
    private static final long GRANULE = 2L << 20;

    private final CudaContext context;
    private final String purpose;
    private long pointer, bytes;

    /** {@code purpose} names the buffer in an out-of-memory message. */
    GrowingBuffer(CudaContext context, String purpose) {
        this.context = context;
        this.purpose = purpose;
    }

    /** A buffer of at least {@code needed} bytes, 256-byte aligned; reallocates only when it must grow. */
    long atLeast(long needed) {
        if (needed <= bytes) return pointer;
        long size = Math.ceilDiv(needed, GRANULE) * GRANULE;
        // Queued kernels may still read the old buffer.
        close();
        Driver.Allocation a = context.driver.memAlloc(size);
        context.driver.check(a.code(), "cuMemAlloc_v2(" + purpose + ", " + CudaMemory.human(size) + ")");
        pointer = a.pointer();
        bytes = size;
        return pointer;
    }

    @Override
    public void close() {
        if (pointer == 0) return;
        context.synchronize();
        context.driver.memFree(pointer);
        pointer = 0;
        bytes = 0;
    }
}
