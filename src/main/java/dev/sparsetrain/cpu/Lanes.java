package dev.sparsetrain.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** Horizontal reductions of float vectors that the kernels finish in double. */
final class Lanes {
    private Lanes() {}

    /**
     * Σ lanes in double: the two halves widen exactly to double vectors, so the sum adds no float
     * rounding, and it is several times faster than reading the lanes one by one.
     */
    static double sumInDouble(FloatVector v) {
        var low = (DoubleVector) v.convertShape(VectorOperators.F2D, DoubleVector.SPECIES_PREFERRED, 0);
        var high = (DoubleVector) v.convertShape(VectorOperators.F2D, DoubleVector.SPECIES_PREFERRED, 1);
        return low.add(high).reduceLanes(VectorOperators.ADD);
    }
}
