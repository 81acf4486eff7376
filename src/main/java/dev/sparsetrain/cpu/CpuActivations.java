package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.CpuElementwise.GRAIN;
import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.n;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The FFN activations of the CPU backend, squared ReLU and SwiGLU, forward and backward. Each
 * formula lives in one vector function used by both the unmasked body and the masked tail.
 * SwiGLU works in float with {@link VectorMath#exp} (a few ulps from {@code Math.exp}, JIT-independent).
 */
final class CpuActivations {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private CpuActivations() {}

    static void relu2Forward(Tensor a, Tensor z) {
        Shapes.requireSameSize("relu2Forward", a, z);
        float[] as = f(a), zs = f(z);
        int oa = off(a), oz = off(z);
        Parallel.forRange(n(z), GRAIN, (from, to) -> {
            int j = from;
            for (int end = from + S.loopBound(to - from); j < end; j += S.length()) {
                relu2(FloatVector.fromArray(S, zs, oz + j)).intoArray(as, oa + j);
            }
            if (j < to) {
                VectorMask<Float> m = S.indexInRange(j, to);
                relu2(FloatVector.fromArray(S, zs, oz + j, m)).intoArray(as, oa + j, m);
            }
        });
    }

    static void relu2Backward(Tensor dz, Tensor da, Tensor z) {
        Shapes.requireSameSize("relu2Backward", dz, da, z);
        float[] gz = f(dz), ga = f(da), zs = f(z);
        int odz = off(dz), oda = off(da), oz = off(z);
        Parallel.forRange(n(z), GRAIN, (from, to) -> {
            int j = from;
            for (int end = from + S.loopBound(to - from); j < end; j += S.length()) {
                relu2Grad(FloatVector.fromArray(S, ga, oda + j), FloatVector.fromArray(S, zs, oz + j)).intoArray(gz, odz + j);
            }
            if (j < to) {
                VectorMask<Float> m = S.indexInRange(j, to);
                relu2Grad(FloatVector.fromArray(S, ga, oda + j, m), FloatVector.fromArray(S, zs, oz + j, m)).intoArray(gz, odz + j, m);
            }
        });
    }

    static void swigluForward(Tensor h, Tensor gate, Tensor up) {
        Shapes.requireSameSize("swigluForward", h, gate, up);
        float[] hs = f(h), gs = f(gate), us = f(up);
        int oh = off(h), og = off(gate), ou = off(up);
        Parallel.forRange(n(h), GRAIN, (from, to) -> {
            // h first holds e^−gate, then silu(gate)·up.
            VectorMath.exp(gs, og + from, hs, oh + from, to - from, -1f, 0f);
            int j = from;
            for (int end = from + S.loopBound(to - from); j < end; j += S.length()) {
                swiglu(FloatVector.fromArray(S, gs, og + j), FloatVector.fromArray(S, us, ou + j), FloatVector.fromArray(S, hs, oh + j))
                        .intoArray(hs, oh + j);
            }
            if (j < to) {
                VectorMask<Float> m = S.indexInRange(j, to);
                swiglu(FloatVector.fromArray(S, gs, og + j, m), FloatVector.fromArray(S, us, ou + j, m), FloatVector.fromArray(S, hs, oh + j, m))
                        .intoArray(hs, oh + j, m);
            }
        });
    }

    static void swigluBackward(Tensor dGate, Tensor dUp, Tensor dh, Tensor gate, Tensor up) {
        Shapes.requireSameSize("swigluBackward", dh, dGate, dUp, gate, up);
        float[] gg = f(dGate), gu = f(dUp), gh = f(dh), gs = f(gate), us = f(up);
        int odg = off(dGate), odu = off(dUp), odh = off(dh), og = off(gate), ou = off(up);
        Parallel.forRange(n(dh), GRAIN, (from, to) -> {
            // dGate first holds e^−gate, then the gate gradient.
            VectorMath.exp(gs, og + from, gg, odg + from, to - from, -1f, 0f);
            int j = from;
            for (int end = from + S.loopBound(to - from); j < end; j += S.length()) {
                FloatVector x = FloatVector.fromArray(S, gs, og + j), d = FloatVector.fromArray(S, gh, odh + j);
                FloatVector sig = sigmoid(FloatVector.fromArray(S, gg, odg + j));
                upGrad(d, x, sig).intoArray(gu, odu + j);
                gateGrad(d, FloatVector.fromArray(S, us, ou + j), x, sig).intoArray(gg, odg + j);
            }
            if (j < to) {
                VectorMask<Float> m = S.indexInRange(j, to);
                FloatVector x = FloatVector.fromArray(S, gs, og + j, m), d = FloatVector.fromArray(S, gh, odh + j, m);
                FloatVector sig = sigmoid(FloatVector.fromArray(S, gg, odg + j, m));
                upGrad(d, x, sig).intoArray(gu, odu + j, m);
                gateGrad(d, FloatVector.fromArray(S, us, ou + j, m), x, sig).intoArray(gg, odg + j, m);
            }
        });
    }

    private static FloatVector relu2(FloatVector z) {
        FloatVector r = z.max(0f);
        return r.mul(r);
    }

    /** da·2·relu(z), multiplied in the reference's order so both round alike. */
    private static FloatVector relu2Grad(FloatVector da, FloatVector z) {
        return da.mul(2f).mul(z.max(0f));
    }

    /**
     * 1 / (1 + e^−x) from e^−x. For very negative x, e^−x saturates near Float.MAX_VALUE and the
     * result is ~0; the gradients below use 1 − sig rather than e^−x·sig, which would overflow.
     */
    private static FloatVector sigmoid(FloatVector expNeg) {
        return expNeg.broadcast(1f).div(expNeg.add(1f));
    }

    /** silu(g)·u = g / (1 + e^−g) · u, given e^−g. */
    private static FloatVector swiglu(FloatVector g, FloatVector u, FloatVector expNegG) {
        return g.div(expNegG.add(1f)).mul(u);
    }

    /** ∂h/∂up · dh = dh·silu(x). */
    private static FloatVector upGrad(FloatVector d, FloatVector x, FloatVector sig) {
        return d.mul(x).mul(sig);
    }

    /** ∂h/∂gate · dh = dh·up·sig·(1 + x·(1 − sig)), the derivative of x·sig(x) times up. */
    private static FloatVector gateGrad(FloatVector d, FloatVector u, FloatVector x, FloatVector sig) {
        FloatVector slope = x.mul(sig.neg().add(1f)).add(1f);
        return d.mul(u).mul(sig).mul(slope);
    }
}
