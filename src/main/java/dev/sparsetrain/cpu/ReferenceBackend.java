package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.i;
import static dev.sparsetrain.cpu.HeapStorage.n;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;

/**
 * The naive reference: every op of {@link dev.sparsetrain.tensor.Backend} as the plainest loops,
 * single-threaded, accumulating in double. It is the oracle every fast kernel (Vector API, CUDA)
 * is tested against, so clarity beats speed here: never optimise this class.
 */
public final class ReferenceBackend extends HeapBackend {
    private final ReferenceSparseKernels sparse = new ReferenceSparseKernels();

    @Override
    public String name() { return "reference"; }

    @Override
    public ReferenceSparseKernels sparse() { return sparse; }

    @Override
    public void scale(Tensor t, float s) {
        float[] x = f(t);
        for (int j = off(t), e = j + n(t); j < e; j++) x[j] *= s;
    }

    @Override
    public void add(Tensor out, Tensor a, Tensor b) {
        float[] o = f(out), x = f(a), y = f(b);
        for (int j = 0; j < n(out); j++) o[off(out) + j] = x[off(a) + j] + y[off(b) + j];
    }

    @Override
    public double sumSquares(Tensor t) {
        float[] x = f(t);
        double s = 0;
        for (int j = off(t), e = j + n(t); j < e; j++) s += (double) x[j] * x[j];
        return s;
    }

    @Override
    public void matmul(Tensor c, Tensor a, boolean transA, Tensor b, boolean transB,
                       int m, int n, int k, float alpha, float beta) {
        float[] C = f(c), A = f(a), B = f(b);
        int oc = off(c), oa = off(a), ob = off(b);
        for (int r = 0; r < m; r++) {
            for (int col = 0; col < n; col++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? A[oa + p * m + r] : A[oa + r * k + p];
                    float bv = transB ? B[ob + col * k + p] : B[ob + p * n + col];
                    s += (double) av * bv;
                }
                int ci = oc + r * n + col;
                C[ci] = (float) (alpha * s + (beta == 0 ? 0 : beta * (double) C[ci]));
            }
        }
    }

    @Override
    public void embeddingForward(Tensor out, Tensor tokens, Tensor table) {
        int d = (int) table.dim(1), vocab = (int) table.dim(0);
        int[] tok = i(tokens);
        for (int t = 0; t < n(tokens); t++) {
            int id = tok[off(tokens) + t];
            if (id < 0 || id >= vocab) throw new IllegalArgumentException("token " + id + " outside vocabulary of " + vocab);
            System.arraycopy(f(table), off(table) + id * d, f(out), off(out) + t * d, d);
        }
    }

    @Override
    public void embeddingBackward(Tensor dTable, Tensor tokens, Tensor dOut) {
        int d = (int) dTable.dim(1);
        int[] tok = i(tokens);
        float[] g = f(dTable), go = f(dOut);
        for (int t = 0; t < n(tokens); t++) {
            int id = tok[off(tokens) + t];
            for (int j = 0; j < d; j++) g[off(dTable) + id * d + j] += go[off(dOut) + t * d + j];
        }
    }

    @Override
    public void rmsNormForward(Tensor out, Tensor rstd, Tensor x, Tensor weight, float eps) {
        int d = (int) weight.numel(), rows = n(x) / d;
        float[] o = f(out), r = f(rstd), xs = f(x), w = f(weight);
        for (int t = 0; t < rows; t++) {
            double ss = 0;
            for (int j = 0; j < d; j++) { double v = xs[off(x) + t * d + j]; ss += v * v; }
            double rs = 1.0 / Math.sqrt(ss / d + eps);
            r[off(rstd) + t] = (float) rs;
            for (int j = 0; j < d; j++) o[off(out) + t * d + j] = (float) (xs[off(x) + t * d + j] * rs * w[off(weight) + j]);
        }
    }

    @Override
    public void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dOut, Tensor x, Tensor weight, Tensor rstd) {
        int d = (int) weight.numel(), rows = n(x) / d;
        float[] gx = f(dx), gw = f(dWeight), go = f(dOut), xs = f(x), w = f(weight), r = f(rstd);
        for (int t = 0; t < rows; t++) {
            double rs = r[off(rstd) + t];
            // y_j = x_j·rs·w_j with rs = (mean x² + eps)^(-1/2):
            // dx_i = rs·w_i·g_i − rs³/d · x_i · Σ_j g_j w_j x_j
            double dot = 0;
            for (int j = 0; j < d; j++) dot += (double) go[off(dOut) + t * d + j] * w[off(weight) + j] * xs[off(x) + t * d + j];
            for (int j = 0; j < d; j++) {
                double xi = xs[off(x) + t * d + j], gi = go[off(dOut) + t * d + j];
                gx[off(dx) + t * d + j] += (float) (rs * w[off(weight) + j] * gi - rs * rs * rs / d * xi * dot);
                gw[off(dWeight) + j] += (float) (gi * xi * rs);
            }
        }
    }

    @Override
    public void ropeForward(Tensor x, int seqLen, int nHeads, int headDim, float theta) { rotate(x, seqLen, nHeads, headDim, theta, 1); }

    @Override
    public void ropeBackward(Tensor dx, int seqLen, int nHeads, int headDim, float theta) { rotate(dx, seqLen, nHeads, headDim, theta, -1); }

    private static void rotate(Tensor x, int seqLen, int nHeads, int headDim, float theta, int sign) {
        float[] a = f(x);
        int width = nHeads * headDim, rows = n(x) / width, half = headDim / 2;
        for (int t = 0; t < rows; t++) {
            int pos = t % seqLen;
            for (int h = 0; h < nHeads; h++) {
                int base = off(x) + t * width + h * headDim;
                for (int j = 0; j < half; j++) {
                    double ang = pos * Math.pow(theta, -2.0 * j / headDim);
                    double c = Math.cos(ang), s = sign * Math.sin(ang);
                    double u = a[base + j], w = a[base + j + half];
                    a[base + j] = (float) (u * c - w * s);
                    a[base + j + half] = (float) (w * c + u * s);
                }
            }
        }
    }

    @Override
    public void attentionForward(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v,
                                 int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        float[] o = f(out), l = f(lse), qs = f(q), ks = f(k), vs = f(v);
        int qw = nHeads * headDim, kw = nKvHeads * headDim, group = nHeads / nKvHeads;
        double scale = 1.0 / Math.sqrt(headDim);
        double[] p = new double[seqLen];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < nHeads; h++) {
                int kh = h / group;
                for (int i = 0; i < seqLen; i++) {
                    int qi = off(q) + (b * seqLen + i) * qw + h * headDim;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        int kj = off(k) + (b * seqLen + j) * kw + kh * headDim;
                        double s = 0;
                        for (int e = 0; e < headDim; e++) s += (double) qs[qi + e] * ks[kj + e];
                        p[j] = s * scale;
                        max = Math.max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) { p[j] = Math.exp(p[j] - max); sum += p[j]; }
                    l[off(lse) + (b * nHeads + h) * seqLen + i] = (float) (max + Math.log(sum));
                    int oi = off(out) + (b * seqLen + i) * qw + h * headDim;
                    for (int e = 0; e < headDim; e++) {
                        double acc = 0;
                        for (int j = 0; j <= i; j++) acc += p[j] / sum * vs[off(v) + (b * seqLen + j) * kw + kh * headDim + e];
                        o[oi + e] = (float) acc;
                    }
                }
            }
        }
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dOut,
                                  Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                  int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        fill(dq, 0);
        fill(dk, 0);
        fill(dv, 0);
        float[] gq = f(dq), gk = f(dk), gv = f(dv), go = f(dOut), qs = f(q), ks = f(k), vs = f(v), os = f(out), l = f(lse);
        int qw = nHeads * headDim, kw = nKvHeads * headDim, group = nHeads / nKvHeads;
        double scale = 1.0 / Math.sqrt(headDim);
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < nHeads; h++) {
                int kh = h / group;
                for (int i = 0; i < seqLen; i++) {
                    int qi = off(q) + (b * seqLen + i) * qw + h * headDim;
                    int oi = (b * seqLen + i) * qw + h * headDim;
                    double li = l[off(lse) + (b * nHeads + h) * seqLen + i];
                    // D_i = Σ_e dO_ie · O_ie  (= Σ_j P_ij dP_ij)
                    double dsum = 0;
                    for (int e = 0; e < headDim; e++) dsum += (double) go[off(dOut) + oi + e] * os[off(out) + oi + e];
                    for (int j = 0; j <= i; j++) {
                        int kj = (b * seqLen + j) * kw + kh * headDim;
                        double s = 0;
                        for (int e = 0; e < headDim; e++) s += (double) qs[qi + e] * ks[off(k) + kj + e];
                        double pij = Math.exp(s * scale - li);
                        double dp = 0;
                        for (int e = 0; e < headDim; e++) dp += (double) go[off(dOut) + oi + e] * vs[off(v) + kj + e];
                        double ds = pij * (dp - dsum) * scale;
                        for (int e = 0; e < headDim; e++) {
                            gv[off(dv) + kj + e] += (float) (pij * go[off(dOut) + oi + e]);
                            gq[off(dq) + oi + e] += (float) (ds * ks[off(k) + kj + e]);
                            gk[off(dk) + kj + e] += (float) (ds * qs[qi + e]);
                        }
                    }
                }
            }
        }
    }

    @Override
    public void relu2Forward(Tensor a, Tensor z) {
        float[] as = f(a), zs = f(z);
        for (int j = 0; j < n(z); j++) { float r = Math.max(zs[off(z) + j], 0f); as[off(a) + j] = r * r; }
    }

    @Override
    public void relu2Backward(Tensor dz, Tensor da, Tensor z) {
        float[] g = f(dz), ga = f(da), zs = f(z);
        for (int j = 0; j < n(z); j++) g[off(dz) + j] = ga[off(da) + j] * 2f * Math.max(zs[off(z) + j], 0f);
    }

    @Override
    public void swigluForward(Tensor h, Tensor gate, Tensor up) {
        float[] hs = f(h), g = f(gate), u = f(up);
        for (int j = 0; j < n(h); j++) {
            double x = g[off(gate) + j];
            hs[off(h) + j] = (float) (x / (1 + Math.exp(-x)) * u[off(up) + j]);
        }
    }

    @Override
    public void swigluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up) {
        float[] gg = f(dGate), gu = f(dUp), gh = f(dh), g = f(gate), u = f(up);
        for (int j = 0; j < n(dh); j++) {
            double x = g[off(gate) + j], sig = 1 / (1 + Math.exp(-x)), d = gh[off(dh) + j];
            gu[off(dUp) + j] = (float) (d * x * sig);
            gg[off(dGate) + j] = (float) (d * u[off(up) + j] * sig * (1 + x * (1 - sig)));
        }
    }

    @Override
    public double crossEntropy(Tensor logits, Tensor targets, Tensor losses, float gradScale) {
        int vocab = (int) logits.dim(-1), rows = n(logits) / vocab;
        float[] z = f(logits), ls = f(losses);
        int[] tg = i(targets);
        double total = 0;
        for (int t = 0; t < rows; t++) {
            int base = off(logits) + t * vocab, target = tg[off(targets) + t];
            if (target < 0) {
                ls[off(losses) + t] = 0;
                for (int j = 0; j < vocab; j++) z[base + j] = 0;
                continue;
            }
            if (target >= vocab) throw new IllegalArgumentException("target " + target + " outside vocabulary of " + vocab);
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) max = Math.max(max, z[base + j]);
            double sum = 0;
            for (int j = 0; j < vocab; j++) sum += Math.exp(z[base + j] - max);
            double lse = max + Math.log(sum);
            double loss = lse - z[base + target];
            ls[off(losses) + t] = (float) loss;
            total += loss;
            for (int j = 0; j < vocab; j++) {
                double p = Math.exp(z[base + j] - lse);
                z[base + j] = (float) (gradScale * (p - (j == target ? 1 : 0)));
            }
        }
        return total;
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2,
                      float eps, float weightDecay, int step, float gradScale) {
        float[] p = f(param), g = f(grad), ms = f(m), vs = f(v);
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        for (int j = 0; j < n(param); j++) {
            double gj = (double) g[off(grad) + j] * gradScale;
            double mj = beta1 * (double) ms[off(m) + j] + (1 - beta1) * gj;
            double vj = beta2 * (double) vs[off(v) + j] + (1 - beta2) * gj * gj;
            ms[off(m) + j] = (float) mj;
            vs[off(v) + j] = (float) vj;
            double pj = p[off(param) + j] * (1 - (double) lr * weightDecay);
            p[off(param) + j] = (float) (pj - lr * (mj / bc1) / (Math.sqrt(vj / bc2) + eps));
        }
    }
}
