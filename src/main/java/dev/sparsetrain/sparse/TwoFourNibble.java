package dev.sparsetrain.sparse;

/**
 * The 2:4 metadata nibble of one group of 4: {@code i0 | i1 << 2} with {@code i0 < i1}, the column
 * indices of the two stored values. The six valid nibbles are 0x4 0x8 0x9 0xC 0xD 0xE; hardware
 * ({@code mma.sp::ordered_metadata}) gives the others undefined behaviour, so they are never emitted.
 */
public final class TwoFourNibble {
    private TwoFourNibble() {}

    /** Whether {@code nibble} names an ordered pair of distinct indices. */
    public static boolean isValid(int nibble) {
        if ((nibble & ~0xF) != 0) return false;
        return first(nibble) < second(nibble);
    }

    /** The lower index {@code i0}. */
    public static int first(int nibble) {
        return nibble & 3;
    }

    /** The higher index {@code i1}. */
    public static int second(int nibble) {
        return (nibble >> 2) & 3;
    }

    /**
     * The nibble of a 4-bit set of stored positions with at most two bits. Fewer than two are
     * completed with the highest unused indices, so an empty group gives (2,3) = 0xE (what
     * cuSPARSELt writes) and a single position i gives (i,3), or (2,3) when i = 3; the padded slot
     * then stores a zero value.
     *
     * @throws IllegalArgumentException if more than two bits are set
     */
    public static int ofPositions(int positions) {
        if ((positions & ~0xF) != 0 || Integer.bitCount(positions) > 2) {
            throw new IllegalArgumentException("a 2:4 group stores at most 2 of 4 positions, got mask 0b"
                    + Integer.toBinaryString(positions));
        }
        int m = positions;
        for (int j = 3; Integer.bitCount(m) < 2; j--) m |= 1 << j;
        int i0 = Integer.numberOfTrailingZeros(m);
        int i1 = 31 - Integer.numberOfLeadingZeros(m);
        return i0 | i1 << 2;
    }

    /** The 4-bit position mask of a valid nibble (exactly two bits). */
    public static int positions(int nibble) {
        if (!isValid(nibble)) {
            throw new IllegalArgumentException("invalid 2:4 metadata nibble 0x" + Integer.toHexString(nibble)
                    + "; valid ones are 0x4 0x8 0x9 0xC 0xD 0xE");
        }
        return 1 << first(nibble) | 1 << second(nibble);
    }
}
