package dev.sparsetrain.model;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;

/**
 * The three GEMMs of a bias-free linear layer Y = X·Wᵀ with W stored [out, in], spelled once so the
 * blocks read as maths rather than as matmul flags.
 */
final class Linear {
    private Linear() {}

    /** y[rows,out] = x[rows,in]·wᵀ. */
    static void forward(Backend b, Tensor y, Tensor x, Tensor w, int rows, int out, int in) {
        b.matmul(y, x, false, w, true, rows, out, in, 1f, 0f);
    }

    /** dx[rows,in] = dy[rows,out]·w, overwriting dx ({@code accumulate} false) or adding to it. */
    static void backwardInput(Backend b, Tensor dx, Tensor dy, Tensor w, int rows, int out, int in, boolean accumulate) {
        b.matmul(dx, dy, false, w, false, rows, in, out, 1f, accumulate ? 1f : 0f);
    }

    /** dw[out,in] += dyᵀ·x over the rows. */
    static void accumulateWeightGrad(Backend b, Tensor dw, Tensor dy, Tensor x, int rows, int out, int in) {
        b.matmul(dw, dy, true, x, false, out, in, rows, 1f, 1f);
    }
}
