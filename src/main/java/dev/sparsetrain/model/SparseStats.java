package dev.sparsetrain.model;

/**
 * Statistics of the sparse FFN over its latest forward of every layer, averaged over the layers
 * (SPEC §3), for the training log.
 *
 * @param densityAfterRelu2    fraction of the T×F (token, neuron) pairs with relu(z)² &gt; 0; neurons outside a
 *                             token's expert are not computed and count as zero
 * @param densityAfterTwoFour  fraction of the T×F pairs kept non-zero by the 2:4 step; at most 2/M
 * @param droppedMassFraction  Σ relu² dropped by the 2:4 step / Σ relu² of the computed neurons
 * @param removedWeightMagnitude fraction of Σ|W| the soft-threshold removes (1 − Σ|S(W)|/Σ|W|), W1 and W2 averaged
 * @param routerLoad           fraction of the tokens routed to each expert
 */
public record SparseStats(double densityAfterRelu2, double densityAfterTwoFour, double droppedMassFraction,
                          double removedWeightMagnitude, double[] routerLoad) {
    public SparseStats {
        routerLoad = routerLoad.clone();
    }

    @Override
    public double[] routerLoad() { return routerLoad.clone(); }
}
