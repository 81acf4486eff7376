package dev.sparsetrain.model;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;

/**
 * The untied LM head and the loss: logits = H·Wᵀ with W [V,d], softmax cross-entropy, and its backward,
 * processed in chunks of rows so a big batch never holds its full T×V logits.
 *
 * <p>Each chunk's logits are replaced by their gradient by {@link Backend#crossEntropy}, then
 * immediately turned into that chunk's dH and added into dW, so only one chunk of logits exists.
 */
public final class LmHead {
    /**
     * Logits held at once by default: 2^26 floats (256 MB), e.g. 1335 rows of GPT-2's 50257 tokens,
     * which keeps each chunk's GEMMs large enough to run at full speed.
     */
    public static final long DEFAULT_LOGITS_BUDGET = 1L << 26;
    /** Rows per chunk never exceed this, whatever the vocabulary. */
    public static final int MAX_CHUNK_ROWS = 4096;

    private final Backend b;
    private final int d, vocab, chunkRows;
    private final Tensor w, dW;
    private final Tensor logits, losses;

    /** @param chunkRows token rows per chunk, at least 1 */
    public LmHead(BlockResources r, int chunkRows) {
        if (chunkRows <= 0) throw new IllegalArgumentException("LM head chunk rows must be > 0, got " + chunkRows);
        this.b = r.backend();
        this.d = r.config().dim();
        this.vocab = r.config().vocabSize();
        this.chunkRows = Math.min(chunkRows, r.tokenCapacity());
        this.w = r.param("lm_head");
        this.dW = r.grad("lm_head");
        this.logits = r.alloc().f32(this.chunkRows, vocab);
        this.losses = r.alloc().f32(this.chunkRows);
    }

    /** Default rows per chunk: as many as fit {@link #DEFAULT_LOGITS_BUDGET}, between 1 and {@link #MAX_CHUNK_ROWS}. */
    public static int defaultChunkRows(int vocabSize) {
        return Math.clamp(DEFAULT_LOGITS_BUDGET / vocabSize, 1, MAX_CHUNK_ROWS);
    }

    /** Rows per chunk this head uses. */
    public int chunkRows() { return chunkRows; }

    /** Sum of the cross-entropy losses of hidden [T,d] against targets I32 [T] (negative = ignored). */
    public double loss(Tensor hidden, Tensor targets) {
        return run(hidden, targets, null, 0f);
    }

    /**
     * {@link #loss}, and also overwrites dHidden [T,d] with ∂(gradScale·Σloss)/∂hidden and ADDS
     * gradScale·∂Σloss/∂W into the LM head's gradient.
     */
    public double lossAndBackward(Tensor hidden, Tensor targets, Tensor dHidden, float gradScale) {
        return run(hidden, targets, dHidden, gradScale);
    }

    /** The chunk loop of both: without dHidden, the logits' gradient is computed and dropped. */
    private double run(Tensor hidden, Tensor targets, Tensor dHidden, float gradScale) {
        int rows = (int) hidden.dim(0);
        double total = 0;
        for (int start = 0; start < rows; start += chunkRows) {
            int n = Math.min(chunkRows, rows - start);
            Tensor h = hidden.rows(start, start + n), z = logits.rows(0, n);
            Linear.forward(b, z, h, w, n, vocab, d);
            total += b.crossEntropy(z, targets.view(start, n), losses.view(0, n), gradScale);
            if (dHidden != null) {
                Tensor dz = z; // crossEntropy replaced the logits by their gradient
                Linear.backwardInput(b, dHidden.rows(start, start + n), dz, w, n, vocab, d, false);
                Linear.accumulateWeightGrad(b, dW, dz, h, n, vocab, d);
            }
        }
        return total;
    }

    /** The logits [V] of one hidden row [1,d], downloaded to the host. */
    public float[] logits(Tensor hiddenRow) {
        Tensor z = logits.rows(0, 1);
        Linear.forward(b, z, hiddenRow, w, 1, vocab, d);
        return b.toHost(z);
    }
}
