package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A long sequence runs in memory far below one seqLen×seqLen score matrix, and still matches the
 * reference. Memory is measured as heap bytes allocated by all threads during each call.
 */
class CpuAttentionLongSequenceTest {
    private static final int SEQ_LEN = 2048, HEAD_DIM = 32;
    /** A quarter of one head's score matrix in bytes: a kernel that materialises the matrix allocates four times this. */
    private static final long ALLOCATION_LIMIT = (long) SEQ_LEN * SEQ_LEN * Float.BYTES / 4;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void longSequenceAllocatesFarLessThanAScoreMatrix() {
        var p = CpuAttentionTest.Problem.random(2048, 1, SEQ_LEN, 1, 1, HEAD_DIM, 2f);
        Backend cpu = new CpuBackend();
        Tensor q = upload(cpu, p.q()), k = upload(cpu, p.k()), v = upload(cpu, p.v()), dOut = upload(cpu, p.dOut());
        Tensor out = cpu.zeros(DType.F32, p.q().length), lse = cpu.zeros(DType.F32, p.lseSize());
        Tensor dq = cpu.zeros(DType.F32, p.q().length), dk = cpu.zeros(DType.F32, p.k().length), dv = cpu.zeros(DType.F32, p.v().length);
        for (Tensor t : List.of(out, lse, dq, dk, dv)) cpu.fill(t, Float.NaN);

        // Until C2 has compiled the kernels, interpreted and C1 Vector API code boxes every vector on the
        // heap, and on a loaded 2-core machine C2 can lag by seconds: count the least of up to 200 runs
        // (about 10 s at most). A kernel holding a score matrix allocates it on every run.
        long forwardBytes = Long.MAX_VALUE, backwardBytes = Long.MAX_VALUE;
        for (int run = 0; run < 200 && (forwardBytes >= ALLOCATION_LIMIT || backwardBytes >= ALLOCATION_LIMIT); run++) {
            long before = THREADS.getTotalThreadAllocatedBytes();
            cpu.attentionForward(out, lse, q, k, v, 1, SEQ_LEN, 1, 1, HEAD_DIM);
            long between = THREADS.getTotalThreadAllocatedBytes();
            cpu.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, 1, SEQ_LEN, 1, 1, HEAD_DIM);
            long after = THREADS.getTotalThreadAllocatedBytes();
            forwardBytes = Math.min(forwardBytes, between - before);
            backwardBytes = Math.min(backwardBytes, after - between);
        }

        assertTrue(forwardBytes >= 0 && forwardBytes < ALLOCATION_LIMIT,
                "forward allocated " + forwardBytes + " bytes, limit " + ALLOCATION_LIMIT + "; " + p);
        assertTrue(backwardBytes >= 0 && backwardBytes < ALLOCATION_LIMIT,
                "backward allocated " + backwardBytes + " bytes, limit " + ALLOCATION_LIMIT + "; " + p);
        var fast = new CpuAttentionTest.Results(cpu.toHost(out), cpu.toHost(lse), cpu.toHost(dq), cpu.toHost(dk), cpu.toHost(dv));
        CpuAttentionTest.assertMatches(CpuAttentionTest.runReference(p), fast, p);
    }

    private static Tensor upload(Backend b, float[] data) {
        Tensor t = b.zeros(DType.F32, data.length);
        b.upload(t, data, 0);
        return t;
    }
}
