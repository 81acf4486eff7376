package dev.sparsetrain.model;

import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;

/**
 * The attention sub-block of every layer, for the whole model: Q = X·Wqᵀ, K = X·Wkᵀ, V = X·Wvᵀ,
 * RoPE on Q and K, causal grouped-query attention, Y = O·Woᵀ.
 *
 * <p>Per layer it keeps the rotated Q and K, V, the attention output O and its log-sum-exp, which
 * is all the attention backward needs (it recomputes the probabilities from lse).
 */
public final class AttentionBlock {
    private final Backend b;
    private final int d, kvDim, heads, kvHeads, headDim;
    private final float ropeTheta;
    private final Tensor[] wq, wk, wv, wo, dWq, dWk, dWv, dWo;
    private final Tensor[] q, k, v, o, lse;
    private final Tensor dO, dq, dk, dv;

    public AttentionBlock(BlockResources r) {
        ModelConfig c = r.config();
        this.b = r.backend();
        this.d = c.dim();
        this.kvDim = c.kvDim();
        this.heads = c.heads();
        this.kvHeads = c.kvHeads();
        this.headDim = c.headDim();
        this.ropeTheta = c.ropeTheta();
        int layers = c.layers(), cap = r.tokenCapacity();
        wq = new Tensor[layers];
        wk = new Tensor[layers];
        wv = new Tensor[layers];
        wo = new Tensor[layers];
        dWq = new Tensor[layers];
        dWk = new Tensor[layers];
        dWv = new Tensor[layers];
        dWo = new Tensor[layers];
        q = new Tensor[layers];
        k = new Tensor[layers];
        v = new Tensor[layers];
        o = new Tensor[layers];
        lse = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            wq[l] = r.param(ParameterLayout.layerName(l, "wq"));
            wk[l] = r.param(ParameterLayout.layerName(l, "wk"));
            wv[l] = r.param(ParameterLayout.layerName(l, "wv"));
            wo[l] = r.param(ParameterLayout.layerName(l, "wo"));
            dWq[l] = r.grad(ParameterLayout.layerName(l, "wq"));
            dWk[l] = r.grad(ParameterLayout.layerName(l, "wk"));
            dWv[l] = r.grad(ParameterLayout.layerName(l, "wv"));
            dWo[l] = r.grad(ParameterLayout.layerName(l, "wo"));
            q[l] = r.alloc().f32(cap, d);
            k[l] = r.alloc().f32(cap, kvDim);
            v[l] = r.alloc().f32(cap, kvDim);
            o[l] = r.alloc().f32(cap, d);
            // lse is [batch, heads, seqLen] = heads values per token row, viewed per step's shape.
            lse[l] = r.alloc().f32((long) cap * heads);
        }
        dO = r.alloc().f32(cap, d);
        dq = r.alloc().f32(cap, d);
        dk = r.alloc().f32(cap, kvDim);
        dv = r.alloc().f32(cap, kvDim);
    }

    /**
     * out = Attention_layer(x) over {@code batch} rows of {@code seqLen} tokens (x and out [batch·seqLen, d]),
     * overwriting out. RoPE positions restart at 0 in each row.
     */
    public void forward(int layer, Tensor out, Tensor x, int batch, int seqLen) {
        int rows = batch * seqLen;
        Tensor ql = q[layer].rows(0, rows), kl = k[layer].rows(0, rows), vl = v[layer].rows(0, rows), ol = o[layer].rows(0, rows);
        Linear.forward(b, ql, x, wq[layer], rows, d, d);
        Linear.forward(b, kl, x, wk[layer], rows, kvDim, d);
        Linear.forward(b, vl, x, wv[layer], rows, kvDim, d);
        b.ropeForward(ql, seqLen, heads, headDim, ropeTheta);
        b.ropeForward(kl, seqLen, kvHeads, headDim, ropeTheta);
        b.attentionForward(ol, lseView(layer, batch, seqLen), ql, kl, vl, batch, seqLen, heads, kvHeads, headDim);
        Linear.forward(b, out, ol, wo[layer], rows, d, d);
    }

    /**
     * Overwrites dx with ∂L/∂x and ADDS the layer's weight gradients, given dOut = ∂L/∂out; x, batch and
     * seqLen must be those of this layer's latest {@link #forward}.
     */
    public void backward(int layer, Tensor dx, Tensor dOut, Tensor x, int batch, int seqLen) {
        int rows = batch * seqLen;
        Tensor ql = q[layer].rows(0, rows), kl = k[layer].rows(0, rows), vl = v[layer].rows(0, rows), ol = o[layer].rows(0, rows);
        Tensor dOl = dO.rows(0, rows), dql = dq.rows(0, rows), dkl = dk.rows(0, rows), dvl = dv.rows(0, rows);
        Linear.accumulateWeightGrad(b, dWo[layer], dOut, ol, rows, d, d);
        Linear.backwardInput(b, dOl, dOut, wo[layer], rows, d, d, false);
        b.attentionBackward(dql, dkl, dvl, dOl, ql, kl, vl, ol, lseView(layer, batch, seqLen),
                batch, seqLen, heads, kvHeads, headDim);
        // The saved q, k are post-RoPE, so their gradients are post-RoPE too: rotate back to the projections.
        b.ropeBackward(dql, seqLen, heads, headDim, ropeTheta);
        b.ropeBackward(dkl, seqLen, kvHeads, headDim, ropeTheta);
        Linear.accumulateWeightGrad(b, dWq[layer], dql, x, rows, d, d);
        Linear.accumulateWeightGrad(b, dWk[layer], dkl, x, rows, kvDim, d);
        Linear.accumulateWeightGrad(b, dWv[layer], dvl, x, rows, kvDim, d);
        Linear.backwardInput(b, dx, dql, wq[layer], rows, d, d, false);
        Linear.backwardInput(b, dx, dkl, wk[layer], rows, kvDim, d, true);
        Linear.backwardInput(b, dx, dvl, wv[layer], rows, kvDim, d, true);
    }

    private Tensor lseView(int layer, int batch, int seqLen) {
        return lse[layer].view(0, batch, heads, seqLen);
    }
}
