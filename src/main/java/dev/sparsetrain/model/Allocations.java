package dev.sparsetrain.model;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The backend buffers one model owns: allocated once when the model is built (never in a step) and
 * released together when it is closed.
 *
 * <p>Heap storages need no release; a storage that is {@link AutoCloseable} (device memory) is
 * closed here, by its one owner, never by a cleaner thread.
 */
public final class Allocations implements AutoCloseable {
    private final Backend backend;
    private final List<Tensor> owned = new ArrayList<>();

    public Allocations(Backend backend) { this.backend = backend; }

    /** A new zero-filled F32 tensor owned by this set. */
    public Tensor f32(long... shape) { return own(backend.zeros(DType.F32, shape)); }

    /** A new zero-filled I32 tensor owned by this set. */
    public Tensor i32(long... shape) { return own(backend.zeros(DType.I32, shape)); }

    /** Bytes held by all buffers of this set. */
    public long bytes() {
        return owned.stream().mapToLong(t -> t.numel() * t.dtype().bytes()).sum();
    }

    private Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (Tensor t : owned) {
            if (!(t.storage() instanceof AutoCloseable c)) continue;
            try {
                c.close();
            } catch (Exception e) {
                if (failure == null) failure = new IllegalStateException("could not release a model buffer " + t, e);
                else failure.addSuppressed(e);
            }
        }
        owned.clear();
        if (failure != null) throw failure;
    }
}
