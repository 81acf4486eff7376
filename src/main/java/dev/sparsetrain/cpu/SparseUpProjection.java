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
 * GEMM 1 fused with the activation step (SPEC §3.3-3.4): per tile of routed rows and group of 4
 * expert neurons, Zᵀ for the 4 neurons × TILE rows from the compressed W1e rows, then relu, the
 * top-2-of-4 selection with vector lanes = rows, and the packing of relu(z) and A = relu(z)² into
 * {@link CpuPackedActivations}. Z itself is never stored.
 *
 * <p>The selection is {@code sparse.GroupTopTwo}'s rule in lane-parallel form: keys are the raw bits
 * of relu(z) (so NaN ranks highest and is kept), element j beats element i when its key is larger,
 * or equal with j &gt; i, and an element is kept when at most one other beats it.
 */
final class SparseUpProjection {
    private static final VectorSpecies<Float> S = SparseLanes.F;
    private static final VectorSpecies<Integer> SI = SparseLanes.I;
    private static final int L = SparseLanes.L, TILE = SparseLanes.TILE;

    private SparseUpProjection() {}

    static void run(CpuPackedActivations act, Tensor xg, CpuPackedWeight w1, int[] rowOffsets) {
        SparseShapes.requireRowOffsets(rowOffsets, act.experts, act.capacity);
        if (w1.rows != act.neurons) {
            throw new IllegalArgumentException("W1 has " + w1.rows + " rows but the activations have " + act.neurons + " neurons");
        }
        int d = w1.cols;
        SparseShapes.requireMatrix(xg, rowOffsets[act.experts], d, "routed input xg");
        act.tiles.build(rowOffsets);
        float[] x = f(xg);
        int xo = off(xg);
        Parallel.forRange(act.tiles.count, 1, (from, to) -> {
            float[] xt = SparseScratch.floats(SparseScratch.TILE_INPUT, d * TILE);
            float[] z = SparseScratch.floats(SparseScratch.TILE_OUTPUT, 4 * TILE);
            float[] mass = SparseScratch.floats(SparseScratch.STATS, 2 * L);
            for (int tile = from; tile < to; tile++) tile(act, tile, x, xo, d, w1, xt, z, mass);
        });
    }

    private static void tile(CpuPackedActivations act, int tile, float[] x, int xo, int d, CpuPackedWeight w1,
                             float[] xt, float[] z, float[] mass) {
        int f = act.f, e = act.tiles.expert[tile];
        SparseTileProduct.transposeTile(x, xo, d, act.tiles.firstRow[tile], act.tiles.rows[tile], xt);
        java.util.Arrays.fill(mass, 0, 2 * L, 0f);
        long positive = 0, kept = 0;
        for (int g = 0; g < f / 4; g++) {
            for (int i = 0; i < 4; i++) {
                SparseTileProduct.rowTimesTile(w1.values, w1.columns, (e * f + 4 * g + i) * w1.half, w1.half, xt, z, i * TILE);
            }
            int s0 = act.slot(tile, 4 * g), s1 = s0 + TILE, s2 = s1 + TILE, s3 = s2 + TILE;
            long b0 = 0, b1 = 0, b2 = 0, b3 = 0;
            for (int v = 0; v < 4; v++) {
                FloatVector z0 = FloatVector.fromArray(S, z, v * L), z1 = FloatVector.fromArray(S, z, TILE + v * L);
                FloatVector z2 = FloatVector.fromArray(S, z, 2 * TILE + v * L), z3 = FloatVector.fromArray(S, z, 3 * TILE + v * L);
                positive += z0.compare(VectorOperators.GT, 0f).trueCount() + z1.compare(VectorOperators.GT, 0f).trueCount()
                        + z2.compare(VectorOperators.GT, 0f).trueCount() + z3.compare(VectorOperators.GT, 0f).trueCount();
                FloatVector r0 = z0.max(0f), r1 = z1.max(0f), r2 = z2.max(0f), r3 = z3.max(0f);
                IntVector k0 = key(r0), k1 = key(r1), k2 = key(r2), k3 = key(r3);
                // bJI: element J beats element I (J > I, ties to the higher index).
                VectorMask<Integer> b10 = k1.compare(VectorOperators.GE, k0), b20 = k2.compare(VectorOperators.GE, k0);
                VectorMask<Integer> b30 = k3.compare(VectorOperators.GE, k0), b21 = k2.compare(VectorOperators.GE, k1);
                VectorMask<Integer> b31 = k3.compare(VectorOperators.GE, k1), b32 = k3.compare(VectorOperators.GE, k2);
                VectorMask<Float> n0 = nonZeroKept(atMostOne(b10, b20, b30), r0);
                VectorMask<Float> n1 = nonZeroKept(atMostOne(b10.not(), b21, b31), r1);
                VectorMask<Float> n2 = nonZeroKept(atMostOne(b20.not(), b21.not(), b32), r2);
                VectorMask<Float> n3 = nonZeroKept(atMostOne(b30.not(), b31.not(), b32.not()), r3);
                accumulateMass(mass, r0, n0);
                accumulateMass(mass, r1, n1);
                accumulateMass(mass, r2, n2);
                accumulateMass(mass, r3, n3);
                s0 += pack(act, r0, n0, s0);
                s1 += pack(act, r1, n1, s1);
                s2 += pack(act, r2, n2, s2);
                s3 += pack(act, r3, n3, s3);
                b0 |= n0.toLong() << (v * L);
                b1 |= n1.toLong() << (v * L);
                b2 |= n2.toLong() << (v * L);
                b3 |= n3.toLong() << (v * L);
            }
            int bits = tile * f + 4 * g;
            act.bits[bits] = b0;
            act.bits[bits + 1] = b1;
            act.bits[bits + 2] = b2;
            act.bits[bits + 3] = b3;
            kept += Long.bitCount(b0) + Long.bitCount(b1) + Long.bitCount(b2) + Long.bitCount(b3);
        }
        int st = 4 * tile;
        act.tileStats[st] = positive;
        act.tileStats[st + 1] = kept;
        act.tileStats[st + 2] = FloatVector.fromArray(S, mass, 0).reduceLanes(VectorOperators.ADD);
        act.tileStats[st + 3] = FloatVector.fromArray(S, mass, L).reduceLanes(VectorOperators.ADD);
    }

    /** The ranking key: the bits of relu(z) without the sign, ordered as the magnitudes (NaN above +∞). */
    private static IntVector key(FloatVector relu) {
        return relu.reinterpretAsInts().and(0x7fff_ffff);
    }

    /** Kept when at most one of the three others beats it. */
    private static VectorMask<Integer> atMostOne(VectorMask<Integer> a, VectorMask<Integer> b, VectorMask<Integer> c) {
        return a.and(b).or(a.and(c)).or(b.and(c)).not();
    }

    /** Kept and relu(z) ≠ 0 (NaN included, so it propagates): the entries the packed form stores. */
    private static VectorMask<Float> nonZeroKept(VectorMask<Integer> keep, FloatVector relu) {
        return keep.cast(S).and(relu.compare(VectorOperators.NE, 0f));
    }

    /** mass[0..L) += relu², mass[L..2L) += relu² where kept. */
    private static void accumulateMass(float[] mass, FloatVector relu, VectorMask<Float> kept) {
        FloatVector sq = relu.mul(relu);
        FloatVector.fromArray(S, mass, 0).add(sq).intoArray(mass, 0);
        FloatVector.fromArray(S, mass, L).add(sq, kept).intoArray(mass, L);
    }

    /** Appends the kept lanes' relu and relu² at {@code at}; returns how many. */
    private static int pack(CpuPackedActivations act, FloatVector relu, VectorMask<Float> kept, int at) {
        relu.compress(kept).intoArray(act.relu, at);
        relu.mul(relu).compress(kept).intoArray(act.a, at);
        return kept.trueCount();
    }
}
