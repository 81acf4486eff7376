package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.CpuElementwise.GRAIN;
import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * RMSNorm forward and backward for the CPU backend, parallel over token rows. Row sums run in
 * float lanes and finish in double; per-row scalars (rstd, the rstd³/d·dot coefficient) are
 * computed in double like the reference.
 *
 * <p>The weight gradient sums over all rows, so each row group accumulates into its own partial
 * row and the partials are added in group order afterwards: race-free, and the result does not
 * depend on the thread count.
 */
final class CpuRmsNorm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Upper bound on weight-gradient partial rows (and thus row groups) per call. */
    private static final int MAX_GROUPS = 64;

    private CpuRmsNorm() {}

    static void forward(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) {
        int d = Math.toIntExact(weight.numel()), rows = Shapes.rows("rmsNormForward", x, d);
        Shapes.requireSize("rmsNormForward", "out", out, x.numel());
        Shapes.requireSize("rmsNormForward", "rstd", rstd, rows);
        float[] o = f(out), r = f(rstd), xs = f(x), w = f(weight);
        int oo = off(out), or = off(rstd), ox = off(x), ow = off(weight);
        int full = S.loopBound(d);
        VectorMask<Float> tail = S.indexInRange(full, d);
        Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(1, d)), (from, to) -> {
            for (int t = from; t < to; t++) {
                int xr = ox + t * d, outRow = oo + t * d;
                FloatVector acc = FloatVector.zero(S);
                for (int j = 0; j < full; j += S.length()) {
                    FloatVector v = FloatVector.fromArray(S, xs, xr + j);
                    acc = v.fma(v, acc);
                }
                if (full < d) {
                    FloatVector v = FloatVector.fromArray(S, xs, xr + full, tail);
                    acc = v.fma(v, acc);
                }
                float rs = (float) (1.0 / Math.sqrt(VectorMath.sumInDouble(acc) / d + eps));
                r[or + t] = rs;
                for (int j = 0; j < full; j += S.length()) {
                    FloatVector.fromArray(S, xs, xr + j).mul(rs).mul(FloatVector.fromArray(S, w, ow + j)).intoArray(o, outRow + j);
                }
                if (full < d) {
                    FloatVector.fromArray(S, xs, xr + full, tail).mul(rs).mul(FloatVector.fromArray(S, w, ow + full, tail))
                            .intoArray(o, outRow + full, tail);
                }
            }
        });
    }

    /**
     * With y_j = x_j·rs·w_j and rs = (mean x² + eps)^(−1/2):
     * dx_i += rs·w_i·g_i − rs³/d · x_i · Σ_j g_j·w_j·x_j and dWeight_i += Σ_rows g_i·x_i·rs.
     */
    static void backward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) {
        int d = Math.toIntExact(weight.numel()), rows = Shapes.rows("rmsNormBackward", x, d);
        Shapes.requireSize("rmsNormBackward", "dx", dx, x.numel());
        Shapes.requireSize("rmsNormBackward", "dOut", dOut, x.numel());
        Shapes.requireSize("rmsNormBackward", "dWeight", dWeight, d);
        Shapes.requireSize("rmsNormBackward", "rstd", rstd, rows);
        float[] gx = f(dx), go = f(dOut), xs = f(x), w = f(weight), r = f(rstd);
        int odx = off(dx), odo = off(dOut), ox = off(x), ow = off(weight), or = off(rstd);
        int groups = Math.clamp(Math.ceilDiv((long) rows * d, GRAIN), 1, Math.min(MAX_GROUPS, Math.max(1, rows)));
        // A 64-byte gap between partial rows keeps two groups off one cache line (no false sharing).
        int stride = d + 16;
        float[] partial = new float[groups * stride];
        int full = S.loopBound(d);
        VectorMask<Float> tail = S.indexInRange(full, d);
        Parallel.forRange(groups, 1, (g0, g1) -> {
            for (int g = g0; g < g1; g++) {
                int pw = g * stride, first = (int) ((long) rows * g / groups), last = (int) ((long) rows * (g + 1) / groups);
                for (int t = first; t < last; t++) {
                    int xr = ox + t * d, gr = odo + t * d, dr = odx + t * d;
                    float rs = r[or + t];
                    FloatVector acc = FloatVector.zero(S);
                    for (int j = 0; j < full; j += S.length()) {
                        acc = FloatVector.fromArray(S, go, gr + j).mul(FloatVector.fromArray(S, w, ow + j))
                                .fma(FloatVector.fromArray(S, xs, xr + j), acc);
                    }
                    if (full < d) {
                        acc = FloatVector.fromArray(S, go, gr + full, tail).mul(FloatVector.fromArray(S, w, ow + full, tail))
                                .fma(FloatVector.fromArray(S, xs, xr + full, tail), acc);
                    }
                    double rsd = rs;
                    float coef = (float) (rsd * rsd * rsd / d * VectorMath.sumInDouble(acc));
                    for (int j = 0; j < full; j += S.length()) {
                        FloatVector gv = FloatVector.fromArray(S, go, gr + j), xv = FloatVector.fromArray(S, xs, xr + j);
                        FloatVector.fromArray(S, gx, dr + j).add(inputGrad(gv, xv, FloatVector.fromArray(S, w, ow + j), rs, coef))
                                .intoArray(gx, dr + j);
                        gv.mul(xv).mul(rs).add(FloatVector.fromArray(S, partial, pw + j)).intoArray(partial, pw + j);
                    }
                    if (full < d) {
                        FloatVector gv = FloatVector.fromArray(S, go, gr + full, tail), xv = FloatVector.fromArray(S, xs, xr + full, tail);
                        FloatVector.fromArray(S, gx, dr + full, tail).add(inputGrad(gv, xv, FloatVector.fromArray(S, w, ow + full, tail), rs, coef))
                                .intoArray(gx, dr + full, tail);
                        gv.mul(xv).mul(rs).add(FloatVector.fromArray(S, partial, pw + full, tail)).intoArray(partial, pw + full, tail);
                    }
                }
            }
        });
        addPartials(dWeight, partial, groups, stride, d);
    }

    /** rs·w·g − coef·x, the row's contribution to dx. */
    private static FloatVector inputGrad(FloatVector g, FloatVector x, FloatVector w, float rs, float coef) {
        return w.mul(g).mul(rs).sub(x.mul(coef));
    }

    /**
     * dWeight += Σ_groups partial[group], parallel over columns, adding groups in order. Scalar on
     * purpose: it touches groups·d elements, negligible next to the rows·d of the main pass.
     */
    private static void addPartials(Tensor dWeight, float[] partial, int groups, int stride, int d) {
        float[] gw = f(dWeight);
        int ow = off(dWeight);
        Parallel.forRange(d, Math.max(1, GRAIN / groups), (from, to) -> {
            for (int j = from; j < to; j++) {
                float s = 0;
                for (int g = 0; g < groups; g++) s += partial[g * stride + j];
                gw[ow + j] += s;
            }
        });
    }
}
