package dev.sparsetrain.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shapes of the CPU sparse kernels. Activations are handled in tiles of {@link #TILE}
 * routed rows = four vectors of lanes, so one tile's keep pattern per neuron is a single long.
 *
 * <p>Why the species are static constants: the JIT emits vector instructions only for species it
 * knows at compile time. The CPU's preferred width is used, capped at 512 bits so a tile stays
 * within 64 rows.
 */
final class SparseLanes {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() > 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    /** Lanes per vector. */
    static final int L = F.length();
    /** Routed rows per tile: four vectors. */
    static final int TILE = 4 * L;
    private static final long LANE_BITS = (1L << L) - 1;

    private SparseLanes() {}

    /** The bits of the lanes of vector {@code v} (0..3) of a tile's pattern, shifted down to bit 0. */
    static long laneBits(long tileBits, int v) {
        return (tileBits >>> (v * L)) & LANE_BITS;
    }
}
