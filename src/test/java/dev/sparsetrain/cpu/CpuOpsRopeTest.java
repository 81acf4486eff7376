package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparsetrain.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** CpuBackend's RoPE forward and backward against the reference, and its cached tables across calls. */
class CpuOpsRopeTest {
    private static final long SEED = 0x5EED_4020L;
    private static final int TRIALS = 24;
    private static final float[] THETAS = {10_000f, 500_000f, 1_000_000f};

    private final CpuBackend cpu = new CpuBackend();
    private final ReferenceBackend ref = new ReferenceBackend();

    @Test
    void forwardAndBackwardMatchReference() {
        for (int trial = 0; trial < TRIALS; trial++) {
            var data = new CpuOpsTestData(SEED + trial);
            boolean large = trial == 0;
            // Few distinct (seqLen, headDim, theta) triples, so later trials hit tables cached by earlier ones.
            int seqLen = large ? 256 : 1 + 16 * data.between(0, 2), headDim = large ? 64 : 2 * data.between(1, 40);
            int nHeads = large ? 6 : data.between(1, 4), batch = large ? 3 : data.between(1, 3);
            float theta = THETAS[data.between(0, THETAS.length - 1)];
            Tensor x = data.gaussian(2, (long) batch * seqLen, (long) nHeads * headDim);

            Tensor expected = data.copy(x), actual = data.copy(x);
            ref.ropeForward(expected, seqLen, nHeads, headDim, theta);
            cpu.ropeForward(actual, seqLen, nHeads, headDim, theta);
            data.assertClose(expected, actual, 1e-5, "ropeForward");

            Tensor expectedBack = data.copy(x), actualBack = data.copy(x);
            ref.ropeBackward(expectedBack, seqLen, nHeads, headDim, theta);
            cpu.ropeBackward(actualBack, seqLen, nHeads, headDim, theta);
            data.assertClose(expectedBack, actualBack, 1e-5, "ropeBackward");

            cpu.ropeBackward(actual, seqLen, nHeads, headDim, theta);
            data.assertClose(x, actual, 1e-5, "ropeBackward(ropeForward(x))");
        }
    }

    @Test
    void rejectsOddHeadDimAndRaggedRows() {
        var data = new CpuOpsTestData(SEED);
        Tensor x = data.gaussian(1, 4, 12);
        assertThrows(IllegalArgumentException.class, () -> cpu.ropeForward(x, 4, 4, 3, 10_000f));
        assertThrows(IllegalArgumentException.class, () -> cpu.ropeForward(x, 4, 1, 10, 10_000f));
    }
}
