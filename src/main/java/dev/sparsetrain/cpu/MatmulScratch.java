package dev.sparsetrain.cpu;

/**
 * Per-thread packing buffers of the CPU GEMM, grown on demand and kept, so steady-state training
 * allocates nothing per call. The calling thread owns a B panel that its workers read; each worker
 * owns an A block and an edge tile. They are separate objects because the calling thread may run
 * a worker task itself while its B panel is in use.
 */
final class MatmulScratch {
    private static final ThreadLocal<MatmulScratch> PANEL = ThreadLocal.withInitial(MatmulScratch::new);
    private static final ThreadLocal<MatmulScratch> WORKER = ThreadLocal.withInitial(MatmulScratch::new);

    private float[] packed = new float[0];
    private float[] tile = new float[0];

    private MatmulScratch() {}

    /** The calling thread's buffers for the shared packed B panel. */
    static MatmulScratch panel() { return PANEL.get(); }

    /** The executing thread's buffers for its packed A block and edge tile. */
    static MatmulScratch worker() { return WORKER.get(); }

    float[] packed(int floats) {
        if (packed.length < floats) packed = new float[floats];
        return packed;
    }

    float[] tile(int floats) {
        if (tile.length < floats) tile = new float[floats];
        return tile;
    }
}
