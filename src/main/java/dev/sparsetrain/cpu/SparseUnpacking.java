package dev.sparsetrain.cpu;

/**
 * Moves packed activation values to and from dense [rows, f] form: for inspection, and for the
 * optional MVUE step, which needs whole groups including the zeros.
 */
final class SparseUnpacking {
    private SparseUnpacking() {}

    /**
     * Writes the packed {@code values} densely: out[outOff + (r − firstRow)·rowStride + n·colStride]
     * for every routed row r of the experts' tiles in [firstTile, endTile) and expert-local neuron n;
     * zero off the pattern.
     */
    static void unpack(CpuPackedActivations act, float[] values, int firstTile, int endTile, int firstRow,
                       float[] out, int outOff, int rowStride, int colStride) {
        int f = act.f;
        for (int tile = firstTile; tile < endTile; tile++) {
            int r0 = act.tiles.firstRow[tile] - firstRow;
            for (int t = 0; t < act.tiles.rows[tile]; t++) {
                for (int n = 0; n < f; n++) out[outOff + (r0 + t) * rowStride + n * colStride] = 0f;
            }
            for (int n = 0; n < f; n++) {
                int at = act.slot(tile, n);
                for (long b = act.bits[tile * f + n]; b != 0; b &= b - 1) {
                    out[outOff + (r0 + Long.numberOfTrailingZeros(b)) * rowStride + n * colStride] = values[at++];
                }
            }
        }
    }

    /** The inverse of {@link #unpack} on the pattern: reads the pattern's entries back into the packed {@code values}. */
    static void repack(CpuPackedActivations act, float[] values, int firstTile, int endTile, int firstRow,
                       float[] in, int rowStride, int colStride) {
        int f = act.f;
        for (int tile = firstTile; tile < endTile; tile++) {
            int r0 = act.tiles.firstRow[tile] - firstRow;
            for (int n = 0; n < f; n++) {
                int at = act.slot(tile, n);
                for (long b = act.bits[tile * f + n]; b != 0; b &= b - 1) {
                    values[at++] = in[(r0 + Long.numberOfTrailingZeros(b)) * rowStride + n * colStride];
                }
            }
        }
    }
}
