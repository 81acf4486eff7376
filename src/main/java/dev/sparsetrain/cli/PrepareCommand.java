package dev.sparsetrain.cli;

import dev.sparsetrain.data.CorpusPreparer;
import dev.sparsetrain.data.Manifest;
import dev.sparsetrain.data.PreparedCorpus;
import dev.sparsetrain.data.Tokenizer;
import dev.sparsetrain.data.Tokenizers;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code sparsetrain prepare}: tokenizes .txt / .jsonl corpora into token shards plus a manifest. With no
 * options it prepares the committed demo corpus (data/train, data/val) with the byte tokenizer.
 */
@Command(name = "prepare", mixinStandardHelpOptions = true,
        description = "Tokenize text (.txt files, .jsonl with a \"text\" field, or folders of them) into token shards.")
public final class PrepareCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--train", arity = "1..*", paramLabel = "PATH", defaultValue = "data/train",
            description = "Training files or folders (default: ${DEFAULT-VALUE}).")
    private List<Path> train;

    @Option(names = "--val", arity = "0..*", paramLabel = "PATH", defaultValue = "data/val",
            description = "Validation files or folders, held out whole; give the option with no value for none (default: ${DEFAULT-VALUE}).")
    private List<Path> val;

    @Option(names = "--tokenizer", paramLabel = "NAME", defaultValue = "bytes",
            description = "Tokenizer: bytes, gpt2, cl100k or o200k (default: ${DEFAULT-VALUE}).")
    private String tokenizer;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/tokens",
            description = "Output folder for the shards (train_*.bin, val_*.bin) and their manifest (default: ${DEFAULT-VALUE}).")
    private Path out;

    @Option(names = "--shard-tokens", paramLabel = "N", defaultValue = "" + CorpusPreparer.DEFAULT_SHARD_TOKENS,
            description = "Most tokens per shard file (default: ${DEFAULT-VALUE}).")
    private int shardTokens;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        Tokenizer tok;
        try {
            tok = Tokenizers.byName(tokenizer);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--tokenizer: " + e.getMessage());
        }
        if (shardTokens < 1) throw new ParameterException(spec.commandLine(), "--shard-tokens must be >= 1, got " + shardTokens);

        long start = System.nanoTime();
        PreparedCorpus result = new CorpusPreparer(tok, shardTokens, line -> {
            w.println(line);
            w.flush();
        }).prepare(train, val, out);
        Manifest m = result.manifest();
        w.printf("tokenizer %s (vocabulary %,d), shards in %s%n", m.tokenizer(), m.vocabSize(), result.dir());
        printSplit(w, "train", m.train());
        printSplit(w, "val", m.val());
        w.printf("wrote %s in %.1f s%n", result.dir().resolve(Manifest.FILE_NAME), (System.nanoTime() - start) / 1e9);
        w.flush();
        return 0;
    }

    private static void printSplit(PrintWriter w, String name, Manifest.Split split) {
        for (Manifest.Shard s : split.shards()) w.printf("  %-18s %,14d tokens%n", s.file(), s.tokens());
        int n = split.shards().size();
        w.printf("%s: %,d documents, %,d bytes of text -> %,d tokens in %d shard%s (%.2f bytes/token)%n", name,
                split.documents(), split.textBytes(), split.tokens(), n, n == 1 ? "" : "s", split.bytesPerToken());
    }
}
