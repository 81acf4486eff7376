package dev.sparsetrain.data;

/**
 * Where a {@link TokenLoader} reads next: saved in checkpoints so a resumed run sees the same batches.
 *
 * @param shard  index into the loader's shard list
 * @param offset token offset inside that shard where the next row starts (before the loader moves on to
 *               the next shard when too few tokens remain for a row)
 */
public record LoaderPosition(int shard, long offset) {
    public LoaderPosition {
        if (shard < 0 || offset < 0) {
            throw new IllegalArgumentException("loader position must have shard >= 0 and offset >= 0, got shard "
                    + shard + ", offset " + offset);
        }
    }

    /** The start of the first shard. */
    public static final LoaderPosition START = new LoaderPosition(0, 0);
}
