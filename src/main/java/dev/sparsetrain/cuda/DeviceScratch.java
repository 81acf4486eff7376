package dev.sparsetrain.cuda;

/**
 * One device buffer that only grows: a GEMM's operand copy or workspace. It grows in steps of
 * {@link #GRANULE}, so a slightly larger request does not reallocate, and reallocates (rarely: the
 * first step's shapes) only when it must. Growing and closing first wait for the stream, because
 * queued work may still use the old buffer.
 */
final class DeviceScratch implements AutoCloseable {
    static final long GRANULE = 2L << 20;

    private final CudaContext context;
    private final String purpose;
    private long pointer, bytes;

    /** {@code purpose} names the buffer in an allocation failure ("cuSPARSELt workspace"). */
    DeviceScratch(CudaContext context, String purpose) {
        this.context = context;
        this.purpose = purpose;
    }

    /** A scratch buffer that already holds {@code needed} bytes (allocated now), for a block that frees it when done. */
    static DeviceScratch sized(CudaContext context, String purpose, long needed) {
        DeviceScratch s = new DeviceScratch(context, purpose);
        s.atLeast(needed);
        return s;
    }

    /** The device address of at least {@code needed} bytes; 0 while nothing was ever needed. */
    long atLeast(long needed) {
        if (needed <= bytes) return pointer;
        long size = Math.ceilDiv(needed, GRANULE) * GRANULE;
        close();
        Driver.Allocation a = context.driver.memAlloc(size);
        context.driver.check(a.code(), "cuMemAlloc_v2(" + purpose + ", " + CudaMemory.human(size) + ")");
        pointer = a.pointer();
        bytes = size;
        return pointer;
    }

    long pointer() { return pointer; }

    @Override
    public void close() {
        if (pointer == 0) return;
        context.synchronize();
        context.driver.memFree(pointer);
        pointer = 0;
        bytes = 0;
    }
}
