package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.CpuElementwise.GRAIN;
import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.n;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * One fused AdamW step (PyTorch semantics, see {@code Backend.adamw}) for the CPU backend. The
 * per-call scalars, bias corrections included, are computed once in double; the per-element work
 * is float, reading and writing param, m and v once each.
 */
final class CpuAdamW {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private CpuAdamW() {}

    /** The per-call constants of one step, rounded to float once. */
    private record Step(float gradScale, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
                        float decay, float stepSize, float invSqrtBc2, float eps) {}

    static void step(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2,
                     float eps, float weightDecay, int step, float gradScale) {
        if (step < 1) throw new IllegalArgumentException("adamw: step counts from 1, got " + step);
        Shapes.requireSameSize("adamw", param, grad, m, v);
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        // param·(1 − lr·wd) − lr·(m/bc1) / (sqrt(v/bc2) + eps), with lr/bc1 and 1/sqrt(bc2) folded into constants.
        Step k = new Step(gradScale, beta1, (float) (1.0 - beta1), beta2, (float) (1.0 - beta2),
                (float) (1 - (double) lr * weightDecay), (float) (lr / bc1), (float) (1 / Math.sqrt(bc2)), eps);
        float[] p = f(param), g = f(grad), ms = f(m), vs = f(v);
        int op = off(param), og = off(grad), om = off(m), ov = off(v);
        Parallel.forRange(n(param), GRAIN, (from, to) -> {
            int j = from;
            for (int end = from + S.loopBound(to - from); j < end; j += S.length()) {
                FloatVector gj = FloatVector.fromArray(S, g, og + j).mul(k.gradScale());
                FloatVector mj = firstMoment(FloatVector.fromArray(S, ms, om + j), gj, k);
                FloatVector vj = secondMoment(FloatVector.fromArray(S, vs, ov + j), gj, k);
                mj.intoArray(ms, om + j);
                vj.intoArray(vs, ov + j);
                update(FloatVector.fromArray(S, p, op + j), mj, vj, k).intoArray(p, op + j);
            }
            if (j < to) {
                VectorMask<Float> mask = S.indexInRange(j, to);
                FloatVector gj = FloatVector.fromArray(S, g, og + j, mask).mul(k.gradScale());
                FloatVector mj = firstMoment(FloatVector.fromArray(S, ms, om + j, mask), gj, k);
                FloatVector vj = secondMoment(FloatVector.fromArray(S, vs, ov + j, mask), gj, k);
                mj.intoArray(ms, om + j, mask);
                vj.intoArray(vs, ov + j, mask);
                update(FloatVector.fromArray(S, p, op + j, mask), mj, vj, k).intoArray(p, op + j, mask);
            }
        });
    }

    /** β1·m + (1−β1)·g. */
    private static FloatVector firstMoment(FloatVector m, FloatVector g, Step k) {
        return m.mul(k.beta1()).add(g.mul(k.oneMinusBeta1()));
    }

    /** β2·v + (1−β2)·g². */
    private static FloatVector secondMoment(FloatVector v, FloatVector g, Step k) {
        return v.mul(k.beta2()).add(g.mul(g).mul(k.oneMinusBeta2()));
    }

    /** p·(1 − lr·wd) − (lr/bc1)·m / (sqrt(v)/sqrt(bc2) + eps). */
    private static FloatVector update(FloatVector p, FloatVector m, FloatVector v, Step k) {
        FloatVector denom = v.sqrt().mul(k.invSqrtBc2()).add(k.eps());
        return p.mul(k.decay()).sub(m.mul(k.stepSize()).div(denom));
    }
}
