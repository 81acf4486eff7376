package dev.sparsetrain.cuda.selftest;

import java.util.function.Consumer;

/** One op's comparison on fresh random data: runs it on both sides of {@link Twins} and reports rows. */
@FunctionalInterface
interface OpCheck {
    void run(Twins twins, Consumer<CheckRow> out);

    /** A check under the name its failure is reported with when it throws. */
    record Named(String name, OpCheck check) {}

    /** "[67,129]" for a shape. */
    static String shape(long... dims) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) sb.append(i == 0 ? "" : ",").append(dims[i]);
        return sb.append(']').toString();
    }
}
