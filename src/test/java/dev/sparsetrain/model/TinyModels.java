package dev.sparsetrain.model;

import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.config.ModelConfig;
import java.util.SplittableRandom;

/** Tiny configurations and random batches shared by the model tests (ReferenceBackend is slow, so keep them small). */
final class TinyModels {
    static final int VOCAB = 11, DIM = 8, LAYERS = 2, HEADS = 2, FFN_HIDDEN = 16, SEQ_LEN = 5, ROWS = 2;

    private TinyModels() {}

    /**
     * V=11, d=8, L=2, 2 heads, F=16, seqLen=5. {@code initStd} 0.3 for gradient checks, so every weight
     * moves the loss measurably; the default 0.02 makes some gradients too small for fp32 differences.
     */
    static ModelConfig config(FfnKind ffn, int kvHeads, float initStd) {
        return new ModelConfig(VOCAB, DIM, LAYERS, HEADS, kvHeads, FFN_HIDDEN, ffn, SEQ_LEN, 10000f, 1e-5f, initStd);
    }

    /** Uniform random token ids in [0, vocab). */
    static int[] randomTokens(SplittableRandom rng, int count, int vocab) {
        int[] t = new int[count];
        for (int j = 0; j < t.length; j++) t[j] = rng.nextInt(vocab);
        return t;
    }

    /** Standard normal floats. */
    static float[] gaussian(SplittableRandom rng, int count) {
        float[] x = new float[count];
        for (int j = 0; j < x.length; j++) x[j] = (float) rng.nextGaussian();
        return x;
    }
}
