package dev.sparsetrain.cuda;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link KernelLauncher} that records launches instead of running them, and makes CUDA tensors
 * at made-up, distinct device addresses (test support: no GPU is touched).
 */
final class RecordingLauncher implements KernelLauncher {

    /** One recorded launch. */
    record Launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int blockY, int sharedBytes, List<Object> args) {}

    final List<Launch> launches = new ArrayList<>();
    private long nextAddress = 0x7f00_0000_0000L;

    @Override
    public void launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int blockY, int sharedBytes, Object... args) {
        launches.add(new Launch(kernel, gridX, gridY, gridZ, blockX, blockY, sharedBytes, List.of(args)));
    }

    /**
     * A tensor of {@code shape} in its own storage, viewed 3 elements in, so a launch that passes the
     * storage base instead of {@link CudaStorage#ptr} is caught.
     */
    Tensor tensor(DType dtype, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        var storage = new CudaStorage(nextAddress, n + 3, dtype);
        nextAddress += (n + 3) * dtype.bytes() + (1 << 20);
        return new Tensor(storage, dtype, 3, shape);
    }

    Tensor f32(long... shape) { return tensor(DType.F32, shape); }

    /** A tensor at the start of its own 256-byte-aligned storage, as a fresh device allocation is (an {@link AttentionScratch.Allocator}). */
    Tensor aligned(DType dtype, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        nextAddress = (nextAddress + 255) & ~255L;
        var storage = new CudaStorage(nextAddress, n, dtype);
        nextAddress += n * dtype.bytes() + (1 << 20);
        return new Tensor(storage, dtype, 0, shape);
    }

    /** The single launch recorded so far; fails unless there is exactly one. */
    Launch only() {
        if (launches.size() != 1) throw new AssertionError("expected exactly one launch, got " + launches);
        return launches.getFirst();
    }

    /** A recorder that has run every op of {@link CudaKernels} once, attention at every head-dim width. */
    static RecordingLauncher everyOp() {
        var l = new RecordingLauncher();
        Tensor x = l.f32(4, 8), y = l.f32(4, 8), z = l.f32(4, 8), w = l.f32(4, 8), u = l.f32(4, 8);
        CudaKernels.fill(l, x, 1f);
        CudaKernels.scale(l, x, 2f);
        CudaKernels.add(l, x, y, z);
        CudaKernels.sumSquares(l, x, l.f32(CudaKernels.SUM_BLOCKS));
        CudaKernels.relu2Forward(l, x, y);
        CudaKernels.relu2Backward(l, x, y, z);
        CudaKernels.swigluForward(l, x, y, z);
        CudaKernels.swigluBackward(l, x, y, z, w, u);
        Tensor tokens = l.tensor(DType.I32, 4), table = l.f32(10, 8);
        CudaKernels.embeddingForward(l, x, tokens, table);
        CudaKernels.embeddingBackward(l, table, tokens, x);
        Tensor rstd = l.f32(4), weight = l.f32(8);
        CudaKernels.rmsNormForward(l, x, rstd, y, weight, 1e-5f);
        CudaKernels.rmsNormBackward(l, x, weight, y, z, weight, rstd);
        Tensor xa = l.aligned(DType.F32, 4, 8), ya = l.aligned(DType.F32, 4, 8), wa = l.aligned(DType.F32, 8);
        CudaKernels.rmsNormForward(l, xa, rstd, ya, wa, 1e-5f);  // aligned rows of whole quads: the 16-byte-access kernels
        CudaKernels.rmsNormBackward(l, xa, weight, ya, xa, wa, rstd);
        CudaKernels.ropeForward(l, x, 2, 2, 4, 10000f);
        CudaKernels.ropeBackward(l, x, 2, 2, 4, 10000f);
        CudaKernels.crossEntropy(l, x, tokens, rstd, 1f);
        CudaKernels.adamw(l, x, y, z, w, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1, 1f);
        var scratch = new AttentionScratch(l::aligned);
        for (int headDim : new int[] {32, 64, 128}) {
            int batch = 1, seqLen = 3, nHeads = 2, nKvHeads = 1;
            Tensor q = l.f32(seqLen, nHeads * headDim), kv = l.f32(seqLen, nKvHeads * headDim), lse = l.f32(batch, nHeads, seqLen);
            for (var mode : AttentionKernel.values()) {
                CudaKernels.attentionForward(l, mode, scratch, q, lse, q, kv, kv, batch, seqLen, nHeads, nKvHeads, headDim);
            }
            for (var mode : AttentionKernel.values()) {
                CudaKernels.attentionBackward(l, mode, scratch, q, kv, kv, q, q, kv, kv, q, lse, batch, seqLen, nHeads, nKvHeads, headDim);
            }
        }
        return l;
    }
}
