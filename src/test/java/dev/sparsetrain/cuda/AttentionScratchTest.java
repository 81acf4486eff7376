package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link AttentionScratch}: buffers that grow, are reused, go back to their owner, and must be aligned. */
class AttentionScratchTest {
    private final List<Long> released = new ArrayList<>();
    private final List<DType> allocatedTypes = new ArrayList<>();
    private long next = 0x10_0000;

    /** Fresh storages at 256-byte-aligned addresses (plus {@code misalign} bytes) whose release is recorded. */
    private Tensor allocate(long misalign, DType dtype, long... shape) {
        long n = shape[0];
        allocatedTypes.add(dtype);
        var storage = new CudaStorage(next + misalign, n, dtype, s -> released.add(s.address()));
        next += (n * dtype.bytes() + 255) / 256 * 256 + 4096;
        return new Tensor(storage, dtype, 0, shape);
    }

    @Test
    void buffersGrowOnlyWhenTooSmallAndGiveTheOldOneBack() {
        var scratch = new AttentionScratch((dtype, shape) -> allocate(0, dtype, shape));
        long first = scratch.queries(1000);
        assertEquals(first, scratch.queries(1000), "same size: same buffer");
        assertEquals(first, scratch.queries(10), "smaller: same buffer");
        assertEquals(List.of(), released);
        long second = scratch.queries(1001);
        assertTrue(second != first, "a larger request gets a new buffer");
        assertEquals(List.of(first), released, "the outgrown buffer goes back to its owner");
        assertEquals(1001 * 2, scratch.bytes(), "1001 bf16");
    }

    @Test
    void eachBufferHasItsOwnTypeAndCloseReleasesThemAll() {
        var scratch = new AttentionScratch((dtype, shape) -> allocate(0, dtype, shape));
        long[] addresses = {scratch.queries(8), scratch.keys(8), scratch.values(8), scratch.dOut(8), scratch.deltas(8), scratch.dqAccumulator(8)};
        assertEquals(List.of(DType.BF16, DType.BF16, DType.BF16, DType.BF16, DType.F32, DType.F32), allocatedTypes);
        assertEquals(4 * 8 * 2 + 2 * 8 * 4, scratch.bytes());
        scratch.close();
        assertEquals(addresses.length, released.size(), "every buffer released: " + released);
        for (long a : addresses) assertTrue(released.contains(a), "released " + Long.toHexString(a));
        assertEquals(0, scratch.bytes());
        scratch.close();
        assertEquals(addresses.length, released.size(), "closing twice releases nothing more");
    }

    @Test
    void aMisalignedAllocationIsRefusedAndGivenBack() {
        var scratch = new AttentionScratch((dtype, shape) -> allocate(4, dtype, shape));
        var e = assertThrows(IllegalStateException.class, () -> scratch.keys(64));
        assertTrue(e.getMessage().contains("bf16 k") && e.getMessage().contains("16-byte aligned"), e.getMessage());
        assertEquals(1, released.size(), "the refused buffer went back to its owner");
        assertThrows(IllegalArgumentException.class, () -> new AttentionScratch((dtype, shape) -> allocate(0, dtype, shape)).deltas(0));
    }
}
