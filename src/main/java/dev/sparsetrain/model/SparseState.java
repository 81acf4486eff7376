package dev.sparsetrain.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What a checkpoint must record about the sparse FFN beyond the weights, so a run resumes exactly
 * across and inside the sparse phase (the saved weights, gradients and moments are already in the
 * permuted neuron order).
 *
 * @param phase      which FFN the model runs
 * @param mvueSeed   base seed of the MVUE draws
 * @param mvueCalls  backward calls that have drawn from it
 * @param layers     per layer, empty in the dense warmup
 */
public record SparseState(Phase phase, long mvueSeed, long mvueCalls, List<Layer> layers) {

    /** The schedule of SPEC §2. */
    public enum Phase {
        /** Before the sparse phase: the dense squared-ReLU FFN on the original neuron order. */
        DENSE_WARMUP,
        /** The sparse FFN. */
        SPARSE,
        /** After the sparse phase: the dense FFN again, on the permuted neurons. */
        DENSE_FINISH
    }

    /**
     * One layer: {@code permutation[p]} is the original index of the neuron now stored at position p
     * (the composition of every re-clustering), the frozen scales, and the centres [E·d] of its
     * latest sparse forward (informative: they are recomputed from W1 every step).
     */
    public record Layer(int[] permutation, float beta1, float beta2, float[] centres) {
        public Layer {
            permutation = permutation.clone();
            centres = centres.clone();
        }

        @Override public int[] permutation() { return permutation.clone(); }
        @Override public float[] centres() { return centres.clone(); }

        @Override
        public boolean equals(Object o) {
            return o instanceof Layer l && Arrays.equals(permutation, l.permutation) && Float.compare(beta1, l.beta1) == 0
                    && Float.compare(beta2, l.beta2) == 0 && Arrays.equals(centres, l.centres);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * Arrays.hashCode(permutation) + Float.hashCode(beta1) * 7 + Float.hashCode(beta2)) + Arrays.hashCode(centres);
        }

        @Override
        public String toString() {
            return "Layer[" + permutation.length + " neurons, β1=" + beta1 + ", β2=" + beta2 + "]";
        }
    }

    public SparseState {
        layers = List.copyOf(layers);
    }

    /** The state before the sparse phase. */
    public static SparseState denseWarmup() { return new SparseState(Phase.DENSE_WARMUP, 0, 0, List.of()); }

    /** {@code {"phase": "sparse", "mvue_seed": .., "mvue_calls": .., "layers": [{"permutation": [..], "beta1": .., "beta2": .., "centres": [..]}]}}. */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("phase", phase.name().toLowerCase(Locale.ROOT));
        o.addProperty("mvue_seed", mvueSeed);
        o.addProperty("mvue_calls", mvueCalls);
        JsonArray ls = new JsonArray();
        for (Layer l : layers) {
            JsonObject j = new JsonObject();
            JsonArray p = new JsonArray();
            for (int v : l.permutation) p.add(v);
            j.add("permutation", p);
            j.addProperty("beta1", l.beta1);
            j.addProperty("beta2", l.beta2);
            JsonArray c = new JsonArray();
            for (float v : l.centres) c.add(v);
            j.add("centres", c);
            ls.add(j);
        }
        o.add("layers", ls);
        return o;
    }

    /** Reads {@link #toJson}'s form; a malformed document throws IllegalArgumentException naming the field. */
    public static SparseState fromJson(JsonElement json) {
        try {
            JsonObject o = json.getAsJsonObject();
            Phase phase = Phase.valueOf(o.get("phase").getAsString().toUpperCase(Locale.ROOT));
            List<Layer> layers = new ArrayList<>();
            for (JsonElement e : o.getAsJsonArray("layers")) {
                JsonObject j = e.getAsJsonObject();
                JsonArray p = j.getAsJsonArray("permutation"), c = j.getAsJsonArray("centres");
                int[] perm = new int[p.size()];
                for (int i = 0; i < perm.length; i++) perm[i] = p.get(i).getAsInt();
                float[] centres = new float[c.size()];
                for (int i = 0; i < centres.length; i++) centres[i] = c.get(i).getAsFloat();
                layers.add(new Layer(perm, j.get("beta1").getAsFloat(), j.get("beta2").getAsFloat(), centres));
            }
            return new SparseState(phase, o.get("mvue_seed").getAsLong(), o.get("mvue_calls").getAsLong(), layers);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("malformed sparse FFN state " + abbreviate(json) + ": " + e.getMessage()
                    + " (expected phase, mvue_seed, mvue_calls and layers[{permutation, beta1, beta2, centres}])", e);
        }
    }

    private static String abbreviate(JsonElement json) {
        String s = String.valueOf(json);
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
