package dev.sparsetrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparsetrain.config.ConfigLoader;
import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.config.ModelConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The MFU denominator: 6N + 12·L·H·hd·S with N the non-embedding parameters. */
class BenchStepFlopsTest {

    @Test
    void countsSixNPlusTheAttentionTerm() {
        var m = new ModelConfig(256, 32, 2, 4, 2, 128, FfnKind.RELU2, 16, 10000f, 1e-5f, 0.02f);
        // per layer: 2 norms (2·32) + wq, wo (2·32²) + wk, wv (2·32·16) + w1, w2 (2·32·128); then the final norm
        long nonEmbedding = 2L * (2 * 32 + 2 * 32 * 32 + 2 * 32 * 16 + 2 * 32 * 128) + 32;
        long attention = 12L * 2 * 4 * 8 * 16;
        ModelFlops f = ModelFlops.of(m);
        assertEquals(nonEmbedding, f.nonEmbeddingParams());
        assertEquals(attention, f.attentionFlopsPerToken());
        assertEquals(6.0 * nonEmbedding + attention, f.perToken());
    }

    @Test
    void reproducesThePyTorchBaselineMfuOfTargets() {
        // TARGETS.md: PyTorch compiled dense 1b step, 91.6k tokens/s = 46.6% MFU of an H200's 989 TFLOP/s
        var m = ConfigLoader.load("1b", null, List.of()).model();
        double mfu = 91.6e3 * ModelFlops.of(m).perToken() / 989e12;
        assertEquals(0.466, mfu, 0.0005, "MFU " + mfu);
    }
}
