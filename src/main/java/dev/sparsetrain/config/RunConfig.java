package dev.sparsetrain.config;

/** Everything that defines a training run: the model, the optimisation loop and the data. */
public record RunConfig(ModelConfig model, TrainConfig train, DataConfig data) {

    /** Tokens consumed per optimizer step. */
    public long tokensPerStep() {
        return (long) train.batchSize() * train.gradAccum() * model.seqLen();
    }
}
