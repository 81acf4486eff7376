package dev.sparsetrain.cpu;

import dev.sparsetrain.tensor.Tensor;

/** Argument checks shared by the CPU kernels, so a wrong shape fails with a message, not an index error. */
final class Shapes {
    private Shapes() {}

    /** Throws unless every tensor holds as many elements as the first. */
    static void requireSameSize(String op, Tensor first, Tensor... others) {
        for (Tensor t : others) {
            if (t.numel() != first.numel()) {
                throw new IllegalArgumentException(op + ": tensors must have equal element counts, got " + first + " and " + t);
            }
        }
    }

    /** Throws unless {@code t} holds exactly {@code expected} elements. */
    static void requireSize(String op, String what, Tensor t, long expected) {
        if (t.numel() != expected) {
            throw new IllegalArgumentException(op + ": " + what + " must hold " + expected + " elements, got " + t);
        }
    }

    /** The number of rows of width {@code width} in {@code t}; throws if the width does not divide it. */
    static int rows(String op, Tensor t, long width) {
        if (width <= 0 || t.numel() % width != 0) {
            throw new IllegalArgumentException(op + ": " + t + " is not a whole number of rows of width " + width);
        }
        return Math.toIntExact(t.numel() / width);
    }
}
