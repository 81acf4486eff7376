package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Long sequences: one of 2048 still matches the reference, and one whose single score matrix would
 * not fit in the test JVM's heap at all runs forward and backward, which a kernel that materialised
 * seqLen×seqLen scores per head could not.
 *
 * <p>Why not count allocated bytes: on a fresh JVM, C2 may leave a Vector API loop uncompiled for a
 * long time, and interpreted vector code boxes every vector on the heap, so the allocation count
 * depended on JIT timing and made the test flaky. The heap bound does not.
 */
class CpuAttentionLongSequenceTest {

    @Test
    void aLongSequenceMatchesTheReference() {
        var p = CpuAttentionTest.Problem.random(2048, 1, 2048, 1, 1, 32, 2f);
        Backend cpu = new CpuBackend();
        Tensor q = upload(cpu, p.q()), k = upload(cpu, p.k()), v = upload(cpu, p.v()), dOut = upload(cpu, p.dOut());
        Tensor out = cpu.zeros(DType.F32, p.q().length), lse = cpu.zeros(DType.F32, p.lseSize());
        Tensor dq = cpu.zeros(DType.F32, p.q().length), dk = cpu.zeros(DType.F32, p.k().length), dv = cpu.zeros(DType.F32, p.v().length);
        for (Tensor t : List.of(out, lse, dq, dk, dv)) cpu.fill(t, Float.NaN);
        cpu.attentionForward(out, lse, q, k, v, 1, 2048, 1, 1, 32);
        cpu.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, 1, 2048, 1, 1, 32);
        var fast = new CpuAttentionTest.Results(cpu.toHost(out), cpu.toHost(lse), cpu.toHost(dq), cpu.toHost(dk), cpu.toHost(dv));
        CpuAttentionTest.assertMatches(CpuAttentionTest.runReference(p), fast, p);
    }

    @Test
    void aSequenceWhoseScoreMatrixExceedsTheHeapRuns() {
        long maxHeap = Runtime.getRuntime().maxMemory();
        // The smallest multiple of 1024 whose seqLen² floats exceed the whole heap.
        int seqLen = (int) Math.ceil(Math.sqrt(maxHeap / (double) Float.BYTES) / 1024 + 1e-9) * 1024;
        int headDim = 8;
        assertTrue((long) seqLen * seqLen * Float.BYTES > maxHeap, "seqLen " + seqLen + " is too short for heap " + maxHeap);
        SplittableRandom r = new SplittableRandom(seqLen);
        float[] data = new float[seqLen * headDim];
        for (int i = 0; i < data.length; i++) data[i] = (float) r.nextGaussian();
        Backend cpu = new CpuBackend();
        Tensor q = upload(cpu, data), k = upload(cpu, data), v = upload(cpu, data), dOut = upload(cpu, data);
        Tensor out = cpu.zeros(DType.F32, data.length), lse = cpu.zeros(DType.F32, seqLen);
        Tensor dq = cpu.zeros(DType.F32, data.length), dk = cpu.zeros(DType.F32, data.length), dv = cpu.zeros(DType.F32, data.length);
        for (Tensor t : List.of(out, lse, dq, dk, dv)) cpu.fill(t, Float.NaN);
        cpu.attentionForward(out, lse, q, k, v, 1, seqLen, 1, 1, headDim);
        cpu.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, 1, seqLen, 1, 1, headDim);
        // Every output is a convex combination of value rows, and every gradient is finite.
        float vMax = 0;
        for (float x : data) vMax = Math.max(vMax, Math.abs(x));
        for (float x : cpu.toHost(out)) assertTrue(Math.abs(x) <= vMax * 1.0001f, "out " + x + " outside the values' range " + vMax);
        for (Tensor t : List.of(lse, dq, dk, dv)) {
            for (float x : cpu.toHost(t)) assertTrue(Float.isFinite(x), "non-finite " + x + " in " + t);
        }
    }

    private static Tensor upload(Backend b, float[] data) {
        Tensor t = b.zeros(DType.F32, data.length);
        b.upload(t, data, 0);
        return t;
    }
}
