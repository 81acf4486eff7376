package dev.sparsetrain.cpu;

/**
 * The routed rows of one layer cut into tiles of {@link SparseLanes#TILE} rows that never straddle
 * two experts: expert e's rows [rowOffsets[e], rowOffsets[e+1]) become ⌈count/TILE⌉ tiles, the last
 * one possibly short. Rebuilt by every up-projection from the router's row offsets.
 */
final class SparseTiles {
    final int capacity;
    final int[] expert, firstRow, rows;
    /** Expert e's tiles are [expertTiles[e], expertTiles[e+1]). */
    final int[] expertTiles;
    int count;
    int[] rowOffsets;

    /** Room for the tiles of up to {@code capacityRows} rows over {@code experts} experts. */
    SparseTiles(int capacityRows, int experts) {
        this.capacity = capacityRows / SparseLanes.TILE + experts + 1;
        this.expert = new int[capacity];
        this.firstRow = new int[capacity];
        this.rows = new int[capacity];
        this.rowOffsets = new int[experts + 1];
        this.expertTiles = new int[experts + 1];
    }

    void build(int[] offsets) {
        int n = 0;
        for (int e = 0; e + 1 < offsets.length; e++) {
            expertTiles[e] = n;
            for (int r = offsets[e]; r < offsets[e + 1]; r += SparseLanes.TILE) {
                expert[n] = e;
                firstRow[n] = r;
                rows[n] = Math.min(SparseLanes.TILE, offsets[e + 1] - r);
                n++;
            }
        }
        expertTiles[offsets.length - 1] = n;
        count = n;
        rowOffsets = offsets.clone();
    }
}
