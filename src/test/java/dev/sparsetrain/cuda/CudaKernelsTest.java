package dev.sparsetrain.cuda;

import static dev.sparsetrain.cuda.CudaStorage.ptr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Every {@link CudaKernels} method against the kernel sources, without a GPU: a recording launcher
 * captures each launch, whose arguments must match the kernel's declared parameter list one by one
 * (Java type per C type, and the value meant for each parameter, looked up by its name in the .cu
 * source), with a grid that is non-empty, within CUDA's limits and covers the work.
 */
class CudaKernelsTest {
    /** Hopper's largest shared memory per block; CudaLauncher opts a kernel in beyond the default 48 KiB when a launch asks. */
    private static final int MAX_SHARED_BYTES = 227 * 1024;

    private final RecordingLauncher l = new RecordingLauncher();

    // ---- elementwise ------------------------------------------------------------------------------

    @Test
    void elementwiseOpsPassTheirTensorsAndLength() {
        Tensor a = l.f32(3, 700), b = l.f32(3, 700), c = l.f32(3, 700), d = l.f32(3, 700), e = l.f32(3, 700);
        long n = 2100;
        CudaKernels.fill(l, a, 1.5f);
        CudaKernels.scale(l, a, -2f);
        CudaKernels.add(l, a, a, b);
        CudaKernels.relu2Forward(l, a, b);
        CudaKernels.relu2Backward(l, a, b, c);
        CudaKernels.swigluForward(l, a, b, c);
        CudaKernels.swigluBackward(l, a, b, c, d, e);
        var expected = List.of(
                Map.<String, Object>of("x", ptr(a), "n", n, "value", 1.5f),
                Map.<String, Object>of("x", ptr(a), "n", n, "s", -2f),
                Map.<String, Object>of("out", ptr(a), "a", ptr(a), "b", ptr(b), "n", n),
                Map.<String, Object>of("a", ptr(a), "z", ptr(b), "n", n),
                Map.<String, Object>of("dz", ptr(a), "da", ptr(b), "z", ptr(c), "n", n),
                Map.<String, Object>of("h", ptr(a), "gate", ptr(b), "up", ptr(c), "n", n),
                Map.<String, Object>of("dGate", ptr(a), "dUp", ptr(b), "dh", ptr(c), "gate", ptr(d), "up", ptr(e), "n", n));
        var kernels = List.of("fill_f32", "scale_f32", "add_f32", "relu2_forward_f32", "relu2_backward_f32",
                "swiglu_forward_f32", "swiglu_backward_f32");
        assertEquals(kernels.size(), l.launches.size());
        for (int i = 0; i < kernels.size(); i++) {
            var launch = l.launches.get(i);
            assertLaunch(launch, kernels.get(i), expected.get(i));
            int perThread = kernels.get(i).startsWith("relu2") ? 4 : 1;
            assertTrue((long) launch.gridX() * launch.blockX() * perThread >= n, "grid-stride launch of " + n + " elements: " + launch);
        }
    }

    @Test
    void activationsAndAdamwLaunchOneResidentWaveOfQuadThreads() {
        long n = 16384L * 8192;  // the 1b model's [T, F] activations
        var storage = new CudaStorage(0x7000_0000_0000L, 4 * n, DType.F32);
        Tensor a = new Tensor(storage, DType.F32, 0, n), z = new Tensor(storage, DType.F32, n, n), g = new Tensor(storage, DType.F32, 2 * n, n);
        Tensor m = new Tensor(storage, DType.F32, 3 * n, n);
        CudaKernels.relu2Forward(l, a, z);
        CudaKernels.relu2Backward(l, a, g, z);
        CudaKernels.adamw(l, a, g, z, m, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3, 1f);
        // Launch bounds (256, blocks per SM) of the kernels guarantee that 132 SMs hold these grids at once.
        int[] blocksPerSm = {6, 6, 3};
        for (int i = 0; i < 3; i++) {
            var launch = l.launches.get(i);
            assertEquals(256, launch.blockX(), launch.toString());
            assertEquals(132 * blocksPerSm[i], launch.gridX(), "one resident wave: " + launch);
            assertTrue(KernelSignatures.text(KernelSignatures.named(launch.kernel()).source())
                    .contains("_BLOCKS_PER_SM = " + blocksPerSm[i] + ";"), "the source's launch bound agrees: " + launch.kernel());
        }
        l.launches.clear();
        CudaKernels.relu2Forward(l, l.f32(4097), l.f32(4097));
        assertEquals(5, l.only().gridX(), "1025 quads need 5 blocks of 256");
    }

    @Test
    void elementwiseGridsStayBoundedForHugeTensors() {
        long n = 3L << 31;  // 6.4e9 elements: more than an int indexes
        var storage = new CudaStorage(0x7000_0000_0000L, n, DType.F32);
        Tensor huge = new Tensor(storage, DType.F32, 0, n);
        CudaKernels.scale(l, huge, 0.5f);
        var launch = l.only();
        assertLaunch(launch, "scale_f32", Map.of("x", ptr(huge), "n", n, "s", 0.5f));
    }

    @Test
    void emptyTensorsLaunchNothing() {
        Tensor empty = l.f32(0, 16);
        CudaKernels.fill(l, empty, 1f);
        CudaKernels.add(l, empty, empty, empty);
        CudaKernels.adamw(l, empty, empty, empty, empty, 1e-3f, 0.9f, 0.95f, 1e-8f, 0f, 1, 1f);
        CudaKernels.rmsNormForward(l, empty, l.f32(0), empty, l.f32(16), 1e-5f);
        CudaKernels.attentionForward(l, l.f32(0), l.f32(0), l.f32(0), l.f32(0), l.f32(0), 2, 0, 4, 2, 16);
        assertEquals(List.of(), l.launches);
    }

    @Test
    void sumSquaresAlwaysWritesEveryPartial() {
        Tensor partials = l.f32(CudaKernels.SUM_BLOCKS);
        for (long n : new long[] {0, 5, 1 << 20}) {
            l.launches.clear();
            Tensor t = l.f32(n);
            CudaKernels.sumSquares(l, t, partials);
            var launch = l.only();
            assertLaunch(launch, "sum_squares_f32", Map.of("x", ptr(t), "n", n, "partials", ptr(partials)));
            assertEquals(CudaKernels.SUM_BLOCKS, launch.gridX(), "one block per partial, n=" + n);
        }
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.sumSquares(l, l.f32(8), l.f32(CudaKernels.SUM_BLOCKS - 1)));
    }

    // ---- embedding, RMSNorm, RoPE -----------------------------------------------------------------

    @Test
    void embeddingLaunchesOneBlockPerTokenRow() {
        Tensor out = l.f32(5, 96), tokens = l.tensor(DType.I32, 5), table = l.f32(1000, 96);
        CudaKernels.embeddingForward(l, out, tokens, table);
        CudaKernels.embeddingBackward(l, table, tokens, out);
        assertLaunch(l.launches.get(0), "embedding_forward_f32",
                Map.of("out", ptr(out), "tokens", ptr(tokens), "table", ptr(table), "count", 5, "d", 96, "vocab", 1000));
        assertLaunch(l.launches.get(1), "embedding_backward_f32",
                Map.of("dTable", ptr(table), "tokens", ptr(tokens), "dOut", ptr(out), "count", 5, "d", 96, "vocab", 1000));
        for (var launch : l.launches) assertEquals(5, launch.gridX(), "one block per token: " + launch);
    }

    @Test
    void embeddingRejectsFloatTokensAndMismatchedOutput() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.embeddingForward(l, l.f32(5, 8), l.f32(5), l.f32(10, 8)));
        assertTrue(e.getMessage().contains("tokens"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.embeddingForward(l, l.f32(5, 9), l.tensor(DType.I32, 5), l.f32(10, 8)));
    }

    @Test
    void rmsNormRunsTheVectorKernelsOnAlignedRowsOfWholeQuads() {
        int rows = 3000, d = 2048;
        Tensor dx = l.aligned(DType.F32, rows, d), dw = l.f32(d), g = l.aligned(DType.F32, rows, d), x = l.aligned(DType.F32, rows, d);
        Tensor w = l.aligned(DType.F32, d), rstd = l.f32(rows), out = l.aligned(DType.F32, rows, d);
        CudaKernels.rmsNormForward(l, out, rstd, x, w, 1e-6f);
        CudaKernels.rmsNormBackward(l, dx, dw, g, x, w, rstd);
        var forward = l.launches.get(0);
        assertLaunch(forward, "rmsnorm_forward_f32x4",
                Map.of("out", ptr(out), "rstd", ptr(rstd), "x", ptr(x), "weight", ptr(w), "rows", rows, "d", d, "eps", 1e-6f));
        assertEquals(128, forward.blockX(), "16 columns a thread: 128 threads hold a row of 2048");
        assertEquals(rows, forward.gridX(), "one block per row");
        var backward = l.launches.get(1);
        assertLaunch(backward, "rmsnorm_backward_f32x4", Map.of("dx", ptr(dx), "dWeight", ptr(dw), "dOut", ptr(g), "x", ptr(x),
                "weight", ptr(w), "rstd", ptr(rstd), "rows", rows, "d", d));
        assertEquals(128, backward.blockX());
        assertEquals(132 * 4, backward.gridX(), "one resident wave of 512 threads per streaming multiprocessor walks the rows");
    }

    @Test
    void rmsNormFallsBackToTheScalarKernelsOnAnyMisalignedOperandOrOddWidth() {
        int rows = 40, d = 2048;
        Tensor dw = l.f32(d), rstd = l.f32(rows);
        Tensor[] operands = {l.aligned(DType.F32, rows, d), l.aligned(DType.F32, rows, d), l.aligned(DType.F32, rows, d), l.aligned(DType.F32, d)};
        for (int misaligned = 0; misaligned < operands.length; misaligned++) {
            l.launches.clear();
            Tensor[] t = operands.clone();
            t[misaligned] = misaligned == 3 ? oneFloatIn(d) : oneFloatIn(rows, d);
            CudaKernels.rmsNormForward(l, t[0], rstd, t[1], t[3], 1e-5f);
            CudaKernels.rmsNormBackward(l, t[0], dw, t[2], t[1], t[3], rstd);
            String expectForward = misaligned == 2 ? "rmsnorm_forward_f32x4" : "rmsnorm_forward_f32";  // the forward does not read dOut
            assertEquals(expectForward, l.launches.get(0).kernel(), "operand " + misaligned + " misaligned");
            assertEquals("rmsnorm_backward_f32", l.launches.get(1).kernel(), "operand " + misaligned + " misaligned");
        }
        l.launches.clear();
        int odd = 202;
        Tensor x = l.aligned(DType.F32, rows, odd), w = l.aligned(DType.F32, odd);
        CudaKernels.rmsNormForward(l, l.aligned(DType.F32, rows, odd), rstd, x, w, 1e-5f);
        var launch = l.only();
        assertEquals("rmsnorm_forward_f32", launch.kernel(), "d % 4 != 0: rows after the first are not 16-byte aligned");
        assertEquals(32, launch.blockX(), "13 threads' worth of columns, rounded up to a warp");
    }

    /** A tensor one float into 256-byte-aligned storage: 4 bytes past a 16-byte boundary. */
    private Tensor oneFloatIn(long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return new Tensor(l.aligned(DType.F32, n + 1).storage(), DType.F32, 1, shape);
    }

    @Test
    void rmsNormBlocksHoldTheWholeRowUpToTheWidestSupported() {
        for (int d : new int[] {1, 16, 17, 200, 2048, 4100, 8192}) {
            int threads = CudaKernels.rmsNormThreads(d);
            assertTrue((long) threads * 16 >= d, "16 columns a thread must cover d = " + d + " with " + threads + " threads");
            assertTrue(threads % 32 == 0 && threads <= KernelSignatures.named("rmsnorm_backward_f32x4").maxThreads(), "d = " + d);
            assertTrue(threads == 32 || (long) (threads - 32) * 16 < d, "no whole idle warp at d = " + d);
        }
        int d = CudaKernels.RMSNORM_MAX_WIDTH + 4;
        var e = assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.rmsNormForward(l, l.f32(2, d), l.f32(2), l.f32(2, d), l.f32(d), 1e-5f));
        assertTrue(e.getMessage().contains("8192"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.rmsNormForward(l, l.f32(3, 8), l.f32(4), l.f32(3, 8), l.f32(8), 1e-6f));
    }

    @Test
    void ropeRotatesForwardAndBackBySign() {
        Tensor x = l.f32(6, 4 * 64);
        CudaKernels.ropeForward(l, x, 3, 4, 64, 500000f);
        CudaKernels.ropeBackward(l, x, 3, 4, 64, 500000f);
        for (int i = 0; i < 2; i++) {
            var launch = l.launches.get(i);
            assertLaunch(launch, "rope_f32", Map.of("x", ptr(x), "rows", 6, "seqLen", 3, "nHeads", 4, "headDim", 64,
                    "theta", 500000f, "direction", i == 0 ? 1f : -1f));
            assertEquals(64 * 8, launch.sharedBytes(), "frequency, cos and sin tables of headDim/2 entries");
        }
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.ropeForward(l, l.f32(6, 4 * 63), 3, 4, 63, 1e4f));
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.ropeForward(l, l.f32(7, 10), 3, 2, 4, 1e4f));
    }

    // ---- attention --------------------------------------------------------------------------------

    @Test
    void attentionPicksTheNarrowestKernelThatHoldsTheHeadDim() {
        int[][] widths = {{1, 32}, {16, 32}, {32, 32}, {33, 64}, {64, 64}, {65, 128}, {100, 128}, {128, 128}};
        for (int[] w : widths) {
            l.launches.clear();
            int headDim = w[0];
            Tensor q = l.f32(10, 2 * headDim), kv = l.f32(10, headDim), lse = l.f32(1, 2, 10);
            CudaKernels.attentionForward(l, AttentionKernel.FP32, q, lse, q, kv, kv, 1, 10, 2, 1, headDim);
            assertEquals("attention_forward_hd" + w[1] + "_f32", l.only().kernel(), "headDim " + headDim);
        }
        var e = assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.attentionForward(l, l.f32(10, 129), l.f32(1, 1, 10), l.f32(10, 129), l.f32(10, 129), l.f32(10, 129), 1, 10, 1, 1, 129));
        assertTrue(e.getMessage().contains("headDim"), e.getMessage());
    }

    @Test
    void attentionForwardGridCoversEveryQueryOfEveryHead() {
        var random = new SplittableRandom(20240611);
        for (int trial = 0; trial < 20; trial++) {
            l.launches.clear();
            int batch = 1 + random.nextInt(4), seqLen = 1 + random.nextInt(3000), nKv = 1 + random.nextInt(4);
            int nHeads = nKv * (1 + random.nextInt(4)), headDim = 1 + random.nextInt(128);
            String shape = "seed 20240611 trial " + trial + ": batch " + batch + " seqLen " + seqLen + " heads " + nHeads + "/" + nKv + " headDim " + headDim;
            long tokens = (long) batch * seqLen;
            Tensor q = l.f32(tokens, nHeads * headDim), k = l.f32(tokens, nKv * headDim), v = l.f32(tokens, nKv * headDim);
            Tensor out = l.f32(tokens, nHeads * headDim), lse = l.f32(batch, nHeads, seqLen);
            CudaKernels.attentionForward(l, AttentionKernel.FP32, out, lse, q, k, v, batch, seqLen, nHeads, nKv, headDim);
            var launch = l.only();
            assertLaunch(launch, launch.kernel(), Map.of("out", ptr(out), "lse", ptr(lse), "q", ptr(q), "k", ptr(k), "v", ptr(v),
                    "seqLen", seqLen, "nHeads", nHeads, "nKvHeads", nKv, "headDim", headDim, "scale", (float) (1 / Math.sqrt(headDim))));
            int width = Integer.parseInt(launch.kernel().replaceAll("\\D+(\\d+)_f32", "$1"));
            assertTrue(width >= headDim, shape);
            assertEquals(2 * width, launch.blockX(), "64 queries a block, width/32 lanes each; " + shape);
            assertTrue(launch.gridX() * 64L >= seqLen && (launch.gridX() - 1) * 64L < seqLen, "query tiles; " + shape);
            assertEquals(nHeads, launch.gridY(), shape);
            assertEquals(batch, launch.gridZ(), shape);
        }
    }

    @Test
    void attentionBackwardComputesDeltasIntoDqThenDkDvThenDq() {
        int batch = 2, seqLen = 300, nHeads = 8, nKv = 2, headDim = 64;
        int tokens = batch * seqLen;
        Tensor q = l.f32(tokens, nHeads * headDim), k = l.f32(tokens, nKv * headDim), v = l.f32(tokens, nKv * headDim);
        Tensor out = l.f32(tokens, nHeads * headDim), lse = l.f32(batch, nHeads, seqLen), dOut = l.f32(tokens, nHeads * headDim);
        Tensor dq = l.f32(tokens, nHeads * headDim), dk = l.f32(tokens, nKv * headDim), dv = l.f32(tokens, nKv * headDim);
        CudaKernels.attentionBackward(l, AttentionKernel.FP32, dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKv, headDim);
        assertEquals(3, l.launches.size(), "delta, dK/dV, dQ: " + l.launches);
        float scale = (float) (1 / Math.sqrt(headDim));
        var delta = l.launches.get(0);
        assertLaunch(delta, "attention_backward_delta_f32",
                Map.of("dq", ptr(dq), "dOut", ptr(dOut), "out", ptr(out), "headRows", (long) tokens * nHeads, "headDim", headDim));
        assertTrue((long) delta.gridX() * delta.blockX() / 32 >= (long) tokens * nHeads, "one warp per (row, head): " + delta);
        var dkdv = l.launches.get(1);
        assertLaunch(dkdv, "attention_backward_dkdv_hd64_f32", Map.ofEntries(Map.entry("dk", ptr(dk)), Map.entry("dv", ptr(dv)),
                Map.entry("delta", ptr(dq)), Map.entry("dOut", ptr(dOut)), Map.entry("q", ptr(q)), Map.entry("k", ptr(k)),
                Map.entry("v", ptr(v)), Map.entry("lse", ptr(lse)), Map.entry("seqLen", seqLen), Map.entry("nHeads", nHeads),
                Map.entry("nKvHeads", nKv), Map.entry("headDim", headDim), Map.entry("scale", scale)));
        assertEquals(List.of(5, nKv, batch), List.of(dkdv.gridX(), dkdv.gridY(), dkdv.gridZ()), "key tiles x kv heads x batch");
        var dqLaunch = l.launches.get(2);
        assertLaunch(dqLaunch, "attention_backward_dq_hd64_f32", Map.ofEntries(Map.entry("dq", ptr(dq)), Map.entry("dOut", ptr(dOut)),
                Map.entry("q", ptr(q)), Map.entry("k", ptr(k)), Map.entry("v", ptr(v)), Map.entry("lse", ptr(lse)),
                Map.entry("seqLen", seqLen), Map.entry("nHeads", nHeads), Map.entry("nKvHeads", nKv), Map.entry("headDim", headDim),
                Map.entry("scale", scale)));
        assertEquals(List.of(5, nHeads, batch), List.of(dqLaunch.gridX(), dqLaunch.gridY(), dqLaunch.gridZ()), "query tiles x heads x batch");
    }

    @Test
    void fa2ModeConvertsQkvOnceThenRunsOneForwardBlockPer128Queries() {
        var scratch = new AttentionScratch(l::aligned);
        for (int headDim : new int[] {32, 48, 64, 100, 128}) {
            l.launches.clear();
            int batch = 2, seqLen = 300, nHeads = 8, nKv = 2, tokens = batch * seqLen;
            Tensor q = l.f32(tokens, nHeads * headDim), k = l.f32(tokens, nKv * headDim), v = l.f32(tokens, nKv * headDim);
            Tensor out = l.f32(tokens, nHeads * headDim), lse = l.f32(batch, nHeads, seqLen);
            CudaKernels.attentionForward(l, AttentionKernel.FA2, scratch, out, lse, q, k, v, batch, seqLen, nHeads, nKv, headDim);
            String shape = "headDim " + headDim;
            if (headDim != 64 && headDim != 128) {
                assertTrue(l.only().kernel().endsWith("_f32"), shape + " has no fa2 (nor tc) kernel: " + l.launches);
                continue;
            }
            assertEquals(2, l.launches.size(), "convert, forward: " + l.launches);
            var convert = l.launches.get(0);
            long q16 = (Long) convert.args().get(0), k16 = (Long) convert.args().get(1), v16 = (Long) convert.args().get(2);
            assertScratchAddresses(shape, q16, k16, v16);
            long qPairs = (long) tokens * nHeads * headDim / 2, kvPairs = (long) tokens * nKv * headDim / 2;
            assertLaunch(convert, "attention_fa2_convert_qkv", Map.of("q16", q16, "k16", k16, "v16", v16, "q", ptr(q), "k", ptr(k),
                    "v", ptr(v), "qPairs", qPairs, "kvPairs", kvPairs));
            assertGridStride(convert, qPairs + 2 * kvPairs, shape);
            var forward = l.launches.get(1);
            assertLaunch(forward, "attention_fa2_forward_hd" + headDim, Map.of("out", ptr(out), "lse", ptr(lse), "q16", q16, "k16", k16,
                    "v16", v16, "seqLen", seqLen, "nHeads", nHeads, "nKvHeads", nKv, "scale", (float) (1 / Math.sqrt(headDim))));
            assertEquals(List.of(nHeads, batch, 3, 256, 1), List.of(forward.gridX(), forward.gridY(), forward.gridZ(), forward.blockX(),
                    forward.blockY()), "heads x batch x 128-query tiles, 8 warps; " + shape);
            assertEquals(4 * 64 * (headDim + 8) * 2, forward.sharedBytes(), "two buffers of a K and a V tile of 64 padded rows; " + shape);
        }
    }

    @Test
    void fa2BackwardConvertsPreparesRunsOneKernelPer128KeysAndFinishesDq() {
        var scratch = new AttentionScratch(l::aligned);
        for (int headDim : new int[] {48, 64, 128}) {
            l.launches.clear();
            int batch = 2, seqLen = 300, nHeads = 8, nKv = 2, tokens = batch * seqLen;
            Tensor q = l.f32(tokens, nHeads * headDim), k = l.f32(tokens, nKv * headDim), v = l.f32(tokens, nKv * headDim);
            Tensor out = l.f32(tokens, nHeads * headDim), lse = l.f32(batch, nHeads, seqLen), dOut = l.f32(tokens, nHeads * headDim);
            Tensor dq = l.f32(tokens, nHeads * headDim), dk = l.f32(tokens, nKv * headDim), dv = l.f32(tokens, nKv * headDim);
            CudaKernels.attentionBackward(l, AttentionKernel.FA2, scratch, dq, dk, dv, dOut, q, k, v, out, lse, batch, seqLen, nHeads, nKv, headDim);
            String shape = "headDim " + headDim;
            if (headDim == 48) {
                assertEquals(List.of("attention_backward_delta_f32", "attention_backward_dkdv_hd64_f32", "attention_backward_dq_hd64_f32"),
                        l.launches.stream().map(RecordingLauncher.Launch::kernel).toList(), shape + " has no fa2 (nor tc) kernel");
                continue;
            }
            assertEquals(4, l.launches.size(), "convert, prepare, backward, finish: " + l.launches);
            var convert = l.launches.get(0);
            long q16 = (Long) convert.args().get(0), k16 = (Long) convert.args().get(1), v16 = (Long) convert.args().get(2);
            assertEquals("attention_fa2_convert_qkv", convert.kernel(), shape);
            assertEquals(List.of(ptr(q), ptr(k), ptr(v)), convert.args().subList(3, 6), shape);
            long headRows = (long) tokens * nHeads, queryElements = headRows * headDim;
            var prepare = l.launches.get(1);
            long delta = (Long) prepare.args().get(0), dOut16 = (Long) prepare.args().get(1), accumulator = (Long) prepare.args().get(2);
            assertScratchAddresses(shape, q16, k16, v16, delta, dOut16, accumulator);
            assertLaunch(prepare, "attention_fa2_backward_prepare", Map.of("delta", delta, "dOut16", dOut16, "dqAccumulator", accumulator,
                    "dOut", ptr(dOut), "out", ptr(out), "headRows", headRows, "seqLen", seqLen, "nHeads", nHeads, "headDim", headDim));
            assertTrue((long) prepare.gridX() * prepare.blockX() / 32 >= Math.min(headRows, 8192L * 8), "one warp per (row, head): " + prepare);
            float scale = (float) (1 / Math.sqrt(headDim));
            var backward = l.launches.get(2);
            assertLaunch(backward, "attention_fa2_backward_hd" + headDim, Map.ofEntries(Map.entry("dk", ptr(dk)), Map.entry("dv", ptr(dv)),
                    Map.entry("dqAccumulator", accumulator), Map.entry("q16", q16), Map.entry("k16", k16), Map.entry("v16", v16),
                    Map.entry("dOut16", dOut16), Map.entry("lse", ptr(lse)), Map.entry("delta", delta), Map.entry("seqLen", seqLen),
                    Map.entry("nHeads", nHeads), Map.entry("nKvHeads", nKv), Map.entry("scale", scale)));
            assertEquals(List.of(nKv, batch, 3, 256, 1), List.of(backward.gridX(), backward.gridY(), backward.gridZ(), backward.blockX(),
                    backward.blockY()), "kv heads x batch x 128-key tiles, 8 warps; " + shape);
            assertEquals((2 * 128 + 4 * 64) * (headDim + 8) * 2 + 128 * 72 * 2 + 4 * 64 * 4, backward.sharedBytes(),
                    "K, V, two buffers of Q and dOut, dS^T, two buffers of lse and D; " + shape);
            var finish = l.launches.get(3);
            assertLaunch(finish, "attention_fa2_backward_finish", Map.of("dq", ptr(dq), "dqAccumulator", accumulator, "n", queryElements,
                    "scale", scale));
            assertGridStride(finish, queryElements, shape);
        }
    }

    @Test
    void fa2ModeNeedsAScratchOnlyWhereItRunsTheFa2Kernels() {
        Tensor q = l.f32(10, 2 * 64), kv = l.f32(10, 64), lse = l.f32(1, 2, 10);
        var e = assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.attentionForward(l, AttentionKernel.FA2, q, lse, q, kv, kv, 1, 10, 2, 1, 64));
        assertTrue(e.getMessage().contains("AttentionScratch") && e.getMessage().contains("fa2"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.attentionBackward(l, AttentionKernel.FA2, q, kv, kv, q, q, kv, kv, q, lse, 1, 10, 2, 1, 64));
        assertEquals(List.of(), l.launches);
        Tensor q32 = l.f32(10, 2 * 32), kv32 = l.f32(10, 32);
        CudaKernels.attentionForward(l, AttentionKernel.FA2, q32, lse, q32, kv32, kv32, 1, 10, 2, 1, 32);
        assertEquals("attention_forward_hd32_f32", l.only().kernel(), "headDim 32 runs the fp32 kernel, which needs no scratch");
    }

    @Test
    void fa2ScratchIsAllocatedOnceAndReusedUntilAShapeNeedsMore() {
        int[] allocations = {0};
        var scratch = new AttentionScratch((dtype, shape) -> {
            allocations[0]++;
            return l.aligned(dtype, shape);
        });
        int nHeads = 4, nKv = 2, headDim = 64;
        for (int seqLen : new int[] {200, 200, 100, 300}) {
            l.launches.clear();
            Tensor q = l.f32(seqLen, nHeads * headDim), kv = l.f32(seqLen, nKv * headDim), lse = l.f32(1, nHeads, seqLen);
            CudaKernels.attentionForward(l, AttentionKernel.FA2, scratch, q, lse, q, kv, kv, 1, seqLen, nHeads, nKv, headDim);
            CudaKernels.attentionBackward(l, AttentionKernel.FA2, scratch, q, kv, kv, q, q, kv, kv, q, lse, 1, seqLen, nHeads, nKv, headDim);
            assertEquals(seqLen <= 200 ? 6 : 12, allocations[0], "q, k, v, dOut, D and the dQ accumulator, again only when seqLen grows past 200: seqLen " + seqLen);
        }
        long bytes = 300L * (nHeads + 2 * nKv + nHeads) * headDim * 2 + 300L * nHeads * 4 + 300L * nHeads * headDim * 4;
        assertEquals(bytes, scratch.bytes(), "bf16 q, k, v, dOut; fp32 D and dQ accumulator for seqLen 300");
    }

    /** Distinct, 16-byte-aligned scratch addresses. */
    private static void assertScratchAddresses(String shape, long... addresses) {
        for (int i = 0; i < addresses.length; i++) {
            assertEquals(0, addresses[i] % 16, "scratch address " + i + " is 16-byte aligned; " + shape);
            for (int j = 0; j < i; j++) assertTrue(addresses[i] != addresses[j], "scratch addresses " + j + " and " + i + " differ; " + shape);
        }
    }

    /** A grid-stride pass of 256-thread blocks over n items: as many blocks as the items need, up to 8192. */
    private static void assertGridStride(RecordingLauncher.Launch launch, long n, String shape) {
        assertEquals(256, launch.blockX(), shape);
        assertEquals(Math.min(Math.ceilDiv(n, 256), 8192), launch.gridX(), "blocks of " + n + " items; " + shape);
    }

    @Test
    void attentionRejectsBadShapes() {
        Tensor q = l.f32(10, 64), kv = l.f32(10, 32), lse = l.f32(1, 2, 10);
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.attentionForward(l, q, lse, q, kv, kv, 1, 10, 2, 3, 32));
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.attentionForward(l, q, l.f32(1, 2, 9), q, kv, kv, 1, 10, 2, 1, 32));
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.attentionBackward(l, q, kv, l.f32(10, 33), q, q, kv, kv, q, lse, 1, 10, 2, 1, 32));
        var onHeap = new ReferenceBackend().zeros(DType.F32, 10, 64);
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.attentionForward(l, onHeap, lse, q, kv, kv, 1, 10, 2, 1, 32));
        assertEquals(List.of(), l.launches);
    }

    // ---- loss and optimizer -----------------------------------------------------------------------

    @Test
    void crossEntropyLaunchesOneBlockPerRow() {
        Tensor logits = l.f32(7, 50304), targets = l.tensor(DType.I32, 7), losses = l.f32(7);
        CudaKernels.crossEntropy(l, logits, targets, losses, 0.125f);
        var launch = l.only();
        assertLaunch(launch, "cross_entropy_f32", Map.of("logits", ptr(logits), "targets", ptr(targets), "losses", ptr(losses),
                "rows", 7, "vocab", 50304, "gradScale", 0.125f));
        assertEquals(7, launch.gridX());
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.crossEntropy(l, logits, targets, l.f32(6), 1f));
    }

    @Test
    void adamwPassesBiasCorrectionsComputedInDouble() {
        Tensor p = l.f32(1000), g = l.f32(1000), m = l.f32(1000), v = l.f32(1000);
        CudaKernels.adamw(l, p, g, m, v, 3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 10, 0.5f);
        var expected = new HashMap<String, Object>(Map.of("param", ptr(p), "grad", ptr(g), "m", ptr(m), "v", ptr(v), "n", 1000L,
                "lr", 3e-4f, "beta1", 0.9f, "beta2", 0.95f, "eps", 1e-8f, "weightDecay", 0.1f));
        expected.put("biasCorrection1", (float) (1 - Math.pow(0.9f, 10)));
        expected.put("biasCorrection2", (float) (1 - Math.pow(0.95f, 10)));
        expected.put("gradScale", 0.5f);
        assertLaunch(l.only(), "adamw_f32", expected);
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.adamw(l, p, g, m, v, 3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 0, 1f));
        assertThrows(IllegalArgumentException.class, () -> CudaKernels.adamw(l, p, g, m, l.f32(999), 3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, 1, 1f));
    }

    @Test
    void everyOpLaunchesWithinLimits() {
        var launches = RecordingLauncher.everyOp().launches;
        assertTrue(launches.size() >= 25, "every op launched: " + launches.size());
        for (var launch : launches) assertWithinLimits(launch, KernelSignatures.named(launch.kernel()));
    }

    // ---- checks -------------------------------------------------------------------------------------

    /**
     * The launch runs {@code kernel} with one argument per declared parameter, of the Java type that
     * parameter's C type needs and equal to {@code expected.get(parameterName)}; every parameter must
     * be named in {@code expected}, so a swapped pair fails even when the types agree.
     */
    private static void assertLaunch(RecordingLauncher.Launch launch, String kernel, Map<String, Object> expected) {
        assertEquals(kernel, launch.kernel());
        var declared = KernelSignatures.named(kernel);
        assertEquals(declared.params().size(), launch.args().size(), kernel + " parameters " + declared.params() + " vs arguments " + launch.args());
        for (int i = 0; i < declared.params().size(); i++) {
            var param = declared.params().get(i);
            Object arg = launch.args().get(i);
            assertEquals(param.javaType(), arg.getClass(), kernel + " parameter " + i + " '" + param.type() + " " + param.name() + "'");
            assertTrue(expected.containsKey(param.name()), "test gives no expected value for " + kernel + " parameter " + param.name());
            assertEquals(expected.get(param.name()), arg, kernel + " parameter " + param.name());
        }
        assertEquals(declared.params().size(), expected.size(), "expected values name parameters " + kernel + " does not have: " + expected.keySet());
        assertWithinLimits(launch, declared);
    }

    private static void assertWithinLimits(RecordingLauncher.Launch launch, KernelSignatures.Kernel kernel) {
        assertTrue(launch.gridX() >= 1, "empty grid: " + launch);
        assertTrue(launch.gridY() >= 1 && launch.gridY() <= 65535 && launch.gridZ() >= 1 && launch.gridZ() <= 65535,
                "grid y and z must be in [1, 65535]: " + launch);
        int threads = launch.blockX() * launch.blockY();
        assertTrue(threads >= 32 && threads % 32 == 0, "the kernels reduce over whole warps, so blocks are whole warps: " + launch);
        assertTrue(threads <= kernel.maxThreads(), "block of " + threads + " threads over " + kernel.name() + "'s launch bound "
                + kernel.maxThreads() + ": " + launch);
        assertTrue(launch.sharedBytes() >= 0 && launch.sharedBytes() <= MAX_SHARED_BYTES,
                "dynamic shared memory beyond 227 KiB does not fit a Hopper block: " + launch);
    }
}
