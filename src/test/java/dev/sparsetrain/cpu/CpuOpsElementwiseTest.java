package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** CpuBackend's scale, add, sumSquares, relu² and SwiGLU against the reference on random data. */
class CpuOpsElementwiseTest {
    private static final long SEED = 0x5EED_E1E0L;
    private static final int TRIALS = 16;
    /** Large enough to split into several parallel chunks. */
    private static final int LARGE = 300_007;

    private final CpuBackend cpu = new CpuBackend();
    private final ReferenceBackend ref = new ReferenceBackend();

    /** Random sizes, odd and below one vector included, plus one size that runs in parallel. */
    private static int size(CpuOpsTestData data, int trial) {
        return trial == 0 ? LARGE : data.between(1, 5000);
    }

    @Test
    void scaleMatchesReferenceExactly() {
        for (int trial = 0; trial < TRIALS; trial++) {
            var data = new CpuOpsTestData(SEED + trial);
            Tensor expected = data.gaussian(2, size(data, trial)), actual = data.copy(expected);
            float s = (float) data.random.nextDouble(-3, 3);
            ref.scale(expected, s);
            cpu.scale(actual, s);
            data.assertSameAs(expected, actual, "scale");
        }
    }

    @Test
    void addMatchesReferenceExactlyIncludingAliasedOutput() {
        for (int trial = 0; trial < TRIALS; trial++) {
            var data = new CpuOpsTestData(SEED + trial);
            int n = size(data, trial);
            Tensor a = data.gaussian(1, n), b = data.gaussian(5, n);
            Tensor expected = data.poisoned(n), actual = data.poisoned(n);
            ref.add(expected, a, b);
            cpu.add(actual, a, b);
            data.assertSameAs(expected, actual, "add");

            Tensor aliased = data.copy(a);
            cpu.add(aliased, aliased, b);
            data.assertSameAs(expected, aliased, "add into its first input");
        }
    }

    @Test
    void sumSquaresMatchesReference() {
        for (int trial = 0; trial < TRIALS; trial++) {
            var data = new CpuOpsTestData(SEED + trial);
            Tensor x = data.gaussian(3, size(data, trial));
            data.assertClose(ref.sumSquares(x), cpu.sumSquares(x), 1e-6, "sumSquares");
        }
    }

    @Test
    void relu2MatchesReferenceExactly() {
        for (int trial = 0; trial < TRIALS; trial++) {
            var data = new CpuOpsTestData(SEED + trial);
            int n = size(data, trial);
            Tensor z = data.gaussian(2, n), da = data.gaussian(1, n);
            Tensor expected = data.poisoned(n), actual = data.poisoned(n);
            ref.relu2Forward(expected, z);
            cpu.relu2Forward(actual, z);
            data.assertSameAs(expected, actual, "relu2Forward");

            Tensor expectedGrad = data.poisoned(n), actualGrad = data.poisoned(n);
            ref.relu2Backward(expectedGrad, da, z);
            cpu.relu2Backward(actualGrad, da, z);
            data.assertSameAs(expectedGrad, actualGrad, "relu2Backward");
        }
    }

    @Test
    void swigluMatchesReference() {
        for (int trial = 0; trial < TRIALS; trial++) {
            var data = new CpuOpsTestData(SEED + trial);
            int n = size(data, trial);
            checkSwiglu(data, data.gaussian(4, n), data.gaussian(1, n), data.gaussian(1, n));
        }
    }

    @Test
    void swigluStaysFiniteOnSaturatedGates() {
        var data = new CpuOpsTestData(SEED);
        float[] extremes = {-1000f, -120f, -89f, -88f, -30f, -1.2785f, -1e-3f, 2e-3f, 17f, 30f, 90f, 1000f};
        Tensor gate = data.gaussian(1, extremes.length);
        cpu.upload(gate, extremes, 0);
        checkSwiglu(data, gate, data.gaussian(1, extremes.length), data.gaussian(1, extremes.length));
    }

    private void checkSwiglu(CpuOpsTestData data, Tensor gate, Tensor up, Tensor dh) {
        long n = gate.numel();
        Tensor expected = data.poisoned(n), actual = data.poisoned(n);
        ref.swigluForward(expected, gate, up);
        cpu.swigluForward(actual, gate, up);
        data.assertClose(expected, actual, 1e-5, "swigluForward");

        Tensor expectedGate = data.poisoned(n), expectedUp = data.poisoned(n);
        Tensor actualGate = data.poisoned(n), actualUp = data.poisoned(n);
        ref.swigluBackward(expectedGate, expectedUp, dh, gate, up);
        cpu.swigluBackward(actualGate, actualUp, dh, gate, up);
        data.assertClose(expectedGate, actualGate, 1e-5, "swigluBackward dGate");
        data.assertClose(expectedUp, actualUp, 1e-5, "swigluBackward dUp");
    }
}
