package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.AttentionVectors.TILE;
import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;

/**
 * The attention backward, flash-attention style. Probabilities are recomputed tile by tile from
 * q, k and the forward's lse (P = exp(q·k·scale − lse)); with D_i = Σ dO_i·O_i the score gradient
 * is dS = P·(dO·vᵀ − D)·scale. Then dV = Pᵀ·dO, dK = dSᵀ·Q and dQ = dS·K.
 *
 * <p>Race freedom comes from two passes that each own what they write: the key pass runs one task
 * per (batch row, kv head, key tile) and sums dK and dV over every query head of the group and
 * every query at or after the tile; the query pass runs one task per (batch row, kv head, query
 * tile) and sums dQ over the key tiles up to the diagonal. The query pass recomputes P and dS (two
 * of the seven tile products), which is what a single pass would save at the price of atomics or
 * per-thread copies of dQ and their reduction.
 */
final class AttentionBackward {
    private final AttentionShape shape;
    private final float[] dq, dk, dv, dOut, q, k, out, lse;
    private final int dqAt, dkAt, dvAt, dOutAt, qAt, kAt, outAt, lseAt;
    /** k and v as transposed tiles, see {@link AttentionVectors#transposedTiles}. */
    private final float[] keysT, valuesT;
    /** D per (batch row, head, position), laid out like lse. */
    private final float[] delta;

    private AttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v,
                              Tensor out, Tensor lse, AttentionShape shape) {
        this.shape = shape;
        this.dq = f(dq);
        this.dk = f(dk);
        this.dv = f(dv);
        this.dOut = f(dOut);
        this.q = f(q);
        this.k = f(k);
        this.out = f(out);
        this.lse = f(lse);
        this.dqAt = off(dq);
        this.dkAt = off(dk);
        this.dvAt = off(dv);
        this.dOutAt = off(dOut);
        this.qAt = off(q);
        this.kAt = off(k);
        this.outAt = off(out);
        this.lseAt = off(lse);
        this.delta = new float[shape.batch() * shape.nHeads() * shape.seqLen()];
        this.keysT = AttentionVectors.transposedTiles(this.k, kAt, shape);
        this.valuesT = AttentionVectors.transposedTiles(f(v), off(v), shape);
    }

    static void run(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                    AttentionShape shape) {
        var pass = new AttentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, shape);
        pass.computeDelta();
        int tasks = shape.batch() * shape.nKvHeads() * shape.tiles();
        Parallel.forRange(tasks, 1, (from, to) -> {
            Scratch scratch = new Scratch();
            for (int task = from; task < to; task++) pass.keyTile(task, scratch);
        });
        Parallel.forRange(tasks, 1, (from, to) -> {
            Scratch scratch = new Scratch();
            for (int task = from; task < to; task++) pass.queryTile(task, scratch);
        });
    }

    /** One thread's working memory: one tile each of P and dS. */
    private record Scratch(float[] p, float[] ds) {
        Scratch() {
            this(new float[TILE * TILE], new float[TILE * TILE]);
        }
    }

    private void computeDelta() {
        int d = shape.headDim(), seqLen = shape.seqLen();
        Parallel.forRange(shape.batch() * seqLen, 16, (from, to) -> {
            for (int t = from; t < to; t++) {
                int b = t / seqLen, i = t % seqLen;
                for (int h = 0; h < shape.nHeads(); h++) {
                    int at = shape.queryAt(b, i, h);
                    delta[shape.rowAt(b, h, i)] = AttentionVectors.dot(dOut, dOutAt + at, out, outAt + at, d);
                }
            }
        });
    }

    /**
     * Fills the P and dS tiles of query head h, query rows [i0, i0 + rows), against the key tile
     * at j0 (j0 &lt;= i0). Row r sees keys c &lt;= r + i0 − j0; the masked entries are set to 0
     * so that the block products may run over them.
     */
    private void probabilityTiles(Scratch s, int b, int h, int i0, int rows, int j0, int keys) {
        int d = shape.headDim(), qWidth = shape.queryWidth(), diagonal = i0 - j0, firstQuery = shape.queryAt(b, i0, h);
        int tile = shape.tileAt(b, h / shape.group(), j0 / TILE);
        float scale = shape.scale();
        for (int r = 0; r < rows; r += AttentionProduct.ROWS) {
            int n = Math.min(AttentionProduct.ROWS, rows - r), width = AttentionVectors.paddedWidth(Math.min(keys, r + n + diagonal));
            int rowQuery = firstQuery + r * qWidth;
            AttentionProduct.block(s.p(), r * TILE, TILE, n, false, q, qAt + rowQuery, qWidth, 1, keysT, tile, TILE, 0, d, width);
            AttentionProduct.block(s.ds(), r * TILE, TILE, n, false, dOut, dOutAt + rowQuery, qWidth, 1, valuesT, tile, TILE, 0, d, width);
        }
        for (int r = 0; r < rows; r++) {
            int visible = Math.min(keys, r + 1 + diagonal), at = r * TILE, row = shape.rowAt(b, h, i0 + r);
            AttentionVectors.expScaledShifted(s.p(), at, visible, scale, lse[lseAt + row]);
            AttentionVectors.scoreGradients(s.ds(), at, s.p(), at, visible, delta[row], scale);
            Arrays.fill(s.p(), at + visible, at + keys, 0f);
            Arrays.fill(s.ds(), at + visible, at + keys, 0f);
        }
    }

    /** dK and dV of one key tile, summed over the group's query heads and all query rows at or after it. */
    private void keyTile(int task, Scratch s) {
        int tiles = shape.tiles(), b = task / (shape.nKvHeads() * tiles), kvh = task / tiles % shape.nKvHeads();
        int d = shape.headDim(), group = shape.group(), seqLen = shape.seqLen(), qWidth = shape.queryWidth(), kvWidth = shape.kvWidth();
        int j0 = task % tiles * TILE, keys = Math.min(TILE, seqLen - j0), firstKey = shape.kvAt(b, j0, kvh);
        for (int g = 0; g < group; g++) {
            int h = kvh * group + g;
            for (int i0 = j0; i0 < seqLen; i0 += TILE) {
                int rows = Math.min(TILE, seqLen - i0), diagonal = i0 - j0, firstQuery = shape.queryAt(b, i0, h);
                // The first product into each dK and dV row writes it; the rest add.
                boolean accumulate = g > 0 || i0 > j0;
                probabilityTiles(s, b, h, i0, rows, j0, keys);
                for (int c = 0; c < keys; c += AttentionProduct.ROWS) {
                    // Keys c.. are seen by query rows from c − diagonal on: skip the masked rows above them.
                    int n = Math.min(AttentionProduct.ROWS, keys - c), from = Math.max(0, c - diagonal), at = firstKey + c * kvWidth;
                    AttentionProduct.block(dv, dvAt + at, kvWidth, n, accumulate, s.p(), c, 1, TILE,
                            dOut, dOutAt + firstQuery, qWidth, from, rows, d);
                    AttentionProduct.block(dk, dkAt + at, kvWidth, n, accumulate, s.ds(), c, 1, TILE,
                            q, qAt + firstQuery, qWidth, from, rows, d);
                }
            }
        }
    }

    /** dQ of one query tile for every query head of the group, summed over the key tiles up to the diagonal. */
    private void queryTile(int task, Scratch s) {
        int tiles = shape.tiles(), b = task / (shape.nKvHeads() * tiles), kvh = task / tiles % shape.nKvHeads();
        int d = shape.headDim(), group = shape.group(), qWidth = shape.queryWidth(), kvWidth = shape.kvWidth();
        int i0 = task % tiles * TILE, rows = Math.min(TILE, shape.seqLen() - i0);
        for (int j0 = 0; j0 <= i0; j0 += TILE) {
            int keys = Math.min(TILE, shape.seqLen() - j0), firstKey = shape.kvAt(b, j0, kvh), diagonal = i0 - j0;
            for (int g = 0; g < group; g++) {
                int firstQuery = shape.queryAt(b, i0, kvh * group + g);
                probabilityTiles(s, b, kvh * group + g, i0, rows, j0, keys);
                for (int r = 0; r < rows; r += AttentionProduct.ROWS) {
                    int n = Math.min(AttentionProduct.ROWS, rows - r), visible = Math.min(keys, r + n + diagonal);
                    // The first key tile writes the dQ rows; the rest add.
                    AttentionProduct.block(dq, dqAt + firstQuery + r * qWidth, qWidth, n, j0 > 0, s.ds(), r * TILE, TILE, 1,
                            k, kAt + firstKey, kvWidth, 0, visible, d);
                }
            }
        }
    }
}
