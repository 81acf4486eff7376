package dev.sparsetrain.train;

import dev.sparsetrain.model.LlamaModel;
import java.util.List;

/**
 * A fixed set of held-out batches, evaluated the same way every time so validation curves compare
 * across steps and runs. Bits per byte divide the summed loss by the UTF-8 bytes the target tokens
 * stand for, so models with different tokenizers compare.
 */
public final class Validation {
    private final List<int[]> inputs;
    private final List<int[]> targets;
    private final long bytes;
    private final long tokens;

    /**
     * @param bytes UTF-8 bytes that all target tokens of all batches decode to (0 when unknown, e.g.
     *              synthetic tokens: bits per byte is then NaN)
     */
    public Validation(List<int[]> inputs, List<int[]> targets, long bytes) {
        if (inputs.isEmpty() || inputs.size() != targets.size()) throw new IllegalArgumentException("validation needs at least one batch");
        this.inputs = List.copyOf(inputs);
        this.targets = List.copyOf(targets);
        this.bytes = bytes;
        long n = 0;
        for (int[] t : targets) for (int x : t) if (x >= 0) n++;
        this.tokens = n;
    }

    /** @param loss mean nats per target token; @param bitsPerByte NaN when the byte count is unknown */
    public record Result(double loss, double bitsPerByte) {}

    public Result run(LlamaModel model) {
        double sum = 0;
        for (int b = 0; b < inputs.size(); b++) {
            int[] tg = targets.get(b);
            long counted = 0;
            for (int x : tg) if (x >= 0) counted++;
            sum += model.evaluate(inputs.get(b), tg) * counted;
        }
        double loss = sum / tokens;
        double bpb = bytes > 0 ? sum / (Math.log(2) * bytes) : Double.NaN;
        return new Result(loss, bpb);
    }
}
