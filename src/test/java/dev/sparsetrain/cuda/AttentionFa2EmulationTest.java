package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.cuda.Fa2Emulator.CopyTiming;
import dev.sparsetrain.cuda.Fa2Emulator.ThreadOrder;
import dev.sparsetrain.cuda.selftest.CheckRow;
import dev.sparsetrain.cuda.selftest.Comparison;
import dev.sparsetrain.tensor.Bf16;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fa2 attention kernels without a GPU: {@link Fa2Emulator} runs {@code attention_fa2.cu} itself
 * on the CPU, launched as {@link CudaKernels} launches it in {@link AttentionKernel#FA2} mode (the
 * forward, then the backward on the same {@link AttentionScratch}), and the results are compared with
 * the reference backend given the same bf16-rounded q, k, v and dOut, by the selftest's metric
 * ({@link Comparison}: error relative to max(|reference|, 1% of the largest |reference|)). The
 * backward is given the reference's out and lse, so it is judged on its own.
 *
 * <p>What is left after the shared rounding is the kernels' own: P (and dS) rounded to bf16 before
 * their products, as in FlashAttention-2, and fp32 summation order. The tolerances sit a few times
 * above what correct kernels show here and far below what a fragment-layout, masking or tiling
 * error gives (order one). Shapes cover a sequence end inside a tile, whole tiles, several query and
 * key tiles, one- and two-token sequences, GQA groups of 1, 2 and 4, several batch rows, and both head dims.
 * Skipped where nvcc is not on the PATH.
 */
class AttentionFa2EmulationTest {
    private static final long SEED = 20261129L;
    /** lse depends on Q.K^T and the mask alone: only fp32 summation order differs. */
    private static final double LSE_TOLERANCE = 1e-5;
    private static final double OUT_TOLERANCE = 0.15;
    private static final double BACKWARD_TOLERANCE = 0.25;
    /** Below this everywhere, a reference tensor is zero up to rounding (and so must the result be). */
    private static final double ZERO = 1e-5;

    @TempDir
    static Path dir;
    private static Path program;

    private record Shape(int batch, int seqLen, int nHeads, int nKvHeads, int headDim) {
        long rows() { return (long) batch * seqLen; }

        long qWidth() { return (long) nHeads * headDim; }

        long kvWidth() { return (long) nKvHeads * headDim; }

        @Override
        public String toString() {
            return "B=" + batch + " S=" + seqLen + " H=" + nHeads + " KV=" + nKvHeads + " hd=" + headDim;
        }
    }

    @BeforeAll
    static void buildEmulator() throws Exception {
        Path nvcc = onPath("nvcc");
        assumeTrue(nvcc != null, "nvcc is not on the PATH; the fa2 kernels are emulated where it is (CI)");
        program = Fa2Emulator.compile(nvcc, dir);
    }

    @Test
    void headDim64WithTheSequenceEndingInsideATile() throws Exception {
        check(new Shape(1, 150, 4, 2, 64), CopyTiming.LATE, ThreadOrder.FORWARD, 1);
    }

    @Test
    void headDim64OnWholeTilesWithOneHeadPerGroup() throws Exception {
        check(new Shape(1, 256, 2, 2, 64), CopyTiming.EARLY, ThreadOrder.REVERSE, 2);
    }

    @Test
    void headDim128OverTwoBatchRows() throws Exception {
        check(new Shape(2, 70, 2, 1, 128), CopyTiming.EARLY, ThreadOrder.REVERSE, 3);
    }

    @Test
    void headDim128WithSeveralKeyTiles() throws Exception {
        check(new Shape(1, 200, 2, 1, 128), CopyTiming.LATE, ThreadOrder.FORWARD, 4);
    }

    @Test
    void headDim64WithAGroupOfFourQueryHeadsOverThreeShortRows() throws Exception {
        check(new Shape(3, 17, 4, 1, 64), CopyTiming.LATE, ThreadOrder.REVERSE, 5);
    }

    @Test
    void oneAndTwoTokenSequences() throws Exception {
        check(new Shape(2, 1, 2, 1, 64), CopyTiming.EARLY, ThreadOrder.FORWARD, 6);
        check(new Shape(1, 2, 1, 1, 128), CopyTiming.LATE, ThreadOrder.FORWARD, 7);
    }

    private void check(Shape s, CopyTiming timing, ThreadOrder threads, long salt) throws Exception {
        var random = new SplittableRandom(SEED + salt);
        String where = s + ", cp.async " + timing + ", threads " + threads + "; seed " + SEED + " + " + salt;
        float[] q = bf16Gaussian(random, s.rows() * s.qWidth()), k = bf16Gaussian(random, s.rows() * s.kvWidth());
        float[] v = bf16Gaussian(random, s.rows() * s.kvWidth()), dOut = bf16Gaussian(random, s.rows() * s.qWidth());

        // The reference: forward, then backward from its own out and lse.
        var ref = new ReferenceBackend();
        Tensor rq = upload(ref, q, s.rows(), s.qWidth()), rk = upload(ref, k, s.rows(), s.kvWidth()), rv = upload(ref, v, s.rows(), s.kvWidth());
        Tensor rOut = ref.zeros(DType.F32, s.rows(), s.qWidth()), rLse = ref.zeros(DType.F32, s.batch(), s.nHeads(), s.seqLen());
        ref.attentionForward(rOut, rLse, rq, rk, rv, s.batch(), s.seqLen(), s.nHeads(), s.nKvHeads(), s.headDim());
        Tensor rdOut = upload(ref, dOut, s.rows(), s.qWidth());
        Tensor rdq = ref.zeros(DType.F32, s.rows(), s.qWidth()), rdk = ref.zeros(DType.F32, s.rows(), s.kvWidth());
        Tensor rdv = ref.zeros(DType.F32, s.rows(), s.kvWidth());
        ref.attentionBackward(rdq, rdk, rdv, rdOut, rq, rk, rv, rOut, rLse, s.batch(), s.seqLen(), s.nHeads(), s.nKvHeads(), s.headDim());
        float[] wantOut = ref.toHost(rOut), wantLse = ref.toHost(rLse);

        // The same calls on the emulated device: outputs poisoned, the backward reading the reference's out and lse.
        var device = new Fa2Emulator();
        var scratch = new AttentionScratch(device::allocate);
        Tensor dq16 = device.input(q, s.rows(), s.qWidth()), dk16 = device.input(k, s.rows(), s.kvWidth());
        Tensor dv16 = device.input(v, s.rows(), s.kvWidth());
        Tensor out = device.poisoned(s.rows(), s.qWidth()), lse = device.poisoned(s.batch(), s.nHeads(), s.seqLen());
        CudaKernels.attentionForward(device, AttentionKernel.FA2, scratch, out, lse, dq16, dk16, dv16,
                s.batch(), s.seqLen(), s.nHeads(), s.nKvHeads(), s.headDim());
        Tensor refOut = device.input(wantOut, s.rows(), s.qWidth()), refLse = device.input(wantLse, s.batch(), s.nHeads(), s.seqLen());
        Tensor gradOut = device.input(dOut, s.rows(), s.qWidth());
        Tensor dq = device.poisoned(s.rows(), s.qWidth()), dk = device.poisoned(s.rows(), s.kvWidth()), dv = device.poisoned(s.rows(), s.kvWidth());
        CudaKernels.attentionBackward(device, AttentionKernel.FA2, scratch, dq, dk, dv, gradOut, dq16, dk16, dv16, refOut, refLse,
                s.batch(), s.seqLen(), s.nHeads(), s.nKvHeads(), s.headDim());
        assertEquals(List.of("attention_fa2_convert_qkv", "attention_fa2_forward_hd" + s.headDim(), "attention_fa2_convert_qkv",
                "attention_fa2_backward_prepare", "attention_fa2_backward_hd" + s.headDim(), "attention_fa2_backward_finish"),
                device.kernels(), where);

        var got = device.run(program, dir, timing, threads);
        assertClose("out", got.floats(out), wantOut, OUT_TOLERANCE, where);
        assertClose("lse", got.floats(lse), wantLse, LSE_TOLERANCE, where);
        assertClose("dq", got.floats(dq), ref.toHost(rdq), BACKWARD_TOLERANCE, where);
        assertClose("dk", got.floats(dk), ref.toHost(rdk), BACKWARD_TOLERANCE, where);
        assertClose("dv", got.floats(dv), ref.toHost(rdv), BACKWARD_TOLERANCE, where);
    }

    private static void assertClose(String what, float[] got, float[] want, double tolerance, String where) {
        double largest = 0;
        for (float w : want) largest = Math.max(largest, Math.abs(w));
        if (largest < ZERO) {
            // dq of a one-token sequence is zero (dS = dP - D = 0): only rounding is left, so judge it absolutely.
            for (int i = 0; i < got.length; i++) {
                assertTrue(Math.abs(got[i]) <= ZERO, what + "[" + i + "] = " + got[i] + " where the reference is zero; " + where);
            }
            return;
        }
        CheckRow row = Comparison.compare(what, where, got, want, tolerance);
        assertTrue(row.passed(), what + ": largest relative error " + row.maxRelError() + " (absolute " + row.maxAbsError()
                + ") over the tolerance " + tolerance + "; " + where);
    }

    /** Gaussian values already rounded to bf16, so the kernels' own rounding of the inputs changes nothing. */
    private static float[] bf16Gaussian(SplittableRandom random, long n) {
        float[] x = new float[Math.toIntExact(n)];
        for (int i = 0; i < x.length; i++) x[i] = Bf16.toFloat(Bf16.fromFloat((float) random.nextGaussian()));
        return x;
    }

    private static Tensor upload(ReferenceBackend b, float[] data, long... shape) {
        Tensor t = b.zeros(DType.F32, shape);
        b.upload(t, data, 0);
        return t;
    }

    private static Path onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String d : path.split(File.pathSeparator)) {
            Path candidate = Path.of(d, name);
            if (Files.isExecutable(candidate)) return candidate;
        }
        return null;
    }
}
