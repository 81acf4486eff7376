package dev.sparsetrain.cuda;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Device allocations of one backend: one cuMemAlloc per tensor, zero-filled in stream order, tracked
 * so that {@link #close()} frees whatever the model did not release itself. An allocation that does
 * not fit fails with a message that says how much was asked, what is free, and which settings to lower.
 */
final class CudaMemory implements AutoCloseable, CudaStorage.Owner {
    private final CudaContext context;
    private final Map<Long, Long> live = new HashMap<>();
    private long liveBytes;

    CudaMemory(CudaContext context) { this.context = context; }

    /** A new zero-filled tensor; sizes are rounded up to whole 32-bit words so one memset clears any dtype. */
    Tensor allocate(DType dtype, long... shape) {
        long numel = 1;
        for (long s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            numel = Math.multiplyExact(numel, s);
        }
        if (numel == 0) return new Tensor(new CudaStorage(0, 0, dtype), dtype, 0, shape);
        long bytes = Math.multiplyExact(numel, dtype.bytes());
        long rounded = (bytes + 3) & ~3L;
        Driver.Allocation a = context.driver.memAlloc(rounded);
        if (a.code() == Driver.CUDA_ERROR_OUT_OF_MEMORY) throw outOfMemory(rounded, dtype, shape);
        context.driver.check(a.code(), "cuMemAlloc_v2(" + rounded + " bytes)");
        live.put(a.pointer(), rounded);
        liveBytes += rounded;
        context.driver.memsetD32Async(a.pointer(), 0, rounded / 4, context.stream());
        return new Tensor(new CudaStorage(a.pointer(), numel, dtype, this), dtype, 0, shape);
    }

    /** Frees one allocation early; queued work that may still use it finishes first. */
    @Override
    public void release(CudaStorage storage) {
        Long bytes = live.remove(storage.address());
        if (bytes == null) return;
        liveBytes -= bytes;
        context.synchronize();
        context.driver.memFree(storage.address());
    }

    long liveBytes() { return liveBytes; }

    private CudaOutOfMemoryException outOfMemory(long bytes, DType dtype, long[] shape) {
        Driver.MemoryInfo info = context.driver.memoryInfo();
        return new CudaOutOfMemoryException(String.format(Locale.ROOT,
                "out of GPU memory on cuda:%d (%s): a %s %s tensor needs %s, %s of %s is free and this run holds %s in %d buffers."
                        + " Lower train.batch_size or model.seq_len (raise train.grad_accum to keep the tokens per step), or train a smaller model.",
                context.ordinal, context.deviceName, dtype, Arrays.toString(shape), human(bytes), human(info.free()), human(info.total()),
                human(liveBytes), live.size()));
    }

    static String human(long bytes) {
        if (bytes < 1024 * 1024) return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        if (bytes < 1024L * 1024 * 1024) return String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024));
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (1024.0 * 1024 * 1024));
    }

    /** Frees every allocation still held. */
    @Override
    public void close() {
        if (live.isEmpty()) return;
        context.synchronize();
        CudaException failure = null;
        for (long pointer : live.keySet()) {
            try {
                context.driver.memFree(pointer);
            } catch (CudaException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        }
        live.clear();
        liveBytes = 0;
        if (failure != null) throw failure;
    }
}
