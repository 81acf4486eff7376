package dev.sparsetrain.sparse;

import java.util.stream.IntStream;

/**
 * The 4×4 keep patterns that are 2:4 along both rows and columns, so a matrix pruned with them is
 * 2:4 and so is its transpose (the dgrad GEMM's sparse operand). There are exactly 90.
 */
public final class TransposableMasks {
    private TransposableMasks() {}

    /**
     * All such patterns in increasing order, each a 16-bit mask with bit {@code 4·row + col} set when
     * (row, col) is kept.
     */
    public static int[] all() {
        return IntStream.range(0, 1 << 16).filter(TransposableMasks::twoPerRowAndColumn).toArray();
    }

    /** Whether a 16-bit 4×4 mask keeps exactly 2 per row and 2 per column. */
    public static boolean twoPerRowAndColumn(int mask) {
        for (int i = 0; i < 4; i++) {
            if (Integer.bitCount(mask >> (4 * i) & 0xF) != 2) return false;
            if (Integer.bitCount(mask & (0x1111 << i)) != 2) return false;
        }
        return true;
    }
}
