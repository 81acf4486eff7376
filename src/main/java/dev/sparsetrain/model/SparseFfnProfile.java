package dev.sparsetrain.model;

import java.util.EnumMap;
import java.util.Map;

/**
 * Wall-clock time of each part of {@link SparseFfn}, for benchmarks: attached with
 * {@link SparseFfn#profile}, it makes the FFN synchronise the backend after every part and add the
 * elapsed time to that part. Leave it detached in training: the synchronisations cost time on a GPU.
 */
public final class SparseFfnProfile {
    /** The parts of a sparse FFN forward and backward. */
    public enum Part {
        /** S-STE prune and pack of W1 and W2. */
        PRUNE,
        /** Centres, scores, host-side assignment, permutation upload. */
        ROUTER,
        /** GEMM 1 with the fused gather into expert order and relu² → top-2-of-4 → pack. */
        GEMM1_PACK,
        /** GEMM 2 with the fused scatter back to token order. */
        GEMM2,
        /** GEMM 3 with the masked dZ = dA ⊙ 2relu(Z). */
        GEMM3_DZ,
        /** GEMM 4 with the fused scatter back to token order. */
        GEMM4,
        GEMM5,
        GEMM6,
        /** The optional MVUE of the weight-gradient operands. */
        MVUE
    }

    private final EnumMap<Part, Long> nanos = new EnumMap<>(Part.class);

    void add(Part part, long elapsedNanos) { nanos.merge(part, elapsedNanos, Long::sum); }

    /** Accumulated milliseconds per part (parts never timed are absent). */
    public Map<Part, Double> millis() {
        EnumMap<Part, Double> out = new EnumMap<>(Part.class);
        nanos.forEach((p, n) -> out.put(p, n / 1e6));
        return out;
    }

    /** Forgets all times. */
    public void reset() { nanos.clear(); }
}
