package dev.sparsetrain.cpu;

/**
 * Per-thread scratch arrays of the CPU sparse kernels (tile transposes, accumulators), kept between
 * calls so a training step allocates nothing once every worker thread has seen the largest shape.
 */
final class SparseScratch {
    /** Slots in use: one per array a kernel needs at the same time. */
    static final int TILE_INPUT = 0, TILE_OUTPUT = 1, ACCUMULATORS = 2, STATS = 3;
    private static final ThreadLocal<float[][]> SLOTS = ThreadLocal.withInitial(() -> new float[4][]);
    /** Int slots: per-tile row offsets, packed column indices, per-tile row lists. */
    static final int ROW_OFFSETS = 0, COLUMNS = 1, ROW_LISTS = 2;
    private static final ThreadLocal<int[][]> INTS = ThreadLocal.withInitial(() -> new int[3][]);

    private SparseScratch() {}

    /** This thread's array for {@code slot}, at least {@code size} long; contents are left over from earlier use. */
    static float[] floats(int slot, int size) {
        float[][] slots = SLOTS.get();
        if (slots[slot] == null || slots[slot].length < size) slots[slot] = new float[size];
        return slots[slot];
    }

    /** This thread's int array for {@code slot}, at least {@code size} long; contents are left over from earlier use. */
    static int[] ints(int slot, int size) {
        int[][] slots = INTS.get();
        if (slots[slot] == null || slots[slot].length < size) slots[slot] = new int[size];
        return slots[slot];
    }
}
