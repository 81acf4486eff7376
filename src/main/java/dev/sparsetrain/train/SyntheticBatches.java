package dev.sparsetrain.train;

import com.google.gson.JsonObject;
import java.util.SplittableRandom;

/**
 * Uniform random tokens, for speed measurements at a real vocabulary size without a corpus (the loss
 * cannot fall below ln(vocab)). Batch i is a pure function of (seed, i), so seeking is exact.
 */
public final class SyntheticBatches implements BatchSource {
    private final int vocab;
    private final long seed;
    private long batchIndex;

    public SyntheticBatches(int vocab, long seed) {
        this.vocab = vocab;
        this.seed = seed;
    }

    @Override
    public void next(int[] inputs, int[] targets) {
        SplittableRandom rnd = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * ++batchIndex));
        for (int i = 0; i < inputs.length; i++) inputs[i] = rnd.nextInt(vocab);
        for (int i = 0; i < targets.length; i++) targets[i] = rnd.nextInt(vocab);
    }

    @Override
    public JsonObject position() {
        JsonObject o = new JsonObject();
        o.addProperty("batch_index", batchIndex);
        return o;
    }

    @Override
    public void seek(JsonObject position) {
        batchIndex = position.get("batch_index").getAsLong();
    }
}
