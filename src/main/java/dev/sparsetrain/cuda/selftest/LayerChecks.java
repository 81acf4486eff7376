package dev.sparsetrain.cuda.selftest;

import static dev.sparsetrain.cuda.selftest.OpCheck.shape;
import static dev.sparsetrain.cuda.selftest.OpSuite.TOLERANCE;

import java.util.List;
import java.util.function.Consumer;

/**
 * The model's layer ops, forward and backward: embedding (repeated tokens, so the backward's
 * accumulation collides), RMSNorm, RoPE, attention (GQA and MHA, sequence lengths that fit no tile)
 * and the two FFN activations. Backward ops that "add" start from random gradients, never zeros.
 */
final class LayerChecks {
    /**
     * The tensor-core attention forward against a reference given the same q, k, v rounded to bf16
     * (as MatmulChecks does for bf16 GEMMs), so what is left is the kernel's own rounding: lse, which
     * depends on Q·Kᵀ alone, agrees to ~1e-6; out also carries P rounded to bf16 before P·V (as in
     * FlashAttention), about 2^-9 relative per probability, which the 1%-of-max floor of
     * {@link Comparison} turns into ~0.04-0.08 on the elements nearest zero (host simulation of the
     * kernel). A fragment-layout or masking error is off by order one in both.
     */
    private static final double TC_OUT_TOLERANCE = 0.15, TC_LSE_TOLERANCE = 1e-3;
    /**
     * The tensor-core attention backward (dq, dk, dv) against a reference given the same bf16-rounded
     * q, k, v and dOut (the kernel rounds dOut to bf16 as it stages it). What is left is P and dS rounded
     * to bf16 before their products, as in FlashAttention-2: about 2e-3 of the largest element, which
     * the 1%-of-max floor turns into up to ~0.17 on the elements nearest zero (host simulation of the
     * kernel, seqLen 1-200, head dims 64 and 128). A fragment-layout or masking error is off by 30 or more.
     */
    private static final double TC_BACKWARD_TOLERANCE = 0.3;

    private LayerChecks() {}

    static List<OpCheck.Named> all() {
        return List.of(
                new OpCheck.Named("embedding", LayerChecks::embedding),
                new OpCheck.Named("rmsNorm", LayerChecks::rmsNorm),
                new OpCheck.Named("rope", LayerChecks::rope),
                new OpCheck.Named("attention GQA", (t, out) -> attention(t, out, 2, 70, 4, 2, 32)),
                new OpCheck.Named("attention MHA", (t, out) -> attention(t, out, 1, 33, 2, 2, 64)),
                // Head dims of the tensor-core kernels, GQA 8/2, a length that fits no 64-query tile.
                new OpCheck.Named("attention GQA hd64", (t, out) -> attention(t, out, 2, 200, 8, 2, 64)),
                new OpCheck.Named("attention GQA hd128", (t, out) -> attention(t, out, 2, 200, 8, 2, 128)),
                new OpCheck.Named("relu2", LayerChecks::relu2),
                new OpCheck.Named("swiglu", LayerChecks::swiglu));
    }

    private static void embedding(Twins t, Consumer<CheckRow> out) {
        int vocab = 97, d = 64, tokens = 200;
        String shape = "V=" + vocab + " d=" + d + " T=" + tokens;
        var ids = t.tokens(vocab, tokens);
        var table = t.gaussian(vocab, d);
        var x = t.poisoned(tokens, d);
        t.run((b, s) -> b.embeddingForward(s.of(x), s.of(ids), s.of(table)));
        out.accept(t.compare("embeddingForward", shape, x, TOLERANCE));
        var dTable = t.gaussian(vocab, d);
        var dOut = t.gaussian(tokens, d);
        t.run((b, s) -> b.embeddingBackward(s.of(dTable), s.of(ids), s.of(dOut)));
        out.accept(t.compare("embeddingBackward", shape, dTable, TOLERANCE));
    }

    private static void rmsNorm(Twins t, Consumer<CheckRow> out) {
        int rows = 96, d = 200;
        float eps = 1e-5f;
        String shape = shape(rows, d);
        var x = t.gaussian(rows, d);
        var weight = t.uniform(0.5, 1.5, d);
        var y = t.poisoned(rows, d);
        var rstd = t.poisoned(rows);
        t.run((b, s) -> b.rmsNormForward(s.of(y), s.of(rstd), s.of(x), s.of(weight), eps));
        out.accept(t.compare("rmsNormForward out", shape, y, TOLERANCE));
        out.accept(t.compare("rmsNormForward rstd", shape, rstd, TOLERANCE));
        t.mirror(rstd);
        var dx = t.gaussian(rows, d);
        var dWeight = t.gaussian(d);
        var dOut = t.gaussian(rows, d);
        t.run((b, s) -> b.rmsNormBackward(s.of(dx), s.of(dWeight), s.of(dOut), s.of(x), s.of(weight), s.of(rstd)));
        out.accept(t.compare("rmsNormBackward dx", shape, dx, TOLERANCE));
        out.accept(t.compare("rmsNormBackward dWeight", shape, dWeight, TOLERANCE));
    }

    private static void rope(Twins t, Consumer<CheckRow> out) {
        int batch = 2, seqLen = 48, heads = 6, headDim = 32;
        float theta = 10000f;
        String shape = "B=" + batch + " S=" + seqLen + " H=" + heads + " hd=" + headDim;
        var x = t.gaussian((long) batch * seqLen, (long) heads * headDim);
        t.run((b, s) -> b.ropeForward(s.of(x), seqLen, heads, headDim, theta));
        out.accept(t.compare("ropeForward", shape, x, TOLERANCE));
        var dx = t.gaussian((long) batch * seqLen, (long) heads * headDim);
        t.run((b, s) -> b.ropeBackward(s.of(dx), seqLen, heads, headDim, theta));
        out.accept(t.compare("ropeBackward", shape, dx, TOLERANCE));
    }

    private static void attention(Twins t, Consumer<CheckRow> out,
                                  int batch, int seqLen, int heads, int kvHeads, int headDim) {
        long rows = (long) batch * seqLen, qWidth = (long) heads * headDim, kvWidth = (long) kvHeads * headDim;
        String shape = "B=" + batch + " S=" + seqLen + " H=" + heads + " KV=" + kvHeads + " hd=" + headDim;
        var q = t.gaussian(rows, qWidth);
        var k = t.gaussian(rows, kvWidth);
        var v = t.gaussian(rows, kvWidth);
        var o = t.poisoned(rows, qWidth);
        var lse = t.poisoned(batch, heads, seqLen);
        boolean tc = t.candidateAttentionOnTensorCores(headDim);
        if (tc) {
            t.roundReferenceToBf16(q);
            t.roundReferenceToBf16(k);
            t.roundReferenceToBf16(v);
        }
        t.run((b, s) -> b.attentionForward(s.of(o), s.of(lse), s.of(q), s.of(k), s.of(v), batch, seqLen, heads, kvHeads, headDim));
        String forward = tc ? "attentionForward tc" : "attentionForward";
        out.accept(t.compare(forward + " out", shape, o, tc ? TC_OUT_TOLERANCE : TOLERANCE));
        out.accept(t.compare(forward + " lse", shape, lse, tc ? TC_LSE_TOLERANCE : TOLERANCE));
        // The backward reads the forward's out and lse: give both sides the reference's, so only the backward is judged;
        // on the tc path also the reference's bf16-rounded q, k, v (and below dOut), which both backwards then read.
        t.mirror(o);
        t.mirror(lse);
        if (tc) {
            t.mirror(q);
            t.mirror(k);
            t.mirror(v);
        }
        var dOut = t.gaussian(rows, qWidth);
        if (tc) {
            t.roundReferenceToBf16(dOut);
            t.mirror(dOut);
        }
        var dq = t.poisoned(rows, qWidth);
        var dk = t.poisoned(rows, kvWidth);
        var dv = t.poisoned(rows, kvWidth);
        t.run((b, s) -> b.attentionBackward(s.of(dq), s.of(dk), s.of(dv), s.of(dOut), s.of(q), s.of(k), s.of(v), s.of(o), s.of(lse),
                batch, seqLen, heads, kvHeads, headDim));
        String backward = tc ? "attentionBackward tc" : "attentionBackward";
        double backwardTolerance = tc ? TC_BACKWARD_TOLERANCE : TOLERANCE;
        out.accept(t.compare(backward + " dq", shape, dq, backwardTolerance));
        out.accept(t.compare(backward + " dk", shape, dk, backwardTolerance));
        out.accept(t.compare(backward + " dv", shape, dv, backwardTolerance));
    }

    private static void relu2(Twins t, Consumer<CheckRow> out) {
        int rows = 150, width = 260;
        String shape = shape(rows, width);
        var z = t.gaussian(rows, width);
        var a = t.poisoned(rows, width);
        t.run((b, s) -> b.relu2Forward(s.of(a), s.of(z)));
        out.accept(t.compare("relu2Forward", shape, a, TOLERANCE));
        var da = t.gaussian(rows, width);
        var dz = t.poisoned(rows, width);
        t.run((b, s) -> b.relu2Backward(s.of(dz), s.of(da), s.of(z)));
        out.accept(t.compare("relu2Backward", shape, dz, TOLERANCE));
    }

    private static void swiglu(Twins t, Consumer<CheckRow> out) {
        int rows = 150, width = 260;
        String shape = shape(rows, width);
        var gate = t.gaussian(rows, width);
        var up = t.gaussian(rows, width);
        var h = t.poisoned(rows, width);
        t.run((b, s) -> b.swigluForward(s.of(h), s.of(gate), s.of(up)));
        out.accept(t.compare("swigluForward", shape, h, TOLERANCE));
        var dh = t.gaussian(rows, width);
        var dGate = t.poisoned(rows, width);
        var dUp = t.poisoned(rows, width);
        t.run((b, s) -> b.swigluBackward(s.of(dGate), s.of(dUp), s.of(dh), s.of(gate), s.of(up)));
        out.accept(t.compare("swigluBackward dGate", shape, dGate, TOLERANCE));
        out.accept(t.compare("swigluBackward dUp", shape, dUp, TOLERANCE));
    }
}
