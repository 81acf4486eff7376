package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The {@code void* kernelParams[]} of cuLaunchKernel, packed into two segments allocated once and
 * reused for every launch: a values segment of 8-byte slots and a fixed array of pointers to those
 * slots. The driver copies the values when the launch is queued, so the next launch may overwrite them.
 *
 * <p>Argument types follow {@link KernelLauncher}: {@code Long} for device pointers and 64-bit
 * integers (8 bytes), {@code Integer} for int and {@code Float} for float (4 bytes each).
 */
final class LaunchArguments {
    /** More than any kernel of ours takes; attention backward has about twenty. */
    static final int MAX_ARGUMENTS = 64;
    private static final long SLOT_BYTES = 8;

    private final MemorySegment values;
    private final MemorySegment pointers;

    LaunchArguments(Arena arena) {
        values = arena.allocate(MAX_ARGUMENTS * SLOT_BYTES, SLOT_BYTES);
        pointers = arena.allocate(ADDRESS, MAX_ARGUMENTS);
        for (int i = 0; i < MAX_ARGUMENTS; i++) pointers.setAtIndex(ADDRESS, i, values.asSlice(i * SLOT_BYTES, SLOT_BYTES));
    }

    /** Writes {@code args} into the slots and returns the pointer array to hand to cuLaunchKernel. */
    MemorySegment pack(String kernel, Object... args) {
        if (args.length > MAX_ARGUMENTS) {
            throw new IllegalArgumentException("kernel " + kernel + ": " + args.length + " arguments, at most " + MAX_ARGUMENTS);
        }
        for (int i = 0; i < args.length; i++) {
            long at = i * SLOT_BYTES;
            switch (args[i]) {
                case Long l -> values.set(JAVA_LONG, at, l);
                case Integer n -> values.set(JAVA_INT, at, n);
                case Float f -> values.set(JAVA_FLOAT, at, f);
                case null -> throw new IllegalArgumentException("kernel " + kernel + ": argument " + i + " is null");
                default -> throw new IllegalArgumentException("kernel " + kernel + ": argument " + i + " is a "
                        + args[i].getClass().getSimpleName() + "; pass Long (device pointers, 64-bit integers), Integer or Float");
            }
        }
        return pointers;
    }

    /** The slots, for tests: argument i sits at byte {@code 8·i}. */
    MemorySegment values() { return values; }

    /** Bytes argument {@code arg} occupies in the kernel's parameter list. */
    static int sizeOf(Object arg) {
        return arg instanceof Long ? 8 : 4;
    }

    /** Whether the arguments have exactly the kernel's parameter count and byte sizes (no allocation: runs per launch). */
    static boolean matches(long[] parameterSizes, Object... args) {
        if (parameterSizes.length != args.length) return false;
        for (int i = 0; i < args.length; i++) if (parameterSizes[i] != sizeOf(args[i])) return false;
        return true;
    }

    /**
     * What differs between a launch's arguments and the kernel's parameter sizes as the driver reports
     * them. A wrong count or width would otherwise read garbage on the device.
     */
    static String mismatch(String kernel, long[] parameterSizes, Object... args) {
        long[] passed = Arrays.stream(args).mapToLong(LaunchArguments::sizeOf).toArray();
        return "kernel " + kernel + " takes " + parameterSizes.length + " parameters of byte sizes " + Arrays.toString(parameterSizes)
                + " but the launch passed " + args.length + " of sizes " + Arrays.toString(passed)
                + ": the Java launch and the .cu signature disagree";
    }
}
