package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import dev.sparsetrain.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** CpuBackend's fused AdamW step against the reference over several consecutive steps. */
class CpuOpsAdamWTest {
    private static final long SEED = 0x5EED_ADA0L;
    private static final int TRIALS = 12;
    private static final int STEPS = 3;

    private final CpuBackend cpu = new CpuBackend();
    private final ReferenceBackend ref = new ReferenceBackend();

    @Test
    void stepsMatchReference() {
        for (int trial = 0; trial < TRIALS; trial++) {
            var data = new CpuOpsTestData(SEED + trial);
            int n = trial == 0 ? 300_007 : data.between(1, 5000);
            float lr = (float) Math.pow(10, data.random.nextDouble(-4, -1.5));
            float beta1 = 0.9f, beta2 = trial % 2 == 0 ? 0.95f : 0.999f, eps = 1e-8f;
            float weightDecay = trial % 3 == 0 ? 0f : 0.1f, gradScale = (float) data.random.nextDouble(0.1, 2);
            int firstStep = data.between(1, 2000);

            Tensor refParam = data.gaussian(1, n), refM = data.gaussian(1e-3, n), refV = data.positive(1e-6, n);
            Tensor cpuParam = data.copy(refParam), cpuM = data.copy(refM), cpuV = data.copy(refV);
            for (int step = firstStep; step < firstStep + STEPS; step++) {
                Tensor grad = data.gaussian(1e-3, n);
                float[] before = CpuOpsTestData.host(refParam);
                ref.adamw(refParam, grad, refM, refV, lr, beta1, beta2, eps, weightDecay, step, gradScale);
                cpu.adamw(cpuParam, grad, cpuM, cpuV, lr, beta1, beta2, eps, weightDecay, step, gradScale);
                data.assertClose(refM, cpuM, 1e-5, "adamw m at step " + step);
                data.assertClose(refV, cpuV, 1e-5, "adamw v at step " + step);
                assertParamsClose(data, before, refParam, cpuParam, step);
                // Restart each step from the reference's state, so each step is judged alone, not its compounded drift.
                cpu.copy(cpuParam, refParam);
                cpu.copy(cpuM, refM);
                cpu.copy(cpuV, refV);
            }
        }
    }

    /**
     * The update is ~lr·param, so the params are compared on the scale of the update: within 1e-5
     * of the update, plus two float ulps of the param that both sides round to.
     */
    private static void assertParamsClose(CpuOpsTestData data, float[] before, Tensor expected, Tensor actual, int step) {
        float[] e = CpuOpsTestData.host(expected), a = CpuOpsTestData.host(actual);
        for (int j = 0; j < e.length; j++) {
            double tol = 1e-5 * Math.abs(e[j] - before[j]) + 2 * Math.ulp(e[j]);
            if (!(Math.abs(a[j] - e[j]) <= tol)) {
                fail("adamw param " + j + " at step " + step + " [seed " + data.seed + "]: " + a[j] + ", reference " + e[j]
                        + " (was " + before[j] + ")");
            }
        }
        data.assertGuardsIntact(actual, "adamw param");
    }

    @Test
    void rejectsStepZero() {
        var data = new CpuOpsTestData(SEED);
        Tensor p = data.gaussian(1, 5), g = data.gaussian(1, 5), m = data.gaussian(1, 5), v = data.positive(1, 5);
        assertThrows(IllegalArgumentException.class, () -> cpu.adamw(p, g, m, v, 1e-3f, 0.9f, 0.95f, 1e-8f, 0f, 0, 1f));
    }
}
