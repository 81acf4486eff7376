package dev.sparsetrain.train;

import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.config.SparsityConfig;
import dev.sparsetrain.config.TrainConfig;
import dev.sparsetrain.model.LlamaModel;
import dev.sparsetrain.model.SparseState.Phase;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;

/**
 * The training loop: micro-batches with gradient accumulation, non-finite-loss skipping, global-norm
 * clipping, AdamW on the LR schedule, the FFN phase schedule of SPEC.md §2 (dense warmup → sparse →
 * dense finish; clustering and β at the first switch, the AdamW moments permuted with the neurons),
 * periodic validation and checkpoints. Everything the loop does is a pure function of the config,
 * the seed and the data position, so a run resumed from a checkpoint continues bit for bit on the
 * same backend and thread count, also across a phase switch.
 */
public final class Trainer implements AutoCloseable {
    private final RunConfig config;
    private final Backend backend;
    private final LlamaModel model;
    private final AdamW optimizer;
    private final BatchSource trainData;
    private final Validation validation;
    private final int[] inputs;
    private final int[] targets;

    private int step;
    private long tokensSeen;
    private int badStepsInRow;
    private int skippedSteps;
    private double trainSeconds;

    public Trainer(RunConfig config, Backend backend, BatchSource trainData, Validation validation) {
        this.config = config;
        this.backend = backend;
        this.model = new LlamaModel(backend, config.model(), config.train().batchSize());
        this.optimizer = new AdamW(backend, model.layout());
        this.trainData = trainData;
        this.validation = validation;
        int n = config.train().batchSize() * config.model().seqLen();
        this.inputs = new int[n];
        this.targets = new int[n];
        model.initialize(config.train().seed());
    }

    public RunConfig config() { return config; }
    public LlamaModel model() { return model; }
    public AdamW optimizer() { return optimizer; }
    public BatchSource trainData() { return trainData; }
    public int step() { return step; }
    public long tokensSeen() { return tokensSeen; }
    public int skippedSteps() { return skippedSteps; }
    public double trainSeconds() { return trainSeconds; }

    /** Restores the loop counters from a checkpoint (parameters and moments are loaded by the caller). */
    void restoreCounters(int step, long tokensSeen, int badStepsInRow, int skippedSteps, double trainSeconds) {
        this.step = step;
        this.tokensSeen = tokensSeen;
        this.badStepsInRow = badStepsInRow;
        this.skippedSteps = skippedSteps;
        this.trainSeconds = trainSeconds;
    }

    int badStepsInRow() { return badStepsInRow; }

    /** The FFN phase optimizer step {@code step} (1-based) runs in. */
    public Phase phaseOf(int step) {
        SparsityConfig s = config.sparsity();
        if (!s.enabled() || step <= s.startStep(config.train().steps())) return Phase.DENSE_WARMUP;
        return step <= s.endStep(config.train().steps()) ? Phase.SPARSE : Phase.DENSE_FINISH;
    }

    /** Switches the model's FFN when {@code step} starts a new phase, or re-clusters when due. */
    private void schedulePhase(int step) {
        SparsityConfig s = config.sparsity();
        Phase want = phaseOf(step), have = model.ffnPhase();
        List<Tensor> moments = List.of(optimizer.firstMoment(), optimizer.secondMoment());
        long clusterSeed = config.train().seed() ^ 0xC1A55E5L;
        if (want == Phase.SPARSE && have != Phase.SPARSE) {
            model.enterSparsePhase(s, clusterSeed, moments);
        } else if (want == Phase.DENSE_FINISH && have == Phase.SPARSE) {
            model.enterDensePhase(s);
        } else if (want == Phase.SPARSE && s.reclusterEvery() > 0) {
            int sparseStep = step - s.startStep(config.train().steps()) - 1;
            if (sparseStep > 0 && sparseStep % s.reclusterEvery() == 0) model.recluster(s, clusterSeed + step, moments);
        }
    }

    /**
     * Runs one optimizer step. A non-finite loss or gradient norm skips the update (reported in the
     * returned stats); {@link NonFiniteLossException} is thrown once {@code max_bad_steps} happen in a row.
     */
    public StepStats trainStep() {
        TrainConfig t = config.train();
        step++;
        schedulePhase(step);
        long start = System.nanoTime();
        backend.fill(model.gradients(), 0f);
        double loss = 0;
        for (int micro = 0; micro < t.gradAccum(); micro++) {
            trainData.next(inputs, targets);
            loss += model.trainStep(inputs, targets, 1f / t.gradAccum()) / t.gradAccum();
        }
        long tokens = (long) inputs.length * t.gradAccum();
        tokensSeen += tokens;
        float lr = t.lrAt(step);
        double gradNorm = Double.isFinite(loss) ? optimizer.gradNorm(model.gradients()) : Double.NaN;
        boolean skipped = !Double.isFinite(loss) || !Double.isFinite(gradNorm);
        if (skipped) {
            badStepsInRow++;
            skippedSteps++;
            if (badStepsInRow >= t.maxBadSteps()) {
                throw new NonFiniteLossException(step, badStepsInRow, loss, gradNorm);
            }
        } else {
            badStepsInRow = 0;
            optimizer.step(model.parameters(), model.gradients(), step - skippedSteps, lr, gradNorm, t);
        }
        backend.synchronize();
        double seconds = (System.nanoTime() - start) / 1e9;
        trainSeconds += seconds;
        return new StepStats(step, loss, lr, gradNorm, skipped, seconds, tokens, model.ffnPhase(),
                model.ffnPhase() == Phase.SPARSE ? model.sparseStats().orElse(null) : null);
    }

    /** Mean validation loss (nats per token) and bits per byte over the fixed validation batches. */
    public Validation.Result validate() {
        return validation.run(model);
    }

    /** Runs the loop to {@code train.steps}, reporting each step and evaluation through {@code listener}. */
    public void run(Listener listener) throws IOException {
        TrainConfig t = config.train();
        while (step < t.steps()) {
            StepStats s = trainStep();
            Validation.Result val = null;
            if (step == t.steps() || (t.evalEvery() > 0 && step % t.evalEvery() == 0)) val = validate();
            listener.onStep(s, val);
            if (step == t.steps() || (t.checkpointEvery() > 0 && step % t.checkpointEvery() == 0)) listener.onCheckpoint(this);
        }
    }

    /** Receives the loop's events; checkpoints are written by the listener so the loop knows no paths. */
    public interface Listener {
        void onStep(StepStats stats, Validation.Result validation) throws IOException;

        void onCheckpoint(Trainer trainer) throws IOException;
    }

    /** Prints a warning line for a skipped step. */
    static void reportSkipped(StepStats s, PrintStream err) {
        err.printf("warning: step %d has a non-finite %s (loss %s, grad norm %s); update skipped%n",
                s.step(), Double.isFinite(s.loss()) ? "gradient" : "loss", s.loss(), s.gradNorm());
    }

    @Override
    public void close() {
        try {
            optimizer.close();
        } finally {
            model.close();
        }
    }
}
