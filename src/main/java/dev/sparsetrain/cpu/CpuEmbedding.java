package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.CpuElementwise.GRAIN;
import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.i;
import static dev.sparsetrain.cpu.HeapStorage.n;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Token embedding lookup and its gradient for the CPU backend.
 *
 * <p>The backward scatters rows into the table, and repeated tokens hit the same row, so it is
 * split over the d columns instead of over tokens: each thread owns a band of columns of every
 * table row, races are impossible, and each element sums its tokens in token order, exactly as
 * the reference does.
 */
final class CpuEmbedding {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private CpuEmbedding() {}

    static void forward(Tensor out, Tensor tokens, Tensor table) {
        int d = (int) table.dim(1), count = n(tokens);
        Shapes.requireSize("embeddingForward", "out", out, (long) count * d);
        checkTokens("embeddingForward", tokens, (int) table.dim(0));
        int[] tok = i(tokens);
        float[] src = f(table), dst = f(out);
        int ok = off(tokens), ot = off(table), oo = off(out);
        Parallel.forRange(count, Math.max(1, GRAIN / Math.max(1, d)), (from, to) -> {
            for (int t = from; t < to; t++) System.arraycopy(src, ot + tok[ok + t] * d, dst, oo + t * d, d);
        });
    }

    static void backward(Tensor dTable, Tensor tokens, Tensor dOut) {
        int d = (int) dTable.dim(1), count = n(tokens);
        Shapes.requireSize("embeddingBackward", "dOut", dOut, (long) count * d);
        checkTokens("embeddingBackward", tokens, (int) dTable.dim(0));
        int[] tok = i(tokens);
        float[] g = f(dTable), go = f(dOut);
        int ok = off(tokens), og = off(dTable), oo = off(dOut);
        int bands = Math.ceilDiv(d, S.length());
        int grain = Math.max(1, GRAIN / Math.max(1, count * S.length()));
        Parallel.forRange(bands, grain, (b0, b1) -> {
            int c0 = b0 * S.length(), c1 = Math.min(d, b1 * S.length());
            int full = c0 + S.loopBound(c1 - c0);
            VectorMask<Float> tail = S.indexInRange(full, c1);
            for (int t = 0; t < count; t++) {
                int row = og + tok[ok + t] * d, src = oo + t * d;
                for (int j = c0; j < full; j += S.length()) {
                    FloatVector.fromArray(S, g, row + j).add(FloatVector.fromArray(S, go, src + j)).intoArray(g, row + j);
                }
                if (full < c1) {
                    FloatVector.fromArray(S, g, row + full, tail).add(FloatVector.fromArray(S, go, src + full, tail))
                            .intoArray(g, row + full, tail);
                }
            }
        });
    }

    /** Checks every id before any row moves, so a bad batch leaves the outputs untouched. */
    private static void checkTokens(String op, Tensor tokens, int vocab) {
        int[] tok = i(tokens);
        for (int t = 0, o = off(tokens); t < n(tokens); t++) {
            int id = tok[o + t];
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException(op + ": token " + id + " at position " + t + " is outside the vocabulary of "
                        + vocab + "; the tokenizer and the model's vocabSize disagree");
            }
        }
    }
}
