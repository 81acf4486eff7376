package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backend keeps the GEMM precision it was opened with and says it in {@link CudaBackend#describe()}
 * (the selftest header), against {@link MockCuda}'s libraries. The bf16 GEMM itself needs a GPU: the
 * mock cuBLASLt multiplies fp32 only, and its one kernel is not the conversion.
 */
class CudaBackendPrecisionBf16Test {
    @TempDir
    static Path libraries;
    private static MockCuda mock;

    @TempDir
    Path cache;

    @BeforeAll
    static void buildMocks() throws IOException, InterruptedException {
        assumeTrue(MockCuda.buildable(), "needs cc on the PATH and " + MockCuda.CUDA_INCLUDE + "/cuda.h");
        mock = MockCuda.build(libraries);
    }

    @Test
    void theOpeningPrecisionIsKeptAndDescribed() {
        for (GemmPrecision precision : GemmPrecision.values()) {
            try (CudaBackend b = CudaBackend.open(0, mock.searchPath(), new KernelCache(cache), Map::of, precision)) {
                assertEquals(precision, b.gemmPrecision());
                String d = b.describe();
                assertTrue(d.endsWith("; GEMM precision " + precision.label()), d);
            }
        }
    }
}
