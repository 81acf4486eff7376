package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.SparseAsserts.assertRelClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every op of {@link CpuSparseKernels} against {@link ReferenceSparseKernels} on the same random layer. */
class CpuSparseKernelsTest {
    private static final double TOL = 1e-5;

    static Stream<SparseScenario> scenarios() {
        return Stream.of(
                // several tiles per expert, a short last tile, vector chunks of the width
                new SparseScenario(11, 128, 64, 2, new int[] {70, 33}, 16),
                // an empty expert, a width with a vector tail, four experts
                new SparseScenario(12, 40, 32, 4, new int[] {5, 0, 20, 9}, 4),
                // one expert, a width narrower than a vector, no padding multiple of 4 (no MVUE)
                new SparseScenario(13, 8, 16, 1, new int[] {13}, 1),
                // F = 40: neurons past the last full vector of rows take the scalar prune
                new SparseScenario(14, 32, 40, 2, new int[] {9, 15}, 4),
                // d = 160: GEMMs 1 and 3 run K in two chunks (128 + 32)
                new SparseScenario(15, 160, 32, 2, new int[] {40, 27}, 8));
    }

    @ParameterizedTest
    @MethodSource("scenarios")
    void everyOpMatchesTheReference(SparseScenario s) {
        var ref = new SparsePipeline(new ReferenceBackend(), s);
        var cpu = new SparsePipeline(new CpuBackend(), s);
        String at = " (" + s + ")";

        assertArrayEquals(ref.w1Dense, cpu.w1Dense, "pruned W1" + at);
        assertArrayEquals(ref.w2tDense, cpu.w2tDense, "pruned W2ᵀ" + at);
        assertRelClose(ref.w1Stats.absSum(), cpu.w1Stats.absSum(), TOL, "Σ|W1|" + at);
        assertRelClose(ref.w1Stats.prunedAbsSum(), cpu.w1Stats.prunedAbsSum(), TOL, "Σ|S(W1)|" + at);
        assertRelClose(ref.w2Stats.prunedAbsSum(), cpu.w2Stats.prunedAbsSum(), TOL, "Σ|S(W2)|" + at);
        assertArrayEquals(ref.centres, cpu.centres, "expert centres" + at);
        assertRelClose(ref.scores, cpu.scores, TOL, "router scores" + at);

        assertRelClose(ref.a, cpu.a, TOL, "A after GEMM 1 and the 2:4 step" + at);
        assertEquals(ref.stats.positive(), cpu.stats.positive(), "positive pre-activations" + at);
        assertEquals(ref.stats.kept(), cpu.stats.kept(), "kept activations" + at);
        assertRelClose(ref.stats.mass(), cpu.stats.mass(), TOL, "relu² mass" + at);
        assertRelClose(ref.stats.keptMass(), cpu.stats.keptMass(), TOL, "kept relu² mass" + at);

        assertRelClose(ref.y, cpu.y, TOL, "GEMM 2, scattered to token order" + at);
        assertRelClose(ref.dz, cpu.dz, TOL, "GEMM 3 and dZ" + at);
        assertRelClose(ref.dx, cpu.dx, TOL, "GEMM 4, scattered to token order" + at);
        assertRelClose(ref.dW2, cpu.dW2, TOL, "GEMM 5 added to dW2" + at);
        assertRelClose(ref.dW1, cpu.dW1, TOL, "GEMM 6 added to dW1" + at);

        if (s.mvueApplies()) {
            assertNotNull(cpu.mvueRows);
            assertRelClose(ref.mvueRows, cpu.mvueRows, TOL, "MVUE of dY along rows" + at);
            assertRelClose(ref.dzMvue, cpu.dzMvue, TOL, "MVUE of dZ along rows" + at);
        }
    }

    @Test
    void theTwoFourPatternKeepsAtMostTwoOfEveryFourNeurons() {
        var s = new SparseScenario(21, 64, 64, 2, new int[] {50, 50}, 8);
        var cpu = new SparsePipeline(new CpuBackend(), s);
        int f = s.neurons / s.experts;
        long nonZero = 0;
        for (int r = 0; r < s.rows(); r++) {
            for (int g = 0; g < f / 4; g++) {
                int n = 0;
                for (int i = 0; i < 4; i++) if (cpu.a[r * f + 4 * g + i] != 0) n++;
                assertTrue(n <= 2, "row " + r + ", group " + g + " keeps " + n + " of 4 (seed " + s.seed + ")");
                nonZero += n;
            }
        }
        assertEquals(cpu.stats.kept(), nonZero, "the kept count is the number of non-zeros (seed " + s.seed + ")");
        assertTrue(nonZero > 0, "nothing kept (seed " + s.seed + ")");
    }

    @Test
    void packedFormsOfAnotherImplementationAreRejected() {
        var cpu = new CpuSparseKernels();
        var ref = new ReferenceSparseKernels();
        var b = new CpuBackend();
        var x = b.zeros(dev.sparsetrain.tensor.DType.F32, 8, 8);
        var perm = b.zeros(dev.sparsetrain.tensor.DType.I32, 8);
        b.uploadInts(perm, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, 0);
        var e = assertThrows(IllegalArgumentException.class,
                () -> cpu.upProject(ref.allocateActivations(8, 16, 2), x, perm, new int[] {0, 4, 8}, cpu.allocateWeight(16, 8, 2)));
        assertTrue(e.getMessage().contains("another backend"), e.getMessage());
    }
}
