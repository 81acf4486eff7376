package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** CpuBackend's embedding lookup and its scatter-add gradient against the reference. */
class CpuOpsEmbeddingTest {
    private static final long SEED = 0x5EED_E3B0L;
    private static final int TRIALS = 16;

    private final CpuBackend cpu = new CpuBackend();
    private final ReferenceBackend ref = new ReferenceBackend();

    @Test
    void forwardAndBackwardMatchReferenceExactly() {
        for (int trial = 0; trial < TRIALS; trial++) {
            var data = new CpuOpsTestData(SEED + trial);
            // A small vocabulary makes tokens repeat, which is what a racy backward would get wrong.
            boolean large = trial == 0;
            int vocab = large ? 300 : data.between(1, 40), d = large ? 515 : data.between(1, 200);
            int count = large ? 2000 : data.between(1, 300);
            Tensor tokens = data.tokens(vocab, count), table = data.gaussian(1, vocab, d);

            Tensor expected = data.poisoned(count, d), actual = data.poisoned(count, d);
            ref.embeddingForward(expected, tokens, table);
            cpu.embeddingForward(actual, tokens, table);
            data.assertSameAs(expected, actual, "embeddingForward");

            Tensor dOut = data.gaussian(1, count, d);
            Tensor expectedGrad = data.gaussian(1, vocab, d), actualGrad = data.copy(expectedGrad);
            ref.embeddingBackward(expectedGrad, tokens, dOut);
            cpu.embeddingBackward(actualGrad, tokens, dOut);
            data.assertSameAs(expectedGrad, actualGrad, "embeddingBackward");
        }
    }

    @Test
    void tokensOutsideTheVocabularyAreNamedAndLeaveOutputsUntouched() {
        var data = new CpuOpsTestData(SEED);
        int vocab = 10, d = 7;
        Tensor table = data.gaussian(1, vocab, d);
        for (int bad : new int[] {vocab, 12345, -1}) {
            Tensor tokens = data.ints(3, 1, bad, 4);
            Tensor out = data.poisoned(4, d);
            var e = assertThrows(IllegalArgumentException.class, () -> cpu.embeddingForward(out, tokens, table));
            assertTrue(e.getMessage().contains("token " + bad), e.getMessage());

            Tensor dTable = data.gaussian(1, vocab, d), before = data.copy(dTable);
            var eb = assertThrows(IllegalArgumentException.class, () -> cpu.embeddingBackward(dTable, tokens, data.gaussian(1, 4, d)));
            assertTrue(eb.getMessage().contains("token " + bad), eb.getMessage());
            data.assertSameAs(before, dTable, "embeddingBackward after a rejected batch");
        }
    }
}
