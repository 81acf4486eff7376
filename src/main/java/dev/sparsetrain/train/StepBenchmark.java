package dev.sparsetrain.train;

import dev.sparsetrain.config.RunConfig;
import dev.sparsetrain.model.SparseState.Phase;
import java.util.ArrayList;
import java.util.List;

/**
 * Times whole optimizer steps of a {@link Trainer} on synthetic tokens: {@code warmup} untimed
 * steps (JIT, allocator, and with the sparse FFN the clustering at the phase switch), then
 * {@code iters} steps for throughput with profiling off, then {@code iters} more with profiling on
 * for the per-category breakdown. Profiling adds a sync around every backend call, so the two are
 * never mixed.
 */
public final class StepBenchmark {
    private StepBenchmark() {}

    /**
     * The settings a step benchmark runs under, to layer last over the user's: synthetic tokens (no
     * corpus needed), exactly the steps it runs, and with the sparse FFN the sparse phase from the
     * first step to the last without re-clustering, so every timed step is a steady sparse step.
     */
    public static List<String> overrides(boolean sparse, int warmup, int iters) {
        int steps = totalSteps(warmup, iters);
        List<String> all = new ArrayList<>(List.of("data.source=synthetic", "train.steps=" + steps));
        if (sparse) {
            all.addAll(List.of("sparsity.enabled=true", "sparsity.sparse_start=0", "sparsity.sparse_end=" + steps, "sparsity.recluster_every=0"));
        }
        return all;
    }

    /** Warm-up steps, then the unprofiled and the profiled timed steps. */
    public static int totalSteps(int warmup, int iters) { return warmup + 2 * iters; }

    public static StepProfile run(RunConfig config, TimedBackend backend, int warmup, int iters) {
        if (iters < 1) throw new IllegalArgumentException("iters must be >= 1, got " + iters);
        if (warmup < 0) throw new IllegalArgumentException("warmup must be >= 0, got " + warmup);
        if (config.train().steps() < totalSteps(warmup, iters)) {
            throw new IllegalArgumentException("train.steps=" + config.train().steps() + " is fewer than the "
                    + totalSteps(warmup, iters) + " steps the benchmark runs; layer StepBenchmark.overrides over the config");
        }
        boolean sparse = config.sparsity().enabled();
        if (sparse && warmup < 1) {
            throw new IllegalArgumentException("the sparse FFN needs at least one warm-up step: the first step clusters the neurons");
        }
        var m = config.model();
        var t = config.train();
        // The benchmark never validates, but a Trainer holds a validation set: one small batch.
        int[] valInputs = new int[t.batchSize() * m.seqLen()], valTargets = new int[valInputs.length];
        new SyntheticBatches(m.vocabSize(), ~t.seed()).next(valInputs, valTargets);
        var validation = new Validation(List.of(valInputs), List.of(valTargets), 0);
        try (Trainer trainer = new Trainer(config, backend, new SyntheticBatches(m.vocabSize(), t.seed()), validation)) {
            for (int i = 0; i < warmup; i++) trainer.trainStep();
            if (sparse && trainer.model().ffnPhase() != Phase.SPARSE) {
                throw new IllegalStateException("the model is in the " + trainer.model().ffnPhase() + " phase after warm-up, not SPARSE; "
                        + "the sparsity schedule was not overridden");
            }
            double[] plain = timeSteps(trainer, backend, iters);
            backend.startProfiling();
            double[] profiled;
            try {
                profiled = timeSteps(trainer, backend, iters);
            } finally {
                backend.stopProfiling();
            }
            return new StepProfile(config.tokensPerStep(), plain, profiled, backend.times(), trainer.skippedSteps());
        }
    }

    private static double[] timeSteps(Trainer trainer, TimedBackend backend, int iters) {
        double[] millis = new double[iters];
        for (int i = 0; i < iters; i++) {
            backend.synchronize();
            long start = System.nanoTime();
            trainer.trainStep();
            backend.synchronize();
            millis[i] = (System.nanoTime() - start) / 1e6;
        }
        return millis;
    }
}
