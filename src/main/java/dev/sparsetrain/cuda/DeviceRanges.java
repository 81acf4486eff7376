package dev.sparsetrain.cuda;

/**
 * Argument checks of kernel wrappers that take raw device pointers: every buffer non-null, aligned as
 * its kernel reads it, and no two overlapping (an output over an input would corrupt it mid-kernel).
 * A wrong pointer must fail here with a message, never as a device fault.
 */
final class DeviceRanges {
    /** One buffer of a launch: its name in messages, address, size and the alignment the kernel needs. */
    record Range(String name, long address, long bytes, long alignment) {}

    private DeviceRanges() {}

    /** Throws IllegalArgumentException naming {@code op} and the buffer when a range is null, misaligned or overlaps another. */
    static void requireDistinct(String op, Range... ranges) {
        for (Range r : ranges) {
            if (r.address() == 0) throw new IllegalArgumentException(op + ": " + r.name() + " is a null device pointer");
            if (r.address() % r.alignment() != 0) {
                throw new IllegalArgumentException(op + ": " + r.name() + " at 0x" + Long.toHexString(r.address()) + " is not " + r.alignment()
                        + "-byte aligned, as the kernel reads it (allocate it separately or at an aligned offset)");
            }
        }
        for (int i = 0; i < ranges.length; i++) {
            for (int j = i + 1; j < ranges.length; j++) {
                Range a = ranges[i], b = ranges[j];
                if (a.address() < b.address() + b.bytes() && b.address() < a.address() + a.bytes()) {
                    throw new IllegalArgumentException(op + ": " + a.name() + " [0x" + Long.toHexString(a.address()) + ", +" + a.bytes()
                            + ") overlaps " + b.name() + " [0x" + Long.toHexString(b.address()) + ", +" + b.bytes()
                            + "); they must be separate buffers");
                }
            }
        }
    }
}
