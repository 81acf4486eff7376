package dev.sparsetrain.cli;

import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.data.Tokenizer;
import dev.sparsetrain.data.Tokenizers;
import dev.sparsetrain.model.LlamaModel;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.train.Checkpoints;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sparsetrain sample}: generates text from a checkpoint. */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate text from a trained model's checkpoint.")
public final class SampleCommand implements Callable<Integer> {

    @Option(names = "--run", paramLabel = "DIR", defaultValue = "runs/last",
            description = "Run directory (its latest checkpoint) or a checkpoint directory (default: ${DEFAULT-VALUE}).")
    Path run;

    @Option(names = "--prompt", defaultValue = "The ", description = "Text to continue (default: \"${DEFAULT-VALUE}\").")
    String prompt;

    @Option(names = "--tokens", defaultValue = "400", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--temperature", defaultValue = "0.8", description = "Softmax temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "40", description = "Sample among the k most likely tokens; 0 = all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--seed", defaultValue = "42", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda (or cuda:N), or reference (default: ${DEFAULT-VALUE}).")
    String device;

    @Override
    public Integer call() throws Exception {
        if (tokens < 0) throw new UserError("--tokens must be >= 0, got " + tokens);
        if (temperature < 0) throw new UserError("--temperature must be >= 0, got " + temperature);
        Path checkpoint;
        try {
            checkpoint = Checkpoints.resolve(run);
        } catch (Checkpoints.CheckpointException e) {
            throw new UserError(e.getMessage() + "; train a model first (./sparsetrain train) or pass --run DIR");
        }
        RunConfig config = Checkpoints.readConfig(checkpoint);
        Tokenizer tokenizer = Tokenizers.byName(config.data().tokenizer());
        int[] context = tokenizer.encode(prompt);
        if (context.length == 0) throw new UserError("--prompt must not be empty");
        SplittableRandom random = new SplittableRandom(seed);
        int[] text = Arrays.copyOf(context, context.length + tokens);
        try (Backend backend = Devices.open(device); LlamaModel model = new LlamaModel(backend, config.model(), 1)) {
            Checkpoints.loadParameters(checkpoint, model, config);
            int seqLen = config.model().seqLen();
            for (int i = context.length; i < text.length; i++) {
                int from = Math.max(0, i - seqLen);
                float[] logits = model.nextTokenLogits(Arrays.copyOfRange(text, from, i));
                text[i] = Sampling.pick(logits, tokenizer.vocabSize(), temperature, topK, random);
            }
        }
        System.out.println(tokenizer.decode(text));
        return 0;
    }
}
