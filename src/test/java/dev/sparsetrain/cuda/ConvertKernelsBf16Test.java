package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** {@link ConvertKernels}' launches against the parameter list convert.cu declares, without a GPU. */
class ConvertKernelsBf16Test {
    private static final String KERNEL = "convert_f32_to_bf16", BACK = "convert_bf16_to_f32";
    private static final long OUT = 0x7e00_0000_0000L, IN = 0x7f00_0000_0004L;

    private final RecordingLauncher l = new RecordingLauncher();

    private static KernelSignatures.Kernel declared(String name) {
        var kernels = KernelSignatures.parse("convert.cu", KernelSignatures.text("convert.cu"));
        assertEquals(List.of(KERNEL, BACK), kernels.stream().map(KernelSignatures.Kernel::name).toList(),
                "convert.cu must declare exactly the kernels ConvertKernels launches");
        return kernels.stream().filter(k -> k.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void launchPassesOutputInputAndCountInDeclaredOrderWithBoundedGridStrideGrid() {
        var kernel = declared(KERNEL);
        for (long n : new long[] {1, 3, 1023, 1024, 1025, 7_000_001, 3L << 31}) {
            l.launches.clear();
            ConvertKernels.toBf16(l, OUT, IN, n);
            var launch = l.only();
            assertEquals(KERNEL, launch.kernel());
            assertEquals(List.of("out", "in", "n"), kernel.params().stream().map(KernelSignatures.Param::name).toList());
            assertEquals(List.of(OUT, IN, n), launch.args(), "n=" + n);
            for (int i = 0; i < kernel.params().size(); i++) {
                assertEquals(kernel.params().get(i).javaType(), launch.args().get(i).getClass(), "parameter " + kernel.params().get(i));
            }
            assertEquals(kernel.maxThreads(), launch.blockX(), "blocks use exactly the launch bound, n=" + n);
            assertEquals(ConvertKernels.THREADS, launch.blockX());
            assertTrue(launch.gridX() >= 1 && launch.gridX() <= 8192, "bounded grid, n=" + n + ": " + launch);
            assertTrue(launch.gridY() == 1 && launch.gridZ() == 1 && launch.blockY() == 1 && launch.sharedBytes() == 0, launch.toString());
            // Grid-stride: any grid is correct, but a small input should not launch more blocks than it has quads.
            assertTrue((long) (launch.gridX() - 1) * launch.blockX() * 4 < n, "idle blocks for n=" + n + ": " + launch);
        }
    }

    @Test
    void theWayBackPassesOutputInputAndCountWithOneElementPerThreadStep() {
        var kernel = declared(BACK);
        for (long n : new long[] {1, 255, 256, 257, 3L << 31}) {
            l.launches.clear();
            ConvertKernels.toF32(l, OUT, IN, n);
            var launch = l.only();
            assertEquals(BACK, launch.kernel());
            assertEquals(List.of(OUT, IN, n), launch.args(), "n=" + n);
            for (int i = 0; i < kernel.params().size(); i++) {
                assertEquals(kernel.params().get(i).javaType(), launch.args().get(i).getClass(), "parameter " + kernel.params().get(i));
            }
            assertEquals(kernel.maxThreads(), launch.blockX());
            assertTrue(launch.gridX() >= 1 && launch.gridX() <= 8192, "bounded grid, n=" + n + ": " + launch);
            assertTrue((long) (launch.gridX() - 1) * launch.blockX() < n, "idle blocks for n=" + n + ": " + launch);
        }
    }

    @Test
    void zeroElementsLaunchNothingAndNegativeCountsAreRejected() {
        ConvertKernels.toBf16(l, OUT, IN, 0);
        ConvertKernels.toF32(l, OUT, IN, 0);
        assertEquals(List.of(), l.launches);
        var e = assertThrows(IllegalArgumentException.class, () -> ConvertKernels.toBf16(l, OUT, IN, -1));
        assertTrue(e.getMessage().contains("negative"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ConvertKernels.toF32(l, OUT, IN, -1));
        assertTrue(e.getMessage().contains("negative"), e.getMessage());
    }

    @Test
    void kernelNameIsNotDeclaredByAnyOtherSource() {
        // Modules are searched in turn for a kernel name, so a second declaration could shadow this one.
        Set<String> others = KernelSignatures.all().stream().map(KernelSignatures.Kernel::name).collect(Collectors.toSet());
        assertFalse(others.contains(KERNEL), KERNEL + " is also declared in one of " + CudaKernels.SOURCES);
        assertFalse(others.contains(BACK), BACK + " is also declared in one of " + CudaKernels.SOURCES);
    }
}
