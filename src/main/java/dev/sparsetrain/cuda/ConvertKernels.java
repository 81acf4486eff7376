package dev.sparsetrain.cuda;

import java.util.List;

/**
 * The host side of {@code kernels/convert.cu}: fp32 → bfloat16 conversion of GEMM operands and the
 * exact way back, on raw device pointers because its buffers are scratch, not tensors. Kept apart from
 * {@link CudaKernels}, which launches the {@link dev.sparsetrain.tensor.Backend} ops' kernels.
 */
public final class ConvertKernels {
    /** The kernel sources this class launches, resources under {@code /kernels/}. */
    public static final List<String> SOURCES = List.of("convert.cu");

    /** Mirrors CONVERT_THREADS of convert.cu (its launch bound). */
    static final int THREADS = 256;
    /** Elements one thread converts per loop step on the vectorised path. */
    private static final int ELEMENTS_PER_THREAD = 4;
    /** Grid-stride: the grid stops growing here, ~8 waves of a full H200. */
    private static final int MAX_BLOCKS = 8192;

    private ConvertKernels() {}

    /** Queues bf16(src[i]) → dst[i] for {@code count} elements; {@code dst} holds 2 bytes per element. Nothing for count 0. */
    public static void toBf16(KernelLauncher l, long dst, long src, long count) {
        if (count < 0) throw new IllegalArgumentException("convert to bf16: negative element count " + count);
        if (count == 0) return;
        long perBlock = (long) THREADS * ELEMENTS_PER_THREAD;
        int blocks = (int) Math.min(MAX_BLOCKS, (count + perBlock - 1) / perBlock);
        l.launch("convert_f32_to_bf16", blocks, 1, 1, THREADS, 1, 0, dst, src, count);
    }

    /** Queues float(src[i]) → dst[i] for {@code count} bf16 elements (exact); {@code dst} holds 4 bytes per element. */
    public static void toF32(KernelLauncher l, long dst, long src, long count) {
        if (count < 0) throw new IllegalArgumentException("convert to fp32: negative element count " + count);
        if (count == 0) return;
        int blocks = (int) Math.min(MAX_BLOCKS, (count + THREADS - 1) / THREADS);
        l.launch("convert_bf16_to_f32", blocks, 1, 1, THREADS, 1, 0, dst, src, count);
    }
}
