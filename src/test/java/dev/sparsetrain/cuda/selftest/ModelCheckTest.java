package dev.sparsetrain.cuda.selftest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.tensor.Backend;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The whole-model check on CPU backends, a few steps only (the selftest runs twenty). */
class ModelCheckTest {
    private static final long SEED = 5L;
    private static final int STEPS = 3;

    private static List<CheckRow> run(Backend candidate) {
        List<CheckRow> rows = new ArrayList<>();
        try (Backend reference = new CpuBackend()) {
            ModelCheck.run(candidate, reference, SEED, STEPS, rows::add);
        }
        return rows;
    }

    @Test
    void identicalBackendsTrainIdentically() {
        try (Backend candidate = new CpuBackend()) {
            List<CheckRow> rows = run(candidate);
            assertEquals(6, rows.size(), "a loss row and a grad-norm row per FFN kind and for the sparse schedule: " + rows);
            for (CheckRow r : rows) assertTrue(r.passed(), "seed " + SEED + ": " + r);
        }
    }

    @Test
    void aWrongMatmulMakesTheTrainingRunsPartWays() {
        try (Backend candidate = new PerturbedBackend(PerturbedBackend.Op.MATMUL)) {
            for (CheckRow r : run(candidate)) assertFalse(r.passed(), "seed " + SEED + ": " + r);
        }
    }

    @Test
    void theLossActuallyMovesOnTheLearnableData() {
        try (Backend cpu = new CpuBackend()) {
            var stats = ModelCheck.train(cpu, ModelCheck.config(dev.sparsetrain.config.FfnKind.RELU2, SEED, 8), SEED);
            assertTrue(stats[7].loss() < stats[0].loss() - 0.05, "seed " + SEED + ": loss " + stats[0].loss() + " -> " + stats[7].loss());
        }
    }
}
