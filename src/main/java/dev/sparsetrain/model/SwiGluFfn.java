package dev.sparsetrain.model;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;

/**
 * Gated SiLU FFN, the dense baseline: G = X·Wgᵀ, U = X·Wuᵀ, H = silu(G) ⊙ U, Y = H·W2ᵀ with
 * Wg, Wu [F,d] and W2 [d,F].
 *
 * <p>Per layer it keeps G and U [T,F]; the backward recomputes H from them.
 */
public final class SwiGluFfn implements FeedForward {
    private final Backend b;
    private final int d, f;
    private final Tensor[] wGate, wUp, w2, dWGate, dWUp, dW2;
    private final Tensor[] gate, up;
    private final Tensor scratchH, scratchDh, scratchDUp;

    public SwiGluFfn(BlockResources r) {
        this.b = r.backend();
        this.d = r.config().dim();
        this.f = r.config().ffnHidden();
        int layers = r.config().layers(), cap = r.tokenCapacity();
        wGate = new Tensor[layers];
        wUp = new Tensor[layers];
        w2 = new Tensor[layers];
        dWGate = new Tensor[layers];
        dWUp = new Tensor[layers];
        dW2 = new Tensor[layers];
        gate = new Tensor[layers];
        up = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            wGate[l] = r.param(ParameterLayout.layerName(l, "w_gate"));
            wUp[l] = r.param(ParameterLayout.layerName(l, "w_up"));
            w2[l] = r.param(ParameterLayout.layerName(l, "w2"));
            dWGate[l] = r.grad(ParameterLayout.layerName(l, "w_gate"));
            dWUp[l] = r.grad(ParameterLayout.layerName(l, "w_up"));
            dW2[l] = r.grad(ParameterLayout.layerName(l, "w2"));
            gate[l] = r.alloc().f32(cap, f);
            up[l] = r.alloc().f32(cap, f);
        }
        scratchH = r.alloc().f32(cap, f);
        scratchDh = r.alloc().f32(cap, f);
        scratchDUp = r.alloc().f32(cap, f);
    }

    @Override
    public void forward(int layer, Tensor out, Tensor x) {
        int rows = (int) x.dim(0);
        Tensor g = gate[layer].rows(0, rows), u = up[layer].rows(0, rows), h = scratchH.rows(0, rows);
        Linear.forward(b, g, x, wGate[layer], rows, f, d);
        Linear.forward(b, u, x, wUp[layer], rows, f, d);
        b.swigluForward(h, g, u);
        Linear.forward(b, out, h, w2[layer], rows, d, f);
    }

    @Override
    public void backward(int layer, Tensor dx, Tensor dOut, Tensor x) {
        int rows = (int) x.dim(0);
        Tensor g = gate[layer].rows(0, rows), u = up[layer].rows(0, rows);
        Tensor h = scratchH.rows(0, rows), dh = scratchDh.rows(0, rows), dUp = scratchDUp.rows(0, rows);
        b.swigluForward(h, g, u);
        Linear.accumulateWeightGrad(b, dW2[layer], dOut, h, rows, d, f);
        Linear.backwardInput(b, dh, dOut, w2[layer], rows, d, f, false);
        Tensor dGate = h; // H is no longer needed once dW2 is accumulated, so its buffer takes dGate
        b.swigluBackward(dGate, dUp, dh, g, u);
        Linear.accumulateWeightGrad(b, dWGate[layer], dGate, x, rows, f, d);
        Linear.accumulateWeightGrad(b, dWUp[layer], dUp, x, rows, f, d);
        Linear.backwardInput(b, dx, dGate, wGate[layer], rows, f, d, false);
        Linear.backwardInput(b, dx, dUp, wUp[layer], rows, f, d, true);
    }
}
