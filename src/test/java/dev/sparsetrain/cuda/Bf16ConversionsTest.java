package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When {@link Bf16Conversions} reuses a bf16 copy and when it converts again, on the mock driver
 * (memory only; the conversions are recorded launches): a copy is reused for the same source and
 * length until it is forgotten or a write overlaps its source, and the other operand of a GEMM is
 * never evicted to make room.
 */
class Bf16ConversionsTest {
    private static final long X = 0x1000_0000L, W1 = 0x2000_0000L, W2 = 0x3000_0000L;

    @TempDir
    static Path libraries;
    private static MockCuda mock;

    private CudaContext context;
    private final RecordingLauncher launcher = new RecordingLauncher();
    private Bf16Conversions conversions;

    @BeforeAll
    static void buildMocks() throws IOException, InterruptedException {
        assumeTrue(MockCuda.buildable(), "needs cc on the PATH and " + MockCuda.CUDA_INCLUDE + "/cuda.h");
        mock = MockCuda.build(libraries);
    }

    @BeforeEach
    void open() {
        context = CudaContext.open(Driver.load(mock.searchPath()), 0);
        conversions = new Bf16Conversions(context, launcher);
    }

    @AfterEach
    void close() {
        conversions.close();
        context.close();
    }

    @Test
    void theSameSourceAndLengthIsConvertedOnceUntilForgotten() {
        long x1 = conversions.of(X, 1000, 0);
        conversions.of(W1, 500, x1);
        long x2 = conversions.of(X, 1000, 0);
        conversions.of(W2, 500, x2);
        assertEquals(x1, x2, "x shared by two GEMMs");
        assertEquals(3, launcher.launches.size(), "x once, each weight once");
        conversions.of(X, 999, 0);
        assertEquals(4, launcher.launches.size(), "another length is another operand");
        conversions.forgetAll();
        conversions.of(X, 1000, 0);
        assertEquals(5, launcher.launches.size(), "nothing survives forgetAll");
        assertEquals(1, conversions.reused());
        assertEquals(5, conversions.converted());
    }

    @Test
    void aWriteOverlappingTheSourceDropsOnlyThatCopy() {
        conversions.of(X, 1000, 0);
        conversions.of(W1, 1000, 0);
        conversions.forgetOverlapping(X + 4 * 999, 4);
        conversions.of(W1, 1000, 0);
        assertEquals(2, launcher.launches.size(), "W1 untouched by a write to x's last element");
        conversions.of(X, 1000, 0);
        assertEquals(3, launcher.launches.size(), "x's copy was dropped");
        conversions.forgetOverlapping(X + 4 * 1000, 64);
        conversions.forgetOverlapping(X - 64, 64);
        conversions.of(X, 1000, 0);
        assertEquals(3, launcher.launches.size(), "writes just outside the source keep the copy");
    }

    @Test
    void theLeastRecentlyUsedSlotGoesButNeverTheOtherOperand() {
        long first = conversions.of(X, 100, 0);
        for (int i = 1; i < Bf16Conversions.SLOTS; i++) conversions.of(X + 0x100_0000L * i, 100, 0);
        // All slots hold copies; x is the oldest, but it is this GEMM's other operand.
        long b = conversions.of(W1, 100, first);
        assertNotEquals(first, b);
        int before = launcher.launches.size();
        assertEquals(first, conversions.of(X, 100, 0), "x kept its slot");
        assertEquals(before, launcher.launches.size());
    }
}
