package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.CpuElementwise.GRAIN;
import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.i;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused softmax cross-entropy for the CPU backend, parallel over rows, two passes over each row.
 *
 * <p>Pass one is an online log-sum-exp: every lane keeps a running max and a sum of exponentials
 * relative to it, rescaled only once per block of four vectors, so the row is read once and exp
 * runs about 1.25 times per logit; at the end the lanes are rescaled to the row max and summed in
 * double. Pass two overwrites the logits with gradScale·softmax; the target's entry (softmax − 1)
 * is redone in double because it can cancel.
 */
final class CpuCrossEntropy {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int BLOCK = 4 * S.length();
    /**
     * The running max starts at the most negative finite float rather than −∞, so that a lane whose
     * logits so far are all −∞ rescales by exp(finite − finite) = 0 instead of exp(−∞ + ∞) = NaN.
     */
    private static final float LOWEST = -Float.MAX_VALUE;

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
            for (int t = from; t < to; t++) {
                int base = oz + t * vocab, target = tg[ot + t];
                if (target < 0) {
                    Arrays.fill(z, base, base + vocab, 0f);
                    ls[ol + t] = 0;
                    continue;
                }
                double lse = logSumExp(z, base, vocab);
                double targetLogit = z[base + target];
                writeGradient(z, base, vocab, lse, gradScale);
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

    /** ln Σ exp(z[base..base+vocab)), in double. */
    private static double logSumExp(float[] z, int base, int vocab) {
        FloatVector max = FloatVector.broadcast(S, LOWEST), sum = FloatVector.zero(S);
        int j = 0;
        for (int end = vocab - vocab % BLOCK; j < end; j += BLOCK) {
            FloatVector a = FloatVector.fromArray(S, z, base + j), b = FloatVector.fromArray(S, z, base + j + S.length());
            FloatVector c = FloatVector.fromArray(S, z, base + j + 2 * S.length()), d = FloatVector.fromArray(S, z, base + j + 3 * S.length());
            FloatVector next = max.max(a.max(b)).max(c.max(d));
            sum = sum.mul(exp(max.sub(next)))
                    .add(exp(a.sub(next))).add(exp(b.sub(next))).add(exp(c.sub(next))).add(exp(d.sub(next)));
            max = next;
        }
        for (; j < vocab; j += S.length()) {
            // Masked-off lanes keep their max and add nothing.
            VectorMask<Float> m = S.indexInRange(j, vocab);
            FloatVector v = FloatVector.fromArray(S, z, base + j, m);
            FloatVector next = max.lanewise(VectorOperators.MAX, v, m);
            sum = sum.mul(exp(max.sub(next))).lanewise(VectorOperators.ADD, exp(v.sub(next)), m);
            max = next;
        }
        float rowMax = max.reduceLanes(VectorOperators.MAX);
        return rowMax + Math.log(Lanes.sumInDouble(sum.mul(exp(max.sub(rowMax)))));
    }

    /**
     * z ← gradScale·exp(z − lse). The shift is the float nearest lse; the rest of lse is folded
     * into the factor in double, so rounding lse to float costs no accuracy.
     */
    private static void writeGradient(float[] z, int base, int vocab, double lse, float gradScale) {
        float shift = (float) lse;
        float factor = (float) (gradScale * Math.exp(shift - lse));
        int j = 0;
        for (int end = S.loopBound(vocab); j < end; j += S.length()) {
            exp(FloatVector.fromArray(S, z, base + j).sub(shift)).mul(factor).intoArray(z, base + j);
        }
        if (j < vocab) {
            VectorMask<Float> m = S.indexInRange(j, vocab);
            exp(FloatVector.fromArray(S, z, base + j, m).sub(shift)).mul(factor).intoArray(z, base + j, m);
        }
    }

    private static FloatVector exp(FloatVector v) {
        return VectorMath.exp(v);
    }
}
