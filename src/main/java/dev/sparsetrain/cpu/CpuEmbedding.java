package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.CpuElementwise.GRAIN;
import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.i;
import static dev.sparsetrain.cpu.HeapStorage.n;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Token embedding lookup and its gradient for the CPU backend.
 *
 * <p>The backward scatters rows into the table, and repeated tokens hit the same row, so it first
 * buckets the token positions by id (a counting sort) and then runs in parallel over table rows:
 * each row has one owner, so there are no races and no per-thread copies of the table, each row
 * is read and written once, and each row adds its tokens in position order, exactly as the
 * reference does. (Splitting the d columns among threads instead measured 2-4x slower: every
 * thread then walks every token, and band edges share cache lines.)
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
        int d = (int) dTable.dim(1), vocab = (int) dTable.dim(0), count = n(tokens);
        Shapes.requireSize("embeddingBackward", "dOut", dOut, (long) count * d);
        checkTokens("embeddingBackward", tokens, vocab);
        int[] tok = i(tokens);
        float[] g = f(dTable), go = f(dOut);
        int ok = off(tokens), og = off(dTable), oo = off(dOut);
        // Counting sort of the positions by token id: bucket v is order[first[v] .. first[v + 1]),
        // positions ascending, so each row sums its tokens in the reference's order.
        int[] first = new int[vocab + 1], order = new int[count];
        for (int t = 0; t < count; t++) first[tok[ok + t] + 1]++;
        for (int v = 0; v < vocab; v++) first[v + 1] += first[v];
        int[] next = Arrays.copyOf(first, vocab);
        for (int t = 0; t < count; t++) order[next[tok[ok + t]]++] = t;
        int full = S.loopBound(d);
        VectorMask<Float> tail = S.indexInRange(full, d);
        // Rows per chunk so that a chunk adds about GRAIN elements when tokens spread evenly.
        int grain = Math.clamp((long) vocab * GRAIN / Math.max(1L, (long) count * d), 1, Math.max(1, vocab));
        Parallel.forRange(vocab, grain, (v0, v1) -> {
            for (int v = v0; v < v1; v++) {
                int row = og + v * d;
                for (int k = first[v]; k < first[v + 1]; k++) {
                    int src = oo + order[k] * d;
                    for (int j = 0; j < full; j += S.length()) {
                        FloatVector.fromArray(S, g, row + j).add(FloatVector.fromArray(S, go, src + j)).intoArray(g, row + j);
                    }
                    if (full < d) {
                        FloatVector.fromArray(S, g, row + full, tail).add(FloatVector.fromArray(S, go, src + full, tail))
                                .intoArray(g, row + full, tail);
                    }
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
