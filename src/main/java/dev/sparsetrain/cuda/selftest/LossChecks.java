package dev.sparsetrain.cuda.selftest;

import static dev.sparsetrain.cuda.selftest.OpSuite.TOLERANCE;

import java.util.List;
import java.util.function.Consumer;

/** The fused softmax cross-entropy (with ignored rows) and the AdamW step. */
final class LossChecks {
    private LossChecks() {}

    static List<OpCheck.Named> all() {
        return List.of(new OpCheck.Named("crossEntropy", LossChecks::crossEntropy), new OpCheck.Named("adamw", LossChecks::adamw));
    }

    private static void crossEntropy(Twins t, Consumer<CheckRow> out) {
        int rows = 64, vocab = 1000;
        float gradScale = 1f / rows;
        String shape = "T=" + rows + " V=" + vocab;
        int[] targets = t.randomInts(vocab, rows);
        for (int i = 4; i < rows; i += 9) targets[i] = -1; // ignored rows: loss 0, gradient 0
        var ids = t.ints(targets, rows);
        var logits = t.uniform(-4, 4, rows, vocab);
        var losses = t.poisoned(rows);
        double[] sums = t.evaluate((b, s) -> b.crossEntropy(s.of(logits), s.of(ids), s.of(losses), gradScale));
        out.accept(Comparison.compareScalar("crossEntropy sum", shape, sums[0], sums[1], TOLERANCE));
        out.accept(t.compare("crossEntropy losses", shape, losses, TOLERANCE));
        out.accept(t.compare("crossEntropy dLogits", shape, logits, TOLERANCE));
    }

    private static void adamw(Twins t, Consumer<CheckRow> out) {
        int n = 10_007;
        String shape = "n=" + n + " step=7";
        var param = t.gaussian(n);
        var grad = t.gaussian(n);
        var m = t.uniform(-0.1, 0.1, n);
        var v = t.uniform(0, 0.01, n);
        t.run((b, s) -> b.adamw(s.of(param), s.of(grad), s.of(m), s.of(v), 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 7, 0.5f));
        out.accept(t.compare("adamw param", shape, param, TOLERANCE));
        out.accept(t.compare("adamw m", shape, m, TOLERANCE));
        out.accept(t.compare("adamw v", shape, v, TOLERANCE));
    }
}
