package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.AttentionVectors.TILE;
import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;

/**
 * The attention forward, flash-attention style: one task per (batch row, kv head, query tile)
 * walks the key tiles up to the diagonal with an online softmax (running max and sum per query
 * row, rescaling the partial output when the max grows), so it holds one tile of scores at a time
 * and never a score matrix. The task serves every query head of the kv head's group, so each key tile
 * is read once for the whole group. Tasks own disjoint rows of out and lse.
 */
final class AttentionForward {
    private final AttentionShape shape;
    private final float[] out, lse, q, v;
    private final int outAt, lseAt, qAt, vAt;
    /** k as transposed tiles, see {@link AttentionVectors#transposedTiles}. */
    private final float[] keysT;

    private AttentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, AttentionShape shape) {
        this.shape = shape;
        this.out = f(out);
        this.lse = f(lse);
        this.q = f(q);
        this.v = f(v);
        this.outAt = off(out);
        this.lseAt = off(lse);
        this.qAt = off(q);
        this.vAt = off(v);
        this.keysT = AttentionVectors.transposedTiles(f(k), off(k), shape);
    }

    static void run(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, AttentionShape shape) {
        new AttentionForward(out, lse, q, k, v, shape).runTasks();
    }

    /** One thread's working memory: a tile of scores, and the softmax state of the task's rows. */
    private record Scratch(float[] scores, float[] max, float[] sum) {
        Scratch(AttentionShape shape) {
            this(new float[TILE * TILE], new float[shape.group() * TILE], new float[shape.group() * TILE]);
        }
    }

    private void runTasks() {
        int tiles = shape.tiles(), kvHeads = shape.nKvHeads();
        Parallel.forRange(shape.batch() * kvHeads * tiles, 1, (from, to) -> {
            Scratch scratch = new Scratch(shape);
            for (int task = from; task < to; task++) {
                queryTile(task / (kvHeads * tiles), task / tiles % kvHeads, task % tiles, scratch);
            }
        });
    }

    private void queryTile(int b, int kvh, int tile, Scratch s) {
        int d = shape.headDim(), group = shape.group(), kvWidth = shape.kvWidth(), qWidth = shape.queryWidth();
        int i0 = tile * TILE, rows = Math.min(TILE, shape.seqLen() - i0);
        float scale = shape.scale();
        Arrays.fill(s.max(), Float.NEGATIVE_INFINITY);
        Arrays.fill(s.sum(), 0f);
        // Key tiles start at multiples of TILE like query tiles, so every key tile up to this one has j0 <= i0.
        for (int j0 = 0; j0 <= i0; j0 += TILE) {
            int keys = Math.min(TILE, shape.seqLen() - j0), firstKey = shape.kvAt(b, j0, kvh);
            // Query row r sees keys c <= r + diagonal of this tile; all of them unless the tile is the diagonal one.
            int diagonal = i0 - j0;
            boolean firstTile = j0 == 0;
            int keyTile = shape.tileAt(b, kvh, j0 / TILE);
            for (int g = 0; g < group; g++) {
                int firstQuery = shape.queryAt(b, i0, kvh * group + g);
                for (int r = 0; r < rows; r += AttentionProduct.ROWS) {
                    int n = Math.min(AttentionProduct.ROWS, rows - r), visible = Math.min(keys, r + n + diagonal);
                    AttentionProduct.block(s.scores(), r * TILE, TILE, n, false, q, qAt + firstQuery + r * qWidth, qWidth, 1,
                            keysT, keyTile, TILE, 0, d, AttentionVectors.paddedWidth(visible));
                }
                for (int r = 0; r < rows; r++) {
                    int visible = Math.min(keys, r + 1 + diagonal), row = g * TILE + r, at = r * TILE;
                    float oldMax = s.max()[row];
                    float newMax = Math.max(oldMax, AttentionVectors.max(s.scores(), at, visible) * scale);
                    float tileSum = AttentionVectors.expScaledShifted(s.scores(), at, visible, scale, newMax);
                    // Masked keys get probability 0, so that the row block products below may run over them.
                    Arrays.fill(s.scores(), at + visible, at + keys, 0f);
                    float keep = (float) Math.exp(oldMax - newMax);
                    s.sum()[row] = s.sum()[row] * keep + tileSum;
                    s.max()[row] = newMax;
                    if (!firstTile) AttentionVectors.scale(out, outAt + firstQuery + r * qWidth, d, keep);
                }
                // The first tile writes the output rows; later ones add to the rescaled partial sums.
                for (int r = 0; r < rows; r += AttentionProduct.ROWS) {
                    int n = Math.min(AttentionProduct.ROWS, rows - r), visible = Math.min(keys, r + n + diagonal);
                    AttentionProduct.block(out, outAt + firstQuery + r * qWidth, qWidth, n, !firstTile, s.scores(), r * TILE, TILE, 1,
                            v, vAt + firstKey, kvWidth, 0, visible, d);
                }
            }
        }
        for (int g = 0; g < group; g++) {
            int h = kvh * group + g;
            for (int r = 0; r < rows; r++) {
                int row = g * TILE + r;
                lse[lseAt + shape.rowAt(b, h, i0 + r)] = (float) (s.max()[row] + Math.log(s.sum()[row]));
                AttentionVectors.scale(out, outAt + shape.queryAt(b, i0 + r, h), d, 1f / s.sum()[row]);
            }
        }
    }
}
