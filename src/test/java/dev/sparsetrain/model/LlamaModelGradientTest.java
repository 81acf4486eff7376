package dev.sparsetrain.model;

import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.cpu.ReferenceBackend;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The whole model's backward against finite differences of the mean loss, for every parameter tensor,
 * for both FFNs, with grouped-query and multi-head attention, and with some targets ignored.
 */
class LlamaModelGradientTest {

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of(FfnKind.RELU2, 1), Arguments.of(FfnKind.RELU2, 2),
                Arguments.of(FfnKind.SWIGLU, 1), Arguments.of(FfnKind.SWIGLU, 2));
    }

    @ParameterizedTest(name = "{0} kvHeads={1}")
    @MethodSource("variants")
    void everyParameterGradientMatchesFiniteDifferences(FfnKind ffn, int kvHeads) {
        long seed = 0x6AD1E47L + 10L * ffn.ordinal() + kvHeads;
        var rng = new SplittableRandom(seed);
        var b = new ReferenceBackend();
        try (var model = new LlamaModel(b, TinyModels.config(ffn, kvHeads, 0.3f), TinyModels.ROWS).initialize(seed)) {
            int n = TinyModels.ROWS * TinyModels.SEQ_LEN;
            int[] tokens = TinyModels.randomTokens(rng, n, TinyModels.VOCAB);
            int[] targets = TinyModels.randomTokens(rng, n, TinyModels.VOCAB);
            targets[3] = -1;
            targets[n - 1] = -100;
            model.trainStep(tokens, targets, 1f);
            DoubleSupplier loss = () -> model.evaluate(tokens, targets);
            for (ParameterSpec p : model.layout().parameters()) {
                for (int trial = 0; trial < 2; trial++) {
                    GradientCheck.check(b, model.layout().view(model.parameters(), p.name()),
                            model.layout().view(model.gradients(), p.name()), loss, rng,
                            ffn + " kvHeads " + kvHeads + " " + p.name() + ", trial " + trial + ", seed " + seed);
                }
            }
        }
    }
}
