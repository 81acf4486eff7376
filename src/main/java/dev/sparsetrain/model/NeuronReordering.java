package dev.sparsetrain.model;

import dev.sparsetrain.sparse.NeuronPermutation;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;

/**
 * Applies a neuron permutation to one layer of any flat buffer with the parameter layout
 * (parameters, gradients, AdamW moments): rows of {@code w1} [F,d] and columns of {@code w2} [d,F]
 * move together, which leaves the FFN's function unchanged. Runs on the host (download, permute,
 * upload): it happens once per (re-)clustering.
 */
final class NeuronReordering {
    private NeuronReordering() {}

    static void apply(Backend b, ParameterLayout layout, int layer, NeuronPermutation p, Tensor flat) {
        int d = layout.config().dim();
        Tensor w1 = layout.view(flat, ParameterLayout.layerName(layer, "w1"));
        Tensor w2 = layout.view(flat, ParameterLayout.layerName(layer, "w2"));
        float[] w1Host = b.toHost(w1), w1Moved = new float[w1Host.length];
        p.permuteRows(w1Host, d, w1Moved);
        b.upload(w1, w1Moved, 0);
        float[] w2Host = b.toHost(w2), w2Moved = new float[w2Host.length];
        p.permuteColumns(w2Host, d, w2Moved);
        b.upload(w2, w2Moved, 0);
    }
}
