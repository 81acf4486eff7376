package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Prints CpuBackend against ReferenceBackend per op on 16384×512 tensors (one 1b-sized batch of
 * rows at a small width). Off by default because the reference alone takes several seconds; run
 * with {@code -Dsparsetrain.bench=true}. Nothing about speed is asserted, but every op's result is
 * first checked against the reference on this shape, so a kernel that breaks at scale fails here.
 */
@EnabledIfSystemProperty(named = "sparsetrain.bench", matches = "true")
class CpuOpsThroughputTest {
    private static final long SEED = 0x5EED_B0B0L;
    private static final int ROWS = 16384, D = 512, VOCAB = 8192, HEADS = 8, HEAD_DIM = 64, SEQ_LEN = 1024;
    private static final int CPU_RUNS = 7, REF_RUNS = 2;

    private final CpuBackend cpu = new CpuBackend();
    private final ReferenceBackend ref = new ReferenceBackend();
    private final CpuOpsTestData data = new CpuOpsTestData(SEED);

    @Test
    void printThroughputAgainstReference() {
        System.out.printf("%nCPU ops on %d x %d floats, %d threads (best of %d cpu / %d reference runs)%n",
                ROWS, D, Parallel.threads(), CPU_RUNS, REF_RUNS);
        System.out.printf("%-18s %12s %12s %9s %12s%n", "op", "reference ms", "cpu ms", "speedup", "cpu GB/s");
        Tensor x = data.gaussian(1, ROWS, D), y = data.gaussian(1, ROWS, D), z = data.gaussian(1, ROWS, D);
        Tensor out = data.poisoned(ROWS, D), expected = data.poisoned(ROWS, D);

        Tensor scaled = data.copy(x), scaledRef = data.copy(x);
        ref.scale(scaledRef, 1.5f);
        cpu.scale(scaled, 1.5f);
        data.assertSameAs(scaledRef, scaled, "scale");
        report("scale", 2, () -> ref.scale(scaled, 1.0001f), () -> cpu.scale(scaled, 1.0001f));

        ref.add(expected, x, y);
        cpu.add(out, x, y);
        data.assertSameAs(expected, out, "add");
        report("add", 3, () -> ref.add(out, x, y), () -> cpu.add(out, x, y));

        data.assertClose(ref.sumSquares(x), cpu.sumSquares(x), 1e-6, "sumSquares");
        report("sumSquares", 1, () -> ref.sumSquares(x), () -> cpu.sumSquares(x));

        ref.swigluForward(expected, x, y);
        cpu.swigluForward(out, x, y);
        data.assertClose(expected, out, 1e-5, "swigluForward");
        report("swigluForward", 3, () -> ref.swigluForward(out, x, y), () -> cpu.swigluForward(out, x, y));

        Tensor dGate = data.poisoned(ROWS, D), dUp = data.poisoned(ROWS, D), dGateRef = data.poisoned(ROWS, D);
        ref.swigluBackward(dGateRef, expected, z, x, y);
        cpu.swigluBackward(dGate, dUp, z, x, y);
        data.assertClose(dGateRef, dGate, 1e-5, "swigluBackward dGate");
        data.assertClose(expected, dUp, 1e-5, "swigluBackward dUp");
        report("swigluBackward", 5, () -> ref.swigluBackward(dGate, dUp, z, x, y), () -> cpu.swigluBackward(dGate, dUp, z, x, y));

        Tensor weight = data.gaussian(1, D), rstd = data.poisoned(ROWS), rstdRef = data.poisoned(ROWS);
        ref.rmsNormForward(expected, rstdRef, x, weight, 1e-5f);
        cpu.rmsNormForward(out, rstd, x, weight, 1e-5f);
        data.assertClose(expected, out, 1e-5, "rmsNormForward");
        report("rmsNormForward", 2, () -> ref.rmsNormForward(out, rstd, x, weight, 1e-5f), () -> cpu.rmsNormForward(out, rstd, x, weight, 1e-5f));

        Tensor dx = data.gaussian(1, ROWS, D), dxRef = data.copy(dx), dw = data.gaussian(1, D), dwRef = data.copy(dw);
        ref.rmsNormBackward(dxRef, dwRef, y, x, weight, rstd);
        cpu.rmsNormBackward(dx, dw, y, x, weight, rstd);
        data.assertClose(dxRef, dx, 1e-5, "rmsNormBackward dx");
        data.assertClose(dwRef, dw, 1e-5, "rmsNormBackward dWeight");
        report("rmsNormBackward", 4, () -> ref.rmsNormBackward(dx, dw, y, x, weight, rstd), () -> cpu.rmsNormBackward(dx, dw, y, x, weight, rstd));

        Tensor rotated = data.copy(x), rotatedRef = data.copy(x);
        ref.ropeForward(rotatedRef, SEQ_LEN, HEADS, HEAD_DIM, 10_000f);
        cpu.ropeForward(rotated, SEQ_LEN, HEADS, HEAD_DIM, 10_000f);
        data.assertClose(rotatedRef, rotated, 1e-5, "ropeForward");
        report("ropeForward", 2, () -> ref.ropeForward(rotated, SEQ_LEN, HEADS, HEAD_DIM, 10_000f),
                () -> cpu.ropeForward(rotated, SEQ_LEN, HEADS, HEAD_DIM, 10_000f));

        Tensor tokens = data.tokens(VOCAB, ROWS), table = data.gaussian(1, VOCAB, D);
        ref.embeddingForward(expected, tokens, table);
        cpu.embeddingForward(out, tokens, table);
        data.assertSameAs(expected, out, "embeddingForward");
        report("embeddingForward", 2, () -> ref.embeddingForward(out, tokens, table), () -> cpu.embeddingForward(out, tokens, table));

        Tensor dTable = data.gaussian(1, VOCAB, D), dTableRef = data.copy(dTable);
        ref.embeddingBackward(dTableRef, tokens, y);
        cpu.embeddingBackward(dTable, tokens, y);
        data.assertSameAs(dTableRef, dTable, "embeddingBackward");
        report("embeddingBackward", 3, () -> ref.embeddingBackward(dTable, tokens, y), () -> cpu.embeddingBackward(dTable, tokens, y));

        Tensor targets = data.tokens(D, ROWS), losses = data.poisoned(ROWS), lossesRef = data.poisoned(ROWS);
        Tensor logits = data.copy(z), logitsRef = data.copy(z);
        ref.crossEntropy(logitsRef, targets, lossesRef, 1f / ROWS);
        cpu.crossEntropy(logits, targets, losses, 1f / ROWS);
        data.assertClose(lossesRef, losses, 1e-5, "crossEntropy losses");
        data.assertClose(logitsRef, logits, 1e-5, "crossEntropy dlogits");
        report("crossEntropy", 2, () -> ref.crossEntropy(logits, targets, losses, 1f / ROWS), () -> cpu.crossEntropy(logits, targets, losses, 1f / ROWS));

        Tensor m = data.gaussian(1e-3, ROWS, D), v = data.positive(1e-6, ROWS, D), mRef = data.copy(m), vRef = data.copy(v);
        Tensor param = data.copy(x), paramRef = data.copy(x), grad = data.gaussian(1e-3, ROWS, D);
        ref.adamw(paramRef, grad, mRef, vRef, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 10, 1f);
        cpu.adamw(param, grad, m, v, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 10, 1f);
        data.assertClose(mRef, m, 1e-5, "adamw m");
        data.assertClose(vRef, v, 1e-5, "adamw v");
        data.assertClose(paramRef, param, 1e-6, "adamw param");
        report("adamw", 7, () -> ref.adamw(param, grad, m, v, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 10, 1f),
                () -> cpu.adamw(param, grad, m, v, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 10, 1f));
    }

    /** Times both sides; {@code tensorsTouched} counts the ROWS×D tensors read or written, for GB/s. */
    private static void report(String op, int tensorsTouched, Runnable reference, Runnable fast) {
        double refMs = bestMillis(reference, REF_RUNS), cpuMs = bestMillis(fast, CPU_RUNS);
        double gbPerSecond = (double) tensorsTouched * ROWS * D * Float.BYTES / (cpuMs * 1e6);
        System.out.printf("%-18s %12.2f %12.3f %8.1fx %12.1f%n", op, refMs, cpuMs, refMs / cpuMs, gbPerSecond);
    }

    private static double bestMillis(Runnable body, int runs) {
        body.run();
        long best = Long.MAX_VALUE;
        for (int r = 0; r < runs; r++) {
            long start = System.nanoTime();
            body.run();
            best = Math.min(best, System.nanoTime() - start);
        }
        return best / 1e6;
    }
}
