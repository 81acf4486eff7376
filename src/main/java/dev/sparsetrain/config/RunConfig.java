package dev.sparsetrain.config;

/** Everything that defines a training run: the model, the optimisation loop, the data and the sparse method. */
public record RunConfig(ModelConfig model, TrainConfig train, DataConfig data, SparsityConfig sparsity) {

    public RunConfig {
        sparsity.validate(model, train.steps());
    }

    /** Tokens consumed per optimizer step. */
    public long tokensPerStep() {
        return (long) train.batchSize() * train.gradAccum() * model.seqLen();
    }
}
