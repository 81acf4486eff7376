package dev.sparsetrain.cuda.selftest;

import static dev.sparsetrain.cuda.selftest.OpCheck.shape;
import static dev.sparsetrain.cuda.selftest.OpSuite.TOLERANCE;

import java.util.List;

/** Memory ops, elementwise ops and the sum of squares, on odd lengths so partial blocks are exercised. */
final class ElementwiseChecks {
    /** Not a multiple of any block size. */
    static final int N = 100_003;
    /** Enough elements for every reduction block to see several grid-stride iterations. */
    static final int REDUCTION_N = (1 << 20) + 7;

    private ElementwiseChecks() {}

    static List<OpCheck.Named> all() {
        return List.of(
                new OpCheck.Named("upload/download", (t, out) -> {
                    var x = t.gaussian(N);
                    out.accept(t.compare("upload/download", shape(N), x, TOLERANCE));
                }),
                new OpCheck.Named("fill", (t, out) -> {
                    var x = t.poisoned(N);
                    t.run((b, s) -> b.fill(s.of(x), 0.375f));
                    out.accept(t.compare("fill", shape(N), x, TOLERANCE));
                }),
                new OpCheck.Named("copy", (t, out) -> {
                    var src = t.gaussian(N);
                    var dst = t.poisoned(N);
                    t.run((b, s) -> b.copy(s.of(dst), s.of(src)));
                    out.accept(t.compare("copy", shape(N), dst, TOLERANCE));
                }),
                new OpCheck.Named("scale", (t, out) -> {
                    var x = t.gaussian(N);
                    t.run((b, s) -> b.scale(s.of(x), -1.7f));
                    out.accept(t.compare("scale", shape(N), x, TOLERANCE));
                }),
                new OpCheck.Named("add", (t, out) -> {
                    var a = t.gaussian(N);
                    var b2 = t.gaussian(N);
                    var sum = t.poisoned(N);
                    t.run((b, s) -> b.add(s.of(sum), s.of(a), s.of(b2)));
                    out.accept(t.compare("add", shape(N), sum, TOLERANCE));
                }),
                new OpCheck.Named("add in place", (t, out) -> {
                    var a = t.gaussian(N);
                    var b2 = t.gaussian(N);
                    t.run((b, s) -> b.add(s.of(a), s.of(a), s.of(b2)));
                    out.accept(t.compare("add (out = a)", shape(N), a, TOLERANCE));
                }),
                new OpCheck.Named("sumSquares", (t, out) -> {
                    var x = t.gaussian(REDUCTION_N);
                    double[] r = t.evaluate((b, s) -> b.sumSquares(s.of(x)));
                    out.accept(Comparison.compareScalar("sumSquares", shape(REDUCTION_N), r[0], r[1], TOLERANCE));
                }));
    }
}
