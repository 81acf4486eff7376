package dev.sparsetrain.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float vector species the CPU GEMM runs with: the CPU's preferred one, or the width named by
 * {@code -Dsparsetrain.vectorBits=128|256|512} (environment SPARSETRAIN_VECTOR_BITS). A narrower
 * width is useful to compare kernels or to mimic an AVX2 machine; a wider one than the hardware has
 * would run the Vector API's scalar fallback, hundreds of times slower, so it is refused.
 */
public final class MatmulSpecies {
    /** Chosen once: the kernels read it as a constant, which the JIT needs to emit vector code. */
    public static final VectorSpecies<Float> SELECTED = resolve(
            System.getProperty("sparsetrain.vectorBits", System.getenv("SPARSETRAIN_VECTOR_BITS")));

    private MatmulSpecies() {}

    /** The species of {@code bits} bits (128, 256 or 512), whatever this CPU supports. */
    static VectorSpecies<Float> forBits(int bits) {
        return switch (bits) {
            case 128 -> FloatVector.SPECIES_128;
            case 256 -> FloatVector.SPECIES_256;
            case 512 -> FloatVector.SPECIES_512;
            default -> throw new IllegalArgumentException(
                    "sparsetrain.vectorBits must be 128, 256 or 512, got " + bits);
        };
    }

    static VectorSpecies<Float> resolve(String bitsText) {
        if (bitsText == null || bitsText.isBlank()) return FloatVector.SPECIES_PREFERRED;
        int bits;
        try {
            bits = Integer.parseInt(bitsText.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("sparsetrain.vectorBits must be 128, 256 or 512, got '" + bitsText + "'", e);
        }
        int widest = VectorShape.preferredShape().vectorBitSize();
        if (bits > widest) {
            throw new IllegalArgumentException("sparsetrain.vectorBits=" + bits + " is wider than this CPU's "
                    + widest + "-bit vectors; use " + widest + " or less, or leave it unset");
        }
        return forBits(bits);
    }
}
