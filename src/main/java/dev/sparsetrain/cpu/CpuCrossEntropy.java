package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.CpuElementwise.GRAIN;
import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.i;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused softmax cross-entropy for the CPU backend, parallel over rows. Per row: the max (a vector
 * pass), exp(z − max) into a scratch row with {@link VectorMath#exp} (one exp per logit), their sum
 * in double in index order, then the gradient gradScale·e/sum written over the logits. The target's
 * entry (softmax − 1) is redone in double because it can cancel. Every step rounds the same way in
 * interpreted and compiled code, so results are reproducible bit for bit.
 */
final class CpuCrossEntropy {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private CpuCrossEntropy() {}

    static double crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale) {
        int vocab = Math.toIntExact(logits.dim(-1)), rows = Shapes.rows("crossEntropy", logits, vocab);
        Shapes.requireSize("crossEntropy", "targets", targets, rows);
        Shapes.requireSize("crossEntropy", "losses", losses, rows);
        float[] z = f(logits), ls = f(losses);
        int[] tg = i(targets);
        int oz = off(logits), ol = off(losses), ot = off(targets);
        checkTargets(tg, ot, rows, vocab);
        // Each row's loss in its own slot, summed in row order: the total does not depend on the thread count.
        double[] rowLoss = new double[rows];
        Parallel.forRange(rows, Math.max(1, GRAIN / vocab), (from, to) -> {
            float[] e = new float[vocab];
            for (int t = from; t < to; t++) {
                int base = oz + t * vocab, target = tg[ot + t];
                if (target < 0) {
                    Arrays.fill(z, base, base + vocab, 0f);
                    ls[ol + t] = 0;
                    continue;
                }
                float max = max(z, base, vocab);
                VectorMath.exp(z, base, e, 0, vocab, 1f, max);
                double sum = 0;
                for (int j = 0; j < vocab; j++) sum += e[j];
                double lse = max + Math.log(sum);
                double targetLogit = z[base + target];
                float factor = (float) (gradScale / sum);
                for (int j = 0; j < vocab; j++) z[base + j] = e[j] * factor;
                z[base + target] = (float) (gradScale * (Math.exp(targetLogit - lse) - 1));
                rowLoss[t] = lse - targetLogit;
                ls[ol + t] = (float) rowLoss[t];
            }
        });
        double total = 0;
        for (double l : rowLoss) total += l;
        return total;
    }

    private static void checkTargets(int[] tg, int ot, int rows, int vocab) {
        for (int t = 0; t < rows; t++) {
            int target = tg[ot + t];
            if (target >= vocab) {
                throw new IllegalArgumentException("crossEntropy: target token " + target + " at row " + t
                        + " is outside the vocabulary of " + vocab + "; the data's tokenizer and the model's vocabSize disagree");
            }
        }
    }

    /** The row's largest logit (max is exact, so lane order does not matter). */
    private static float max(float[] z, int base, int vocab) {
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (int end = S.loopBound(vocab); j < end; j += S.length()) m = m.max(FloatVector.fromArray(S, z, base + j));
        float max = m.reduceLanes(VectorOperators.MAX);
        for (; j < vocab; j++) max = Math.max(max, z[base + j]);
        return max;
    }
}
