package dev.sparsetrain.cpu;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.VectorSpecies;

/**
 * Micro-kernels by vector species. The selected species uses {@link MatmulKernel} as compiled;
 * any other gets a hidden class defined from MatmulKernel's own bytecode with the species as class
 * data, so each width has its own static-constant species and its own JIT-compiled vector code
 * (see MatmulKernel's note on why the species must be a constant). Tests use this to run the
 * 128-, 256- and 512-bit kernels on any host.
 */
final class MatmulKernels {
    private static final MatmulMicroKernel SELECTED = new MatmulKernel();
    private static final Map<VectorSpecies<Float>, MatmulMicroKernel> COPIES = new ConcurrentHashMap<>();

    private MatmulKernels() {}

    /** The kernel for species {@code s}; copies are defined once and kept. */
    static MatmulMicroKernel forSpecies(VectorSpecies<Float> s) {
        if (s.equals(SELECTED.species())) return SELECTED;
        return COPIES.computeIfAbsent(s, MatmulKernels::defineCopy);
    }

    private static MatmulMicroKernel defineCopy(VectorSpecies<Float> s) {
        try (InputStream in = MatmulKernel.class.getResourceAsStream("MatmulKernel.class")) {
            if (in == null) throw new IllegalStateException("MatmulKernel.class is not readable as a resource");
            Class<?> copy = MethodHandles.lookup().defineHiddenClassWithClassData(in.readAllBytes(), s, true).lookupClass();
            return (MatmulMicroKernel) copy.getDeclaredConstructor().newInstance();
        } catch (IOException | ReflectiveOperationException e) {
            throw new IllegalStateException("cannot define the " + s.vectorBitSize() + "-bit GEMM kernel", e);
        }
    }
}
