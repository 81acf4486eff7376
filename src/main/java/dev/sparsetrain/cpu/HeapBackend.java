package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.i;
import static dev.sparsetrain.cpu.HeapStorage.n;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;

/** Memory operations shared by the two CPU backends (reference and fast): both use {@link HeapStorage}. */
abstract class HeapBackend implements Backend {

    @Override
    public Tensor zeros(DType dtype, long... shape) { return HeapStorage.allocate(dtype, shape); }

    @Override
    public void upload(Tensor dst, float[] src, int srcOff) { System.arraycopy(src, srcOff, f(dst), off(dst), n(dst)); }

    @Override
    public void uploadInts(Tensor dst, int[] src, int srcOff) { System.arraycopy(src, srcOff, i(dst), off(dst), n(dst)); }

    @Override
    public void download(Tensor src, float[] dst, int dstOff) { System.arraycopy(f(src), off(src), dst, dstOff, n(src)); }

    @Override
    public void fill(Tensor t, float value) { Arrays.fill(f(t), off(t), off(t) + n(t), value); }

    @Override
    public void copy(Tensor dst, Tensor src) {
        if (dst.numel() != src.numel()) throw new IllegalArgumentException("copy " + src + " -> " + dst);
        System.arraycopy(f(src), off(src), f(dst), off(dst), n(src));
    }
}
