package dev.sparsetrain.cuda.selftest;

import com.google.gson.JsonObject;
import dev.sparsetrain.train.BatchSource;
import java.util.SplittableRandom;

/**
 * Random tokens whose target is a fixed function of the token, {@code (7·x + 3) mod V}: a mapping a
 * model learns within a few steps, so the loss moves and two backends that compute different
 * gradients part ways visibly (on pure noise the loss would barely move either way).
 */
final class LearnableBatches implements BatchSource {
    private final int vocab;
    private final long seed;
    private long batchIndex;

    LearnableBatches(int vocab, long seed) {
        this.vocab = vocab;
        this.seed = seed;
    }

    @Override
    public void next(int[] inputs, int[] targets) {
        var random = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * ++batchIndex));
        for (int i = 0; i < inputs.length; i++) {
            inputs[i] = random.nextInt(vocab);
            targets[i] = (int) ((7L * inputs[i] + 3) % vocab);
        }
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
