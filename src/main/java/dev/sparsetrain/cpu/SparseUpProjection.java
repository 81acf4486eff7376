package dev.sparsetrain.cpu;

import static dev.sparsetrain.cpu.HeapStorage.f;
import static dev.sparsetrain.cpu.HeapStorage.off;

import dev.sparsetrain.tensor.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GEMM 1 fused with the activation step (SPEC §3.3-3.4): per tile of routed rows, Zᵀ for the
 * expert's neurons × TILE rows from the compressed W1e rows (in a per-thread tile buffer), then per
 * group of 4 neurons relu, the top-2-of-4 selection with vector lanes = rows, and the packing of
 * relu(z) and A = relu(z)² into {@link CpuPackedActivations}. Z is never stored beyond the tile.
 *
 * <p>The selection is {@code sparse.GroupTopTwo}'s rule in lane-parallel form: keys are the raw bits
 * of relu(z) (so NaN ranks highest and is kept), element j beats element i when its key is larger,
 * or equal with j &gt; i, and an element is kept when at most one other beats it.
 */
final class SparseUpProjection {
    private static final VectorSpecies<Float> S = SparseLanes.F;
    private static final int L = SparseLanes.L, TILE = SparseLanes.TILE;

    private SparseUpProjection() {}

    static void run(CpuPackedActivations act, Tensor input, Tensor perm, int[] rowOffsets, CpuPackedWeight w1) {
        int tokens = (int) input.dim(0), d = w1.cols;
        SparseShapes.requireRouting(rowOffsets, perm, tokens, act.experts, act.capacity);
        if (w1.rows != act.neurons) {
            throw new IllegalArgumentException("W1 has " + w1.rows + " rows but the activations have " + act.neurons + " neurons");
        }
        SparseShapes.requireMatrix(input, tokens, d, "input x");
        act.tiles.build(rowOffsets);
        System.arraycopy(HeapStorage.i(perm), HeapStorage.off(perm), act.perm, 0, rowOffsets[act.experts]);
        float[] x = f(input);
        int xo = off(input);
        Parallel.forRange(act.tiles.count, 1, (from, to) -> {
            float[] xt = SparseScratch.floats(SparseScratch.TILE_INPUT, d * TILE);
            float[] z = SparseScratch.floats(SparseScratch.TILE_OUTPUT, act.f * TILE);
            float[] mass = SparseScratch.floats(SparseScratch.STATS, 2 * L);
            long[] bits = new long[4];
            for (int tile = from; tile < to; tile++) tile(act, tile, x, xo, d, w1, xt, z, mass, bits);
        });
    }

    private static void tile(CpuPackedActivations act, int tile, float[] x, int xo, int d, CpuPackedWeight w1,
                             float[] xt, float[] z, float[] mass, long[] bits) {
        int f = act.f, e = act.tiles.expert[tile];
        SparseTileProduct.transposeTile(x, xo, d, act.perm, act.tiles.firstRow[tile], act.tiles.rows[tile], xt);
        java.util.Arrays.fill(mass, 0, 2 * L, 0f);
        long positive = 0, kept = 0;
        SparseTileProduct.neuronsTimesTile(w1, e * f, f, null, 0, xt, d, z);
        for (int g = 0; g < f / 4; g++) {
            int first = 4 * g;
            selectMasks(z, first * TILE, bits);
            for (int i = 0; i < 4; i++) {
                act.bits[tile * f + first + i] = bits[i];
                positive += packNeuron(z, (first + i) * TILE, bits[i], act.relu, act.a, act.slot(tile, first + i), mass);
                kept += Long.bitCount(bits[i]);
            }
        }
        int st = 4 * tile;
        act.tileStats[st] = positive;
        act.tileStats[st + 1] = kept;
        // Scalar sums in lane order, so the statistics do not depend on JIT timing (see VectorMath).
        float keptMass = 0, reluMass = 0;
        for (int j = 0; j < L; j++) {
            keptMass += mass[j];
            reluMass += mass[L + j];
        }
        act.tileStats[st + 2] = keptMass;
        act.tileStats[st + 3] = reluMass;
    }

    /*
     * Why two passes with only arrays in their signatures: a method that hands vectors or masks to a
     * callee the JIT declines to inline (large methods hit its inlining budget) makes it box them,
     * ten times slower. Each pass is small enough to be compiled whole.
     */

    /**
     * The 2:4 step of one group: from the 4 neurons' rows of z (TILE values each, from {@code zOff}),
     * bits[i] = the tile rows where neuron i is kept with relu(z) ≠ 0 (NaN included, so it propagates).
     */
    private static void selectMasks(float[] z, int zOff, long[] bits) {
        long m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        for (int v = 0; v < 4; v++) {
            // Keys: the bits of relu(z) without the sign, ordered as the magnitudes (NaN above +∞).
            IntVector k0 = FloatVector.fromArray(S, z, zOff + v * L).max(0f).reinterpretAsInts().and(0x7fff_ffff);
            IntVector k1 = FloatVector.fromArray(S, z, zOff + TILE + v * L).max(0f).reinterpretAsInts().and(0x7fff_ffff);
            IntVector k2 = FloatVector.fromArray(S, z, zOff + 2 * TILE + v * L).max(0f).reinterpretAsInts().and(0x7fff_ffff);
            IntVector k3 = FloatVector.fromArray(S, z, zOff + 3 * TILE + v * L).max(0f).reinterpretAsInts().and(0x7fff_ffff);
            // bJI: element J beats element I (J > I, ties to the higher index); kept = beaten at most once.
            VectorMask<Integer> b10 = k1.compare(VectorOperators.GE, k0), b20 = k2.compare(VectorOperators.GE, k0);
            VectorMask<Integer> b30 = k3.compare(VectorOperators.GE, k0), b21 = k2.compare(VectorOperators.GE, k1);
            VectorMask<Integer> b31 = k3.compare(VectorOperators.GE, k1), b32 = k3.compare(VectorOperators.GE, k2);
            VectorMask<Integer> a1 = b10.not(), a2 = b20.not(), a3 = b30.not(), c2 = b21.not(), c3 = b31.not(), d3 = b32.not();
            VectorMask<Integer> keep0 = b10.and(b20).or(b10.and(b30)).or(b20.and(b30)).not();
            VectorMask<Integer> keep1 = a1.and(b21).or(a1.and(b31)).or(b21.and(b31)).not();
            VectorMask<Integer> keep2 = a2.and(c2).or(a2.and(b32)).or(c2.and(b32)).not();
            VectorMask<Integer> keep3 = a3.and(c3).or(a3.and(d3)).or(c3.and(d3)).not();
            int shift = v * L;
            m0 |= keep0.and(k0.compare(VectorOperators.NE, 0)).toLong() << shift;
            m1 |= keep1.and(k1.compare(VectorOperators.NE, 0)).toLong() << shift;
            m2 |= keep2.and(k2.compare(VectorOperators.NE, 0)).toLong() << shift;
            m3 |= keep3.and(k3.compare(VectorOperators.NE, 0)).toLong() << shift;
        }
        bits[0] = m0;
        bits[1] = m1;
        bits[2] = m2;
        bits[3] = m3;
    }

    /**
     * Packs one neuron's kept lanes: relu(z) into {@code relu} and relu(z)² into {@code a} from
     * {@code at} on; adds relu(z)² of every lane to {@code mass[0..L)} and of the kept lanes to
     * {@code mass[L..2L)}; returns the count of z &gt; 0.
     */
    private static int packNeuron(float[] z, int zOff, long bits, float[] relu, float[] a, int at, float[] mass) {
        FloatVector total = FloatVector.fromArray(S, mass, 0), keptTotal = FloatVector.fromArray(S, mass, L);
        FloatVector zero = FloatVector.zero(S);
        int positive = 0;
        for (int v = 0; v < 4; v++) {
            FloatVector zv = FloatVector.fromArray(S, z, zOff + v * L), r = zv.max(0f), sq = r.mul(r);
            positive += zv.compare(VectorOperators.GT, 0f).trueCount();
            long laneBits = SparseLanes.laneBits(bits, v);
            VectorMask<Float> kept = VectorMask.fromLong(S, laneBits);
            total = total.add(sq);
            keptTotal = keptTotal.add(zero.blend(sq, kept));
            r.compress(kept).intoArray(relu, at);
            sq.compress(kept).intoArray(a, at);
            at += Long.bitCount(laneBits);
        }
        total.intoArray(mass, 0);
        keptTotal.intoArray(mass, L);
        return positive;
    }
}
