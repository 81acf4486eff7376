package dev.sparsetrain.model;

import static dev.sparsetrain.model.TestArrays.assertAllFinite;
import static dev.sparsetrain.model.TestArrays.assertClose;
import static dev.sparsetrain.model.TestArrays.maxAbs;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.Backend;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Behaviour of the whole model: accumulation, ignored targets, determinism, LM-head chunking, sampling logits, learning. */
class LlamaModelTest {
    private static final int N = TinyModels.ROWS * TinyModels.SEQ_LEN;
    private final Backend b = new ReferenceBackend();

    private LlamaModel model(FfnKind ffn, long seed) {
        return new LlamaModel(b, TinyModels.config(ffn, 1, 0.3f), TinyModels.ROWS).initialize(seed);
    }

    @ParameterizedTest
    @EnumSource(FfnKind.class)
    void twoHalfScaledStepsEqualOneFullStep(FfnKind ffn) {
        long seed = 101 + ffn.ordinal();
        var rng = new SplittableRandom(seed);
        int[] tokens = TinyModels.randomTokens(rng, N, TinyModels.VOCAB), targets = TinyModels.randomTokens(rng, N, TinyModels.VOCAB);
        try (var m = model(ffn, seed)) {
            double full = m.trainStep(tokens, targets, 1f);
            float[] once = b.toHost(m.gradients());
            m.zeroGradients();
            double half1 = m.trainStep(tokens, targets, 0.5f), half2 = m.trainStep(tokens, targets, 0.5f);
            float[] twice = b.toHost(m.gradients());
            assertEquals(full, half1, "loss does not depend on lossScale, seed " + seed);
            assertEquals(full, half2, "seed " + seed);
            // Not bit-identical: the second step's per-row partial sums are added onto g/2 rather than
            // onto 0, so they round in another order.
            assertClose(once, twice, 1e-6, "accumulated gradient, seed " + seed);
            assertTrue(maxAbs(once) > 0, "no gradient at all, seed " + seed);
        }
    }

    @Test
    void microBatchesOfOneRowAccumulateToTheTwoRowGradient() {
        long seed = 202;
        var rng = new SplittableRandom(seed);
        int[] tokens = TinyModels.randomTokens(rng, N, TinyModels.VOCAB), targets = TinyModels.randomTokens(rng, N, TinyModels.VOCAB);
        int s = TinyModels.SEQ_LEN;
        try (var m = model(FfnKind.RELU2, seed)) {
            double whole = m.trainStep(tokens, targets, 1f);
            float[] expected = b.toHost(m.gradients());
            m.zeroGradients();
            double first = m.trainStep(Arrays.copyOfRange(tokens, 0, s), Arrays.copyOfRange(targets, 0, s), 0.5f);
            double second = m.trainStep(Arrays.copyOfRange(tokens, s, N), Arrays.copyOfRange(targets, s, N), 0.5f);
            assertEquals(whole, (first + second) / 2, 1e-6, "mean loss, seed " + seed);
            assertClose(expected, b.toHost(m.gradients()), 1e-5, "gradient, seed " + seed);
        }
    }

    @Test
    void ignoredTargetsContributeNothing() {
        long seed = 303;
        var rng = new SplittableRandom(seed);
        int[] tokens = TinyModels.randomTokens(rng, N, TinyModels.VOCAB), targets = TinyModels.randomTokens(rng, N, TinyModels.VOCAB);
        // The loss over all positions is the count-weighted mean of the losses over two disjoint halves,
        // each computed with the other half's targets ignored; the gradients add up the same way.
        int[] even = targets.clone(), odd = targets.clone();
        for (int j = 0; j < N; j++) {
            if (j % 2 == 0) odd[j] = -1;
            else even[j] = -(1 + j); // any negative value means "ignore"
        }
        try (var m = model(FfnKind.SWIGLU, seed)) {
            double all = m.trainStep(tokens, targets, 1f);
            float[] expected = b.toHost(m.gradients());
            m.zeroGradients();
            int nEven = (N + 1) / 2, nOdd = N / 2;
            double lossEven = m.trainStep(tokens, even, (float) nEven / N);
            double lossOdd = m.trainStep(tokens, odd, (float) nOdd / N);
            assertEquals(all, (nEven * lossEven + nOdd * lossOdd) / N, 1e-6, "loss, seed " + seed);
            assertClose(expected, b.toHost(m.gradients()), 1e-5, "gradient, seed " + seed);
            assertEquals(lossEven, m.evaluate(tokens, even), 1e-6, "evaluate agrees with trainStep, seed " + seed);
        }
    }

    @Test
    void allTargetsIgnoredIsAClearError() {
        try (var m = model(FfnKind.RELU2, 1)) {
            int[] none = new int[N];
            Arrays.fill(none, -1);
            var e = assertThrows(IllegalArgumentException.class, () -> m.trainStep(new int[N], none, 1f));
            assertTrue(e.getMessage().contains("ignored"), e.getMessage());
        }
    }

    @Test
    void sameSeedGivesBitIdenticalParametersLossAndGradients() {
        long seed = 404;
        var rng = new SplittableRandom(seed);
        int[] tokens = TinyModels.randomTokens(rng, N, TinyModels.VOCAB), targets = TinyModels.randomTokens(rng, N, TinyModels.VOCAB);
        try (var a = model(FfnKind.RELU2, seed); var c = model(FfnKind.RELU2, seed); var other = model(FfnKind.RELU2, seed + 1)) {
            assertArrayEquals(b.toHost(a.parameters()), b.toHost(c.parameters()), "parameters, seed " + seed);
            assertFalse(Arrays.equals(b.toHost(a.parameters()), b.toHost(other.parameters())), "seeds " + seed + " and " + (seed + 1));
            assertEquals(a.trainStep(tokens, targets, 1f), c.trainStep(tokens, targets, 1f), "loss, seed " + seed);
            assertArrayEquals(b.toHost(a.gradients()), b.toHost(c.gradients()), "gradients, seed " + seed);
        }
    }

    @ParameterizedTest
    @EnumSource(FfnKind.class)
    void chunkedLmHeadMatchesOneChunk(FfnKind ffn) {
        long seed = 505 + ffn.ordinal();
        var rng = new SplittableRandom(seed);
        int[] tokens = TinyModels.randomTokens(rng, N, TinyModels.VOCAB), targets = TinyModels.randomTokens(rng, N, TinyModels.VOCAB);
        targets[4] = -1;
        var config = TinyModels.config(ffn, 1, 0.3f);
        try (var whole = new LlamaModel(b, config, TinyModels.ROWS, N).initialize(seed);
             var chunked = new LlamaModel(b, config, TinyModels.ROWS, 3).initialize(seed)) { // 10 rows: chunks 3,3,3,1
            double lossWhole = whole.trainStep(tokens, targets, 1f), lossChunked = chunked.trainStep(tokens, targets, 1f);
            assertEquals(lossWhole, lossChunked, 1e-6, "loss, seed " + seed);
            assertClose(b.toHost(whole.gradients()), b.toHost(chunked.gradients()), 1e-5, "gradient, seed " + seed);
            assertEquals(lossWhole, chunked.evaluate(tokens, targets), 1e-6, "evaluate, seed " + seed);
        }
    }

    @Test
    void nextTokenLogitsMatchTheFullForwardAtThatPosition() {
        long seed = 606;
        var rng = new SplittableRandom(seed);
        int[] tokens = TinyModels.randomTokens(rng, N, TinyModels.VOCAB);
        int s = TinyModels.SEQ_LEN;
        try (var m = model(FfnKind.SWIGLU, seed)) {
            for (int[] rowPos : new int[][] {{1, 2}, {0, s - 1}, {1, 0}}) {
                int row = rowPos[0], pos = rowPos[1];
                float[] logits = m.nextTokenLogits(Arrays.copyOfRange(tokens, row * s, row * s + pos + 1));
                assertEquals(TinyModels.VOCAB, logits.length);
                assertAllFinite(logits, "logits, seed " + seed);
                double lse = logSumExp(logits);
                // The full two-row forward's loss at (row, pos) against target j is lse − z_j; read it back
                // for every j by ignoring all other positions.
                for (int j = 0; j < TinyModels.VOCAB; j++) {
                    int[] targets = new int[N];
                    Arrays.fill(targets, -1);
                    targets[row * s + pos] = j;
                    assertEquals(m.evaluate(tokens, targets), lse - logits[j], 1e-5,
                            "row " + row + " position " + pos + " token " + j + ", seed " + seed);
                }
            }
        }
    }

    @Test
    void plainSgdOnARepeatedSequenceDrivesTheLossDown() {
        long seed = 707;
        var config = new ModelConfig(TinyModels.VOCAB, 16, 2, 2, 1, 32, FfnKind.RELU2, 8, 10000f, 1e-5f, 0.02f);
        int[] sequence = {3, 1, 4, 1, 5, 9, 2, 6, 5};
        int[] tokens = new int[16], targets = new int[16];
        for (int row = 0; row < 2; row++) {
            System.arraycopy(sequence, 0, tokens, row * 8, 8);
            System.arraycopy(sequence, 1, targets, row * 8, 8);
        }
        float lr = 0.1f;
        try (var m = new LlamaModel(b, config, 2).initialize(seed)) {
            double first = m.evaluate(tokens, targets);
            assertEquals(Math.log(TinyModels.VOCAB), first, 0.1, "a small init predicts nearly uniformly, seed " + seed);
            for (int step = 0; step < 40; step++) {
                m.zeroGradients();
                m.trainStep(tokens, targets, 1f);
                b.scale(m.gradients(), -lr);
                b.add(m.parameters(), m.parameters(), m.gradients());
            }
            double last = m.evaluate(tokens, targets);
            assertTrue(last < 0.25 * first, "loss went from " + first + " to " + last + " in 40 SGD steps, seed " + seed);
        }
    }

    @Test
    void badInputsAreClearErrors() {
        try (var m = model(FfnKind.RELU2, 9)) {
            int[] ok = new int[N];
            assertThrows(IllegalArgumentException.class, () -> m.trainStep(new int[N - 1], new int[N - 1], 1f), "not whole rows");
            assertThrows(IllegalArgumentException.class, () -> m.trainStep(new int[3 * TinyModels.SEQ_LEN], new int[3 * TinyModels.SEQ_LEN], 1f),
                    "more rows than the buffers hold");
            assertThrows(IllegalArgumentException.class, () -> m.trainStep(ok, new int[N - 1], 1f), "length mismatch");
            int[] badToken = ok.clone();
            badToken[2] = TinyModels.VOCAB;
            var e = assertThrows(IllegalArgumentException.class, () -> m.evaluate(badToken, ok));
            assertTrue(e.getMessage().contains("position 2"), e.getMessage());
            int[] badTarget = ok.clone();
            badTarget[5] = TinyModels.VOCAB + 3;
            assertThrows(IllegalArgumentException.class, () -> m.evaluate(ok, badTarget));
            assertThrows(IllegalArgumentException.class, () -> m.nextTokenLogits(new int[0]));
            assertThrows(IllegalArgumentException.class, () -> m.nextTokenLogits(new int[TinyModels.SEQ_LEN + 1]));
        }
    }

    private static double logSumExp(float[] z) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float v : z) max = Math.max(max, v);
        for (float v : z) sum += Math.exp(v - max);
        return max + Math.log(sum);
    }
}
