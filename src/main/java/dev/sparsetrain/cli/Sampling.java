package dev.sparsetrain.cli;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Temperature and top-k sampling over one row of logits. */
final class Sampling {
    private Sampling() {}

    /**
     * Picks a token among the first {@code vocab} logits (padded vocabulary rows beyond the tokenizer
     * are never sampled). Temperature 0 is greedy; topK 0 keeps the whole vocabulary.
     */
    static int pick(float[] logits, int vocab, float temperature, int topK, SplittableRandom random) {
        int n = Math.min(vocab, logits.length);
        int best = 0;
        for (int i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
        if (temperature == 0) return best;
        float cutoff = Float.NEGATIVE_INFINITY;
        if (topK > 0 && topK < n) {
            float[] sorted = Arrays.copyOf(logits, n);
            Arrays.sort(sorted);
            cutoff = sorted[n - topK];
        }
        double[] p = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            if (logits[i] < cutoff) continue;
            p[i] = Math.exp((logits[i] - logits[best]) / temperature);
            sum += p[i];
        }
        double r = random.nextDouble() * sum;
        for (int i = 0; i < n; i++) {
            r -= p[i];
            if (r <= 0 && p[i] > 0) return i;
        }
        return best;
    }
}
