package dev.sparsetrain.train;

import com.google.gson.JsonObject;
import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.data.Batch;
import dev.sparsetrain.data.DataException;
import dev.sparsetrain.data.DemoCorpus;
import dev.sparsetrain.data.LoaderPosition;
import dev.sparsetrain.data.PreparedCorpus;
import dev.sparsetrain.data.TokenLoader;
import dev.sparsetrain.data.Tokenizer;
import dev.sparsetrain.data.Tokenizers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The training stream and the validation set a run's data config names. */
public final class DataSources implements AutoCloseable {
    private final BatchSource train;
    private final Validation validation;
    private final String description;
    private final AutoCloseable resources;

    private DataSources(BatchSource train, Validation validation, String description, AutoCloseable resources) {
        this.train = train;
        this.validation = validation;
        this.description = description;
        this.resources = resources;
    }

    public BatchSource train() { return train; }
    public Validation validation() { return validation; }
    public String description() { return description; }

    /**
     * @param dataRoot the repository's data/ folder: the demo corpus lives in data/train and data/val
     *                 and is prepared once into data/cache/TOKENIZER
     */
    public static DataSources open(RunConfig config, Path dataRoot) throws IOException {
        var m = config.model();
        var t = config.train();
        if (config.data().source().equals("synthetic")) {
            var val = new SyntheticBatches(m.vocabSize(), t.seed() ^ 0x5EED_5EEDL);
            List<int[]> in = new ArrayList<>(), tg = new ArrayList<>();
            for (int b = 0; b < t.evalBatches(); b++) {
                int[] x = new int[t.batchSize() * m.seqLen()], y = new int[x.length];
                val.next(x, y);
                in.add(x);
                tg.add(y);
            }
            return new DataSources(new SyntheticBatches(m.vocabSize(), t.seed()), new Validation(in, tg, 0),
                    "synthetic uniform tokens, vocab " + m.vocabSize(), () -> {});
        }
        Tokenizer tokenizer = Tokenizers.byName(config.data().tokenizer());
        if (tokenizer.vocabSize() > m.vocabSize()) {
            throw new dev.sparsetrain.config.ConfigException("model.vocab_size " + m.vocabSize() + " is smaller than the "
                    + tokenizer.name() + " tokenizer's vocabulary of " + tokenizer.vocabSize() + "; set model.vocab_size >= " + tokenizer.vocabSize());
        }
        PreparedCorpus corpus = config.data().source().equals("demo")
                ? DemoCorpus.ensurePrepared(dataRoot, tokenizer, dataRoot.resolve("cache"))
                : PreparedCorpus.load(Path.of(config.data().shardDir()));
        if (!corpus.manifest().tokenizer().equals(tokenizer.name())) {
            throw new DataException("the shards in " + corpus.dir() + " were prepared with the " + corpus.manifest().tokenizer()
                    + " tokenizer, but data.tokenizer is " + tokenizer.name() + ": set data.tokenizer=" + corpus.manifest().tokenizer()
                    + " or prepare the data again with --tokenizer " + tokenizer.name());
        }
        TokenLoader trainLoader = TokenLoader.open(corpus.trainShards(), m.vocabSize(), t.batchSize(), m.seqLen());
        List<Batch> valBatches;
        try (TokenLoader valLoader = TokenLoader.open(corpus.valShards(), m.vocabSize(), t.batchSize(), m.seqLen())) {
            valBatches = valLoader.fixedBatches(t.evalBatches());
        }
        List<int[]> in = new ArrayList<>(), tg = new ArrayList<>();
        long bytes = 0;
        for (Batch b : valBatches) {
            in.add(b.inputs());
            tg.add(b.targets());
            bytes += tokenizer.byteCount(b.targets(), 0, b.targets().length);
        }
        String desc = String.format(Locale.ROOT, "%s (%s tokenizer): %,d train tokens; validation %d batches = %,d tokens",
                corpus.dir(), tokenizer.name(), trainLoader.totalTokens(), valBatches.size(),
                (long) valBatches.size() * t.batchSize() * m.seqLen());
        return new DataSources(new ShardBatches(trainLoader), new Validation(in, tg, bytes), desc, trainLoader);
    }

    @Override
    public void close() throws IOException {
        try {
            resources.close();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
    }

    /** Adapts the shard loader to the trainer's batch stream, its position as {shard, offset}. */
    private record ShardBatches(TokenLoader loader) implements BatchSource {
        @Override
        public void next(int[] inputs, int[] targets) { loader.next(inputs, targets); }

        @Override
        public JsonObject position() {
            LoaderPosition p = loader.position();
            JsonObject o = new JsonObject();
            o.addProperty("shard", p.shard());
            o.addProperty("offset", p.offset());
            return o;
        }

        @Override
        public void seek(JsonObject position) {
            loader.seek(new LoaderPosition(position.get("shard").getAsInt(), position.get("offset").getAsLong()));
        }
    }
}
