package dev.sparsetrain.data;

/**
 * One batch of training rows: {@code inputs} and {@code targets} are {@code batch x seqLen} token ids,
 * row-major, with {@code targets[r][t] = inputs[r][t + 1]} of the same contiguous window of the corpus.
 *
 * @param batch   rows B
 * @param seqLen  tokens per row S
 * @param inputs  B*S input token ids
 * @param targets B*S next-token ids
 */
public record Batch(int batch, int seqLen, int[] inputs, int[] targets) {
    public Batch {
        if (inputs.length != (long) batch * seqLen || targets.length != inputs.length) {
            throw new IllegalArgumentException("batch of " + batch + " x " + seqLen + " needs " + (long) batch * seqLen
                    + " inputs and targets, got " + inputs.length + " and " + targets.length);
        }
    }
}
