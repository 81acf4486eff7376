package dev.sparsetrain.model;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;

/**
 * Non-gated squared-ReLU FFN (SPEC.md §1): Z = X·W1ᵀ, A = relu(Z)², Y = A·W2ᵀ with W1 [F,d], W2 [d,F].
 *
 * <p>Per layer it keeps only Z [T,F]; the backward recomputes A from Z (one cheap elementwise pass)
 * rather than storing a second [T,F] tensor per layer.
 */
public final class Relu2Ffn implements FeedForward {
    private final Backend b;
    private final int d, f;
    private final Tensor[] w1, w2, dW1, dW2;
    private final Tensor[] z;
    private final Tensor scratchA, scratchB;

    public Relu2Ffn(BlockResources r) {
        this.b = r.backend();
        this.d = r.config().dim();
        this.f = r.config().ffnHidden();
        int layers = r.config().layers(), cap = r.tokenCapacity();
        w1 = new Tensor[layers];
        w2 = new Tensor[layers];
        dW1 = new Tensor[layers];
        dW2 = new Tensor[layers];
        z = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            w1[l] = r.param(ParameterLayout.layerName(l, "w1"));
            w2[l] = r.param(ParameterLayout.layerName(l, "w2"));
            dW1[l] = r.grad(ParameterLayout.layerName(l, "w1"));
            dW2[l] = r.grad(ParameterLayout.layerName(l, "w2"));
            z[l] = r.alloc().f32(cap, f);
        }
        scratchA = r.alloc().f32(cap, f);
        scratchB = r.alloc().f32(cap, f);
    }

    @Override
    public void forward(int layer, Tensor out, Tensor x) {
        int rows = (int) x.dim(0);
        Tensor zl = z[layer].rows(0, rows), a = scratchA.rows(0, rows);
        Linear.forward(b, zl, x, w1[layer], rows, f, d);
        b.relu2Forward(a, zl);
        Linear.forward(b, out, a, w2[layer], rows, d, f);
    }

    @Override
    public void backward(int layer, Tensor dx, Tensor dOut, Tensor x) {
        int rows = (int) x.dim(0);
        Tensor zl = z[layer].rows(0, rows), a = scratchA.rows(0, rows), dA = scratchB.rows(0, rows);
        b.relu2Forward(a, zl);
        Linear.accumulateWeightGrad(b, dW2[layer], dOut, a, rows, d, f);
        Linear.backwardInput(b, dA, dOut, w2[layer], rows, d, f, false);
        Tensor dZ = a; // A is no longer needed once dW2 is accumulated, so its buffer takes dZ
        b.relu2Backward(dZ, dA, zl);
        Linear.accumulateWeightGrad(b, dW1[layer], dZ, x, rows, f, d);
        Linear.backwardInput(b, dx, dZ, w1[layer], rows, f, d, false);
    }
}
