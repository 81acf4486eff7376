package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.CudaStorage.ptr;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;

/**
 * Device scratch of the {@link AttentionKernel#FA2} attention ({@code attention_fa2.cu}): bf16 copies
 * of q, k, v and dOut, the backward's row deltas D = rowsum(dOut ⊙ out) and its fp32 dQ accumulator.
 * Each buffer grows to the largest call seen and is then reused, so a training step whose layers
 * share one shape allocates on its first attention call only. Calls run in stream order, so one
 * scratch serves every layer's forward and backward in turn.
 *
 * <p>Buffers come from an {@link Allocator} (the backend's device memory, whose fresh allocations
 * are 256-byte aligned: the kernels copy 16-byte chunks and add 8-byte pairs) and go back to it when
 * a buffer grows and on {@link #close()}. Use from one thread at a time, like the backend.
 */
public final class AttentionScratch implements AutoCloseable {
    /** Makes a device tensor; its first element must be 16-byte aligned. */
    @FunctionalInterface
    public interface Allocator {
        Tensor allocate(DType dtype, long... shape);
    }

    private final Buffer queries, keys, values, dOut, deltas, dqAccumulator;

    public AttentionScratch(Allocator allocator) {
        this.queries = new Buffer(allocator, "bf16 q", DType.BF16);
        this.keys = new Buffer(allocator, "bf16 k", DType.BF16);
        this.values = new Buffer(allocator, "bf16 v", DType.BF16);
        this.dOut = new Buffer(allocator, "bf16 dOut", DType.BF16);
        this.deltas = new Buffer(allocator, "row deltas", DType.F32);
        this.dqAccumulator = new Buffer(allocator, "dQ accumulator", DType.F32);
    }

    /** Device address of at least {@code elements} bf16 for the copy of q. */
    long queries(long elements) { return queries.atLeast(elements); }

    /** Device address of at least {@code elements} bf16 for the copy of k. */
    long keys(long elements) { return keys.atLeast(elements); }

    /** Device address of at least {@code elements} bf16 for the copy of v. */
    long values(long elements) { return values.atLeast(elements); }

    /** Device address of at least {@code elements} bf16 for the copy of dOut. */
    long dOut(long elements) { return dOut.atLeast(elements); }

    /** Device address of at least {@code elements} floats for the row deltas D. */
    long deltas(long elements) { return deltas.atLeast(elements); }

    /** Device address of at least {@code elements} floats for the dQ accumulator. */
    long dqAccumulator(long elements) { return dqAccumulator.atLeast(elements); }

    /** Bytes held now, all buffers together. */
    public long bytes() {
        long total = 0;
        for (Buffer b : new Buffer[] {queries, keys, values, dOut, deltas, dqAccumulator}) total += b.bytes();
        return total;
    }

    /** Gives every buffer back to its allocator's owner; the scratch may be used again afterwards (it reallocates). */
    @Override
    public void close() {
        for (Buffer b : new Buffer[] {queries, keys, values, dOut, deltas, dqAccumulator}) b.release();
    }

    /** One device buffer that only grows. */
    private static final class Buffer {
        private static final int ALIGNMENT = 16;
        private final Allocator allocator;
        private final String name;
        private final DType dtype;
        private Tensor tensor;

        Buffer(Allocator allocator, String name, DType dtype) {
            this.allocator = allocator;
            this.name = name;
            this.dtype = dtype;
        }

        long atLeast(long elements) {
            if (elements <= 0) throw new IllegalArgumentException("attention scratch " + name + ": need a positive element count, got " + elements);
            if (tensor != null && tensor.numel() >= elements) return ptr(tensor);
            // Queued kernels may still read the old buffer; the owner's release waits for them.
            release();
            Tensor t = allocator.allocate(dtype, elements);
            if (ptr(t) % ALIGNMENT != 0) {
                if (t.storage() instanceof CudaStorage s) s.close();
                throw new IllegalStateException("attention scratch " + name + " at 0x" + Long.toHexString(ptr(t)) + " is not " + ALIGNMENT
                        + "-byte aligned; the fa2 kernels copy 16-byte chunks, so the allocator must return aligned buffers");
            }
            tensor = t;
            return ptr(t);
        }

        long bytes() { return tensor == null ? 0 : tensor.numel() * dtype.bytes(); }

        void release() {
            if (tensor == null) return;
            if (tensor.storage() instanceof CudaStorage s) s.close();
            tensor = null;
        }
    }
}
