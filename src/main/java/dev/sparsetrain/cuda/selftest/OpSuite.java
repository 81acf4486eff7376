package dev.sparsetrain.cuda.selftest;

import dev.sparsetrain.tensor.Backend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Every {@link Backend} op on a candidate backend against a reference backend, on fresh random data
 * (never zeros) with NaN-poisoned outputs: one {@link CheckRow} per output tensor or returned value.
 * An op that throws becomes a failed row and the suite goes on, so one broken kernel does not hide
 * the state of the others.
 */
public final class OpSuite {
    /** Relative tolerance of fp32 results (see {@link Comparison} for how it is measured). */
    public static final double TOLERANCE = 1e-4;

    private OpSuite() {}

    /** All checks, in the order the table prints them. */
    static List<OpCheck.Named> checks() {
        List<OpCheck.Named> all = new ArrayList<>();
        all.addAll(ElementwiseChecks.all());
        all.addAll(MatmulChecks.all());
        all.addAll(LayerChecks.all());
        all.addAll(LossChecks.all());
        all.addAll(SparseChecks.all());
        return all;
    }

    /** Runs every check; each gets its own random stream derived from {@code seed} and its name. */
    public static void run(Backend candidate, Backend reference, long seed, Consumer<CheckRow> out) {
        for (OpCheck.Named check : checks()) {
            var random = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * check.name().hashCode()));
            try (Twins twins = new Twins(candidate, reference, random)) {
                check.check().run(twins, out);
            } catch (RuntimeException e) {
                out.accept(CheckRow.failed(check.name(), "", e));
            }
        }
    }
}
