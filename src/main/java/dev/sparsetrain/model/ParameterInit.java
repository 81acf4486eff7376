package dev.sparsetrain.model;

import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Deterministic initialisation of a flat parameter buffer from a seed, generated on the host and
 * uploaded, so every backend starts from bit-identical weights.
 *
 * <p>Each parameter draws from its own stream, split off the seed's root stream in layout order, and
 * is uploaded in slices so the host never holds more than {@link #SLICE} floats (a 7B model's
 * embedding alone is 2 GB).
 */
public final class ParameterInit {
    private static final int SLICE = 1 << 20;

    private ParameterInit() {}

    /**
     * Overwrites {@code params} (laid out by {@code layout}): norms 1; embedding and matrices
     * normal(0, initStd); output projections (wo, w2) normal(0, initStd/sqrt(2·layers)); gaps 0.
     * initStd and layers come from the layout's config.
     */
    public static void initialize(Backend backend, ParameterLayout layout, Tensor params, long seed) {
        if (params.numel() != layout.totalElements()) {
            throw new IllegalArgumentException("parameter buffer has " + params.numel() + " elements, layout needs " + layout.totalElements());
        }
        backend.fill(params, 0);
        var root = new SplittableRandom(seed);
        float[] slice = new float[(int) Math.min(SLICE, maxNumel(layout))];
        double initStd = layout.config().initStd();
        double residualStd = initStd / Math.sqrt(2.0 * layout.config().layers());
        for (ParameterSpec p : layout.parameters()) {
            SplittableRandom rng = root.split();
            Tensor flat = params.view(p.offset(), p.numel());
            switch (p.role()) {
                case NORM -> backend.fill(flat, 1f);
                case EMBEDDING, MATRIX -> fillNormal(backend, flat, rng, initStd, slice);
                case OUTPUT_PROJECTION -> fillNormal(backend, flat, rng, residualStd, slice);
            }
        }
    }

    private static void fillNormal(Backend backend, Tensor flat, SplittableRandom rng, double std, float[] slice) {
        long n = flat.numel();
        for (long start = 0; start < n; start += slice.length) {
            int len = (int) Math.min(slice.length, n - start);
            for (int j = 0; j < len; j++) slice[j] = (float) (rng.nextGaussian() * std);
            backend.upload(flat.view(start, len), slice, 0);
        }
    }

    private static long maxNumel(ParameterLayout layout) {
        return layout.parameters().stream().mapToLong(ParameterSpec::numel).max().orElse(1);
    }
}
