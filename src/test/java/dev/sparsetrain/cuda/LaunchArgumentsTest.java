package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** Launch arguments are packed as the driver reads them, without a GPU. */
class LaunchArgumentsTest {

    @Test
    void eachArgumentLandsInItsSlotWithItsWidthAndThePointersAddressTheSlots() {
        try (Arena arena = Arena.ofConfined()) {
            var args = new LaunchArguments(arena);
            long devicePointer = 0x7f12_3456_7800L;
            MemorySegment pointers = args.pack("k", devicePointer, 42, 1.5f, -3, Long.MIN_VALUE);
            MemorySegment values = args.values();
            assertEquals(devicePointer, values.get(JAVA_LONG, 0));
            assertEquals(42, values.get(JAVA_INT, 8));
            assertEquals(1.5f, values.get(JAVA_FLOAT, 16));
            assertEquals(-3, values.get(JAVA_INT, 24));
            assertEquals(Long.MIN_VALUE, values.get(JAVA_LONG, 32));
            for (int i = 0; i < 5; i++) {
                assertEquals(values.address() + 8L * i, pointers.getAtIndex(ADDRESS, i).address(), "pointer " + i);
            }
        }
    }

    @Test
    void theSegmentsAreReusedAcrossLaunches() {
        try (Arena arena = Arena.ofConfined()) {
            var args = new LaunchArguments(arena);
            MemorySegment first = args.pack("a", 1L, 2);
            MemorySegment second = args.pack("b", 7, 8L);
            assertEquals(first.address(), second.address());
            assertEquals(7, args.values().get(JAVA_INT, 0));
            assertEquals(8L, args.values().get(JAVA_LONG, 8));
        }
    }

    @Test
    void unsupportedTypesAndTooManyArgumentsAreRejectedWithTheKernelName() {
        try (Arena arena = Arena.ofConfined()) {
            var args = new LaunchArguments(arena);
            var wrongType = assertThrows(IllegalArgumentException.class, () -> args.pack("rmsnorm", 1L, 2.0));
            assertTrue(wrongType.getMessage().contains("rmsnorm: argument 1 is a Double"), wrongType.getMessage());
            assertThrows(IllegalArgumentException.class, () -> args.pack("rmsnorm", 1L, null));
            Object[] many = new Object[LaunchArguments.MAX_ARGUMENTS + 1];
            java.util.Arrays.fill(many, 1);
            assertThrows(IllegalArgumentException.class, () -> args.pack("rmsnorm", many));
        }
    }

    @Test
    void aLaunchIsCheckedAgainstTheKernelsParameterSizes() {
        long[] kernel = {8, 8, 4, 4};
        assertTrue(LaunchArguments.matches(kernel, 1L, 2L, 3, 4f));
        assertFalse(LaunchArguments.matches(kernel, 1L, 2L, 3));
        assertFalse(LaunchArguments.matches(kernel, 1L, 2, 3, 4f));
        assertTrue(LaunchArguments.matches(new long[0]));
        String tooFew = LaunchArguments.mismatch("k", kernel, 1L, 2L, 3);
        assertTrue(tooFew.contains("kernel k takes 4 parameters of byte sizes [8, 8, 4, 4] but the launch passed 3 of sizes [8, 8, 4]"), tooFew);
    }
}
