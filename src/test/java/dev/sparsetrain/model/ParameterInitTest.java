package dev.sparsetrain.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ParameterInitTest {
    private final ReferenceBackend b = new ReferenceBackend();
    // Large enough that each matrix's sample std is within a few percent of the target.
    private final ModelConfig config = new ModelConfig(300, 64, 4, 4, 2, 256, FfnKind.SWIGLU, 16, 10000f, 1e-5f, 0.05f);
    private final ParameterLayout layout = ParameterLayout.of(config);

    private float[] init(long seed) {
        Tensor flat = b.zeros(DType.F32, layout.totalElements());
        b.fill(flat, Float.NaN); // every element, gaps included, must be written
        ParameterInit.initialize(b, layout, flat, seed);
        return b.toHost(flat);
    }

    @Test
    void normsAreOnesMatricesHaveTheirStdAndGapsAreZero() {
        long seed = 42;
        float[] p = init(seed);
        double residualStd = config.initStd() / Math.sqrt(2.0 * config.layers());
        boolean[] covered = new boolean[p.length];
        for (ParameterSpec s : layout.parameters()) {
            float[] v = Arrays.copyOfRange(p, (int) s.offset(), (int) (s.offset() + s.numel()));
            Arrays.fill(covered, (int) s.offset(), (int) (s.offset() + s.numel()), true);
            switch (s.role()) {
                case NORM -> {
                    for (float x : v) assertEquals(1f, x, s.name());
                }
                case EMBEDDING, MATRIX -> assertMoments(v, config.initStd(), s.name() + ", seed " + seed);
                case OUTPUT_PROJECTION -> assertMoments(v, residualStd, s.name() + ", seed " + seed);
            }
        }
        for (int j = 0; j < p.length; j++) if (!covered[j]) assertEquals(0f, p[j], "gap element " + j);
    }

    @Test
    void theSeedAloneDeterminesTheWeights() {
        assertArrayEquals(init(7), init(7));
        assertFalse(Arrays.equals(init(7), init(8)));
    }

    @Test
    void eachParameterHasItsOwnStream() {
        // Two matrices of the same shape must not repeat each other's values.
        float[] p = init(3);
        var a = layout.spec("layers.0.wq");
        var c = layout.spec("layers.1.wq");
        assertFalse(Arrays.equals(Arrays.copyOfRange(p, (int) a.offset(), (int) (a.offset() + a.numel())),
                Arrays.copyOfRange(p, (int) c.offset(), (int) (c.offset() + c.numel()))));
    }

    private static void assertMoments(float[] v, double std, String what) {
        double sum = 0, sq = 0;
        for (float x : v) {
            sum += x;
            sq += (double) x * x;
        }
        double mean = sum / v.length, sampleStd = Math.sqrt(sq / v.length - mean * mean);
        // 2048+ samples per matrix: the std's relative standard error is at most 1.6%, the mean's 2.2% of std.
        assertEquals(std, sampleStd, 0.06 * std, what + " std");
        assertEquals(0, mean, 0.08 * std, what + " mean");
    }
}
