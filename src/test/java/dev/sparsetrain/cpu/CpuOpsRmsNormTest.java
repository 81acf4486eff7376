package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** CpuBackend's RMSNorm forward and backward against the reference on random shapes and scales. */
class CpuOpsRmsNormTest {
    private static final long SEED = 0x5EED_4A50L;
    private static final int TRIALS = 16;

    private final CpuBackend cpu = new CpuBackend();
    private final ReferenceBackend ref = new ReferenceBackend();

    @Test
    void forwardAndBackwardMatchReference() {
        for (int trial = 0; trial < TRIALS; trial++) {
            var data = new CpuOpsTestData(SEED + trial);
            boolean large = trial == 0;
            int rows = large ? 700 : data.between(1, 80), d = large ? 517 : data.between(1, 300);
            double scale = Math.pow(10, data.random.nextDouble(-2, 1));
            float eps = trial % 2 == 0 ? 1e-5f : (float) data.random.nextDouble(1e-6, 1e-2);
            Tensor x = data.gaussian(scale, rows, d), weight = data.gaussian(1, d);

            Tensor expected = data.poisoned(rows, d), expectedRstd = data.poisoned(rows);
            Tensor actual = data.poisoned(rows, d), actualRstd = data.poisoned(rows);
            ref.rmsNormForward(expected, expectedRstd, x, weight, eps);
            cpu.rmsNormForward(actual, actualRstd, x, weight, eps);
            data.assertClose(expectedRstd, actualRstd, 1e-6, "rmsNormForward rstd");
            data.assertClose(expected, actual, 1e-5, "rmsNormForward out");

            Tensor dOut = data.gaussian(1, rows, d);
            // The accumulators start on the gradients' own scale so the added part is not lost in them.
            Tensor expectedDx = data.gaussian(1 / scale, rows, d), actualDx = data.copy(expectedDx);
            Tensor expectedDw = data.gaussian(Math.sqrt(rows), d), actualDw = data.copy(expectedDw);
            ref.rmsNormBackward(expectedDx, expectedDw, dOut, x, weight, expectedRstd);
            cpu.rmsNormBackward(actualDx, actualDw, dOut, x, weight, expectedRstd);
            data.assertClose(expectedDx, actualDx, 1e-5, "rmsNormBackward dx");
            data.assertClose(expectedDw, actualDw, 1e-5, "rmsNormBackward dWeight");
        }
    }
}
