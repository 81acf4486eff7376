package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.cuda.selftest.CheckRow;
import dev.sparsetrain.cuda.selftest.ModelCheck;
import dev.sparsetrain.cuda.selftest.OpSuite;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The CUDA backend on a real GPU (excluded from CI; run with -Dgroups=gpu on a GPU machine). */
@Tag("gpu")
class CudaBackendGpuTest {
    private static final long SEED = 4242L;
    private static CudaBackend cuda;

    @BeforeAll
    static void open() { cuda = CudaBackend.open(0); }

    @AfterAll
    static void close() { cuda.close(); }

    @Test
    void describesTheDeviceAndLibraries() {
        String d = cuda.describe();
        assertTrue(d.startsWith("cuda:0: "), d);
        assertTrue(d.contains("NVRTC") && d.contains("cuBLASLt"), d);
    }

    @Test
    void viewsRoundTripThroughTheDevice() {
        var random = new SplittableRandom(SEED);
        float[] values = new float[1001];
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian();
        Tensor t = cuda.zeros(DType.F32, 2000);
        Tensor view = t.view(999, 1001);
        cuda.upload(view, values, 0);
        assertArrayEquals(values, cuda.toHost(view), "seed " + SEED);
        float[] head = cuda.toHost(t.view(0, 999));
        for (float h : head) assertEquals(0f, h, "zeros() must clear the buffer; seed " + SEED);
        ((CudaStorage) t.storage()).close();
    }

    @Test
    void closingAStorageReturnsItsMemory() {
        long before = cuda.allocatedBytes();
        Tensor t = cuda.zeros(DType.F32, 1 << 20);
        assertEquals(before + (4L << 20), cuda.allocatedBytes());
        ((CudaStorage) t.storage()).close();
        ((CudaStorage) t.storage()).close();
        assertEquals(before, cuda.allocatedBytes());
    }

    @Test
    void outOfMemoryNamesTheSettingsToLower() {
        var e = assertThrows(CudaOutOfMemoryException.class, () -> cuda.zeros(DType.F32, 1L << 48));
        assertTrue(e.getMessage().contains("train.batch_size") && e.getMessage().contains("model.seq_len"), e.getMessage());
    }

    @Test
    void everyOpAgreesWithTheCpuBackend() {
        List<CheckRow> rows = new ArrayList<>();
        try (var cpu = new CpuBackend()) {
            OpSuite.run(cuda, cpu, SEED, rows::add);
            ModelCheck.run(cuda, cpu, SEED, ModelCheck.STEPS, rows::add);
        }
        for (CheckRow r : rows) assertTrue(r.passed(), "seed " + SEED + ": " + r);
    }
}
