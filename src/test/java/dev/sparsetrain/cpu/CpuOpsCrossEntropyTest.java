package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** CpuBackend's fused softmax cross-entropy against the reference: losses, total and gradients. */
class CpuOpsCrossEntropyTest {
    private static final long SEED = 0x5EED_CE00L;
    private static final int TRIALS = 20;

    private final CpuBackend cpu = new CpuBackend();
    private final ReferenceBackend ref = new ReferenceBackend();

    @Test
    void lossesTotalAndGradientsMatchReference() {
        for (int trial = 0; trial < TRIALS; trial++) {
            var data = new CpuOpsTestData(SEED + trial);
            boolean large = trial == 0;
            int rows = large ? 96 : data.between(1, 40), vocab = large ? 5003 : data.between(1, 3000);
            // Wide logits make the online max matter; a shift tests that only differences count.
            double spread = new double[] {0.5, 3, 30}[trial % 3];
            Tensor logits = data.gaussian(spread, rows, vocab);
            int[] targets = new int[rows];
            for (int t = 0; t < rows; t++) targets[t] = data.random.nextInt(5) == 0 ? -1 - data.random.nextInt(100) : data.random.nextInt(vocab);
            Tensor target = data.ints(targets);
            float gradScale = (float) (1.0 / data.between(1, 4 * rows));

            Tensor expectedGrad = data.copy(logits), actualGrad = data.copy(logits);
            Tensor expectedLoss = data.poisoned(rows), actualLoss = data.poisoned(rows);
            double expectedTotal = ref.crossEntropy(expectedGrad, target, expectedLoss, gradScale);
            double actualTotal = cpu.crossEntropy(actualGrad, target, actualLoss, gradScale);
            data.assertClose(expectedLoss, actualLoss, 1e-5, "crossEntropy losses");
            data.assertClose(expectedGrad, actualGrad, 1e-5, "crossEntropy dlogits");
            double absLoss = 0;
            for (float l : CpuOpsTestData.host(expectedLoss)) absLoss += Math.abs(l);
            assertEquals(expectedTotal, actualTotal, 1e-6 * absLoss + 1e-12, "crossEntropy total [seed " + data.seed + "]");

            float[] grads = CpuOpsTestData.host(actualGrad), losses = CpuOpsTestData.host(actualLoss);
            for (int t = 0; t < rows; t++) {
                if (targets[t] >= 0) continue;
                assertEquals(0f, losses[t], "ignored row " + t + " loss [seed " + data.seed + "]");
                for (int j = 0; j < vocab; j++) assertEquals(0f, grads[t * vocab + j], "ignored row " + t + " gradient [seed " + data.seed + "]");
            }
        }
    }

    @Test
    void targetOutsideTheVocabularyIsNamedAndLeavesLogitsUntouched() {
        var data = new CpuOpsTestData(SEED);
        int vocab = 33;
        Tensor logits = data.gaussian(1, 3, vocab), before = data.copy(logits);
        Tensor targets = data.ints(5, -1, 70_001);
        var e = assertThrows(IllegalArgumentException.class, () -> cpu.crossEntropy(logits, targets, data.poisoned(3), 1f));
        assertTrue(e.getMessage().contains("70001"), e.getMessage());
        data.assertSameAs(before, logits, "logits after a rejected batch");
    }
}
