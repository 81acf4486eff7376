package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Tensor;

/**
 * Fast causal GQA attention for the CPU backend, with the semantics of
 * {@link dev.sparsetrain.tensor.Backend#attentionForward} and
 * {@link dev.sparsetrain.tensor.Backend#attentionBackward}: multi-threaded, Vector API, tiled so
 * that memory stays a few tiles per thread however long the sequence. Checks the shapes, then
 * hands over to {@link AttentionForward} and {@link AttentionBackward}.
 */
final class CpuAttention {

    private CpuAttention() {}

    static void forward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                        int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        var shape = new AttentionShape(batch, seqLen, nHeads, nKvHeads, headDim);
        shape.requireQueryShaped(q, "q");
        shape.requireKvShaped(k, "k");
        shape.requireKvShaped(v, "v");
        shape.requireQueryShaped(out, "out");
        shape.requireRowShaped(lse, "lse");
        AttentionForward.run(out, lse, q, k, v, shape);
    }

    static void backward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v,
                         Tensor out, Tensor lse, int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        var shape = new AttentionShape(batch, seqLen, nHeads, nKvHeads, headDim);
        shape.requireQueryShaped(q, "q");
        shape.requireKvShaped(k, "k");
        shape.requireKvShaped(v, "v");
        shape.requireQueryShaped(out, "out");
        shape.requireRowShaped(lse, "lse");
        shape.requireQueryShaped(dOut, "dOut");
        shape.requireQueryShaped(dq, "dq");
        shape.requireKvShaped(dk, "dk");
        shape.requireKvShaped(dv, "dv");
        AttentionBackward.run(dq, dk, dv, dOut, q, k, v, out, lse, shape);
    }
}
