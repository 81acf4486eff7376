package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.sparsetrain.sparse.ActivationTopK;
import dev.sparsetrain.sparse.CusparseLtLayout;
import dev.sparsetrain.sparse.SoftThreshold;
import dev.sparsetrain.sparse.TwoFourNibble;
import dev.sparsetrain.tensor.Bf16;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The buffers the sparse FFN kernels must write, built from the Java oracles ({@link SoftThreshold},
 * {@link ActivationTopK}, {@link CusparseLtLayout}), and inputs that exercise their tie rules (test
 * support for the host-emulation and GPU tests of {@link SparseFfnKernels}).
 */
final class SparseOracles {
    private SparseOracles() {}

    // ---- inputs -------------------------------------------------------------------------------------

    /** Weights with many ties and zeros (a quarter of the groups from a coarse grid), tiny subnormals, and SPEC §5's vectors first. */
    static float[] weights(SplittableRandom rng, int n) {
        float[] coarse = {-2f, -1f, -0.5f, -0f, 0f, 0.5f, 1f, 2f};
        float[] w = new float[n];
        for (int base = 0; base < n; base += 4) {
            int kind = rng.nextInt(8);
            for (int i = 0; i < 4; i++) {
                w[base + i] = kind < 2 ? coarse[rng.nextInt(coarse.length)]
                        : kind == 2 ? (float) rng.nextGaussian() * 1e-39f
                        : (float) rng.nextGaussian() * 0.05f;
            }
        }
        float[][] vectors = {{1, -3, 0.5f, 2}, {0.1f, 0.2f, 0.3f, 0.4f}, {-4, 1, 1, 2}, {2, 2, 2, 2}, {0, 0, 5, -1}};
        for (int v = 0; v < vectors.length; v++) System.arraycopy(vectors[v], 0, w, 4 * v, 4);
        return w;
    }

    /**
     * bf16-exact pre-activations [rows, f]: mostly Gaussian, with whole groups negative, groups of one
     * positive value, groups of equal values and groups with zeros, the cases where the tie rule decides;
     * the first groups hold -0, subnormals (whose squares underflow to 0) and large values.
     */
    static float[] activations(SplittableRandom rng, int rows, int f) {
        float[] z = new float[rows * f];
        for (int base = 0; base < z.length; base += 4) {
            int kind = rng.nextInt(6);
            float shared = (float) rng.nextGaussian();
            int positive = rng.nextInt(4);
            for (int i = 0; i < 4; i++) {
                float g = (float) rng.nextGaussian();
                z[base + i] = switch (kind) {
                    case 0 -> -Math.abs(g);
                    case 1 -> i == positive ? Math.abs(g) : -Math.abs(g);
                    case 2 -> shared;
                    case 3 -> rng.nextBoolean() ? 0f : g;
                    default -> g;
                };
            }
        }
        float tiny = Bf16.toFloat((short) 1);
        float[][] special = {{-0f, tiny, -tiny, 0f}, {tiny, -0f, tiny, 1e19f}, {-1e19f, 3f, -0f, 3f}, {tiny, -0f, -1f, tiny}};
        for (int v = 0; v < special.length && 4 * v + 4 <= z.length; v++) System.arraycopy(special[v], 0, z, 4 * v, 4);
        for (int i = 0; i < z.length; i++) z[i] = Bf16.toFloat(Bf16.fromFloat(z[i]));
        return z;
    }

    static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        }
        return t;
    }

    /** bf16 of a logical [P, f] matrix, row-major or expert-major (expert e's block [f, P_e] at offsets[e]·f). */
    static short[] routedLayout(float[] m, int[] offsets, int experts, int f, boolean expertMajor) {
        short[] out = new short[m.length];
        for (int e = 0; e < experts; e++) {
            int first = offsets[e], pe = offsets[e + 1] - first;
            for (int r = first; r < first + pe; r++) {
                for (int n = 0; n < f; n++) {
                    out[expertMajor ? first * f + n * pe + (r - first) : r * f + n] = Bf16.fromFloat(m[r * f + n]);
                }
            }
        }
        return out;
    }

    // ---- expected outputs ---------------------------------------------------------------------------

    /** What the prune kernel must write for E [rows, cols]: β·S(E), S(E) at scale 1 and the keep masks. */
    record Pruned(float[] effective, float[] unscaled, byte[] masks) {
        static Pruned of(float[] e, int rows, int cols, float beta) {
            float[] out = new float[e.length], unscaled = new float[e.length];
            byte[] masks = new byte[e.length / 4];
            SoftThreshold.apply(e, rows, cols, beta, out, masks);
            SoftThreshold.apply(e, rows, cols, 1f, unscaled);
            return new Pruned(out, unscaled, masks);
        }

        /** The packed buffer of rows [row0, row0 + m). */
        byte[] packedBlock(int row0, int m, int k) {
            byte[] nibbles = new byte[m * k / 4];
            for (int r = 0; r < m; r++) {
                for (int g = 0; g < k / 4; g++) nibbles[r * k / 4 + g] = (byte) TwoFourNibble.ofPositions(masks[(row0 + r) * k / 4 + g]);
            }
            return pack(Arrays.copyOfRange(effective, row0 * k, (row0 + m) * k), nibbles, m, k);
        }
    }

    /** What the activation kernel must write for z [P, f]: A, the keep masks, their nibbles and relu(z) of each kept pair. */
    record Activated(float[] a, byte[] masks, byte[] nibbles, short[] keptRelu) {
        static Activated of(float[] z, int rows, int f) {
            float[] a = new float[rows * f];
            byte[] masks = new byte[rows * f / 4], nibbles = new byte[masks.length];
            ActivationTopK.apply(z, rows, f, a, masks);
            short[] kept = new short[rows * f / 2];
            for (int i = 0; i < masks.length; i++) {
                nibbles[i] = (byte) TwoFourNibble.ofPositions(masks[i]);
                kept[2 * i] = Bf16.fromFloat(Math.max(z[4 * i + TwoFourNibble.first(nibbles[i])], 0f));
                kept[2 * i + 1] = Bf16.fromFloat(Math.max(z[4 * i + TwoFourNibble.second(nibbles[i])], 0f));
            }
            return new Activated(a, masks, nibbles, kept);
        }

        boolean kept(int i) { return (masks[i / 4] & (1 << (i % 4))) != 0; }

        /** dZ = dA·2·relu(z) on the kept pattern, as ReferenceSparseKernels.activationGradient computes it. */
        float[] gradient(float[] dA, float[] z) {
            float[] dz = new float[dA.length];
            for (int i = 0; i < dz.length; i++) {
                if (kept(i)) dz[i] = (float) ((double) dA[i] * 2 * Math.max(z[i], 0f));
            }
            return dz;
        }
    }

    /** Expert e's packed P_e×f buffer of the kept values of {@code dense} (bf16) at offsets[e]·f·9/8, for every expert. */
    static byte[] packedExperts(float[] dense, byte[] nibbles, int[] offsets, int experts, int f) {
        byte[] out = new byte[offsets[experts] * f / 8 * 9];
        for (int e = 0; e < experts; e++) {
            int first = offsets[e], pe = offsets[e + 1] - first;
            if (pe == 0) continue;
            byte[] buffer = pack(Arrays.copyOfRange(dense, first * f, (first + pe) * f),
                    Arrays.copyOfRange(nibbles, first * f / 4, (first + pe) * f / 4), pe, f);
            System.arraycopy(buffer, 0, out, first * f / 8 * 9, buffer.length);
        }
        return out;
    }

    /** The packed m×k buffer of the values of {@code dense} (rounded to bf16) at the pairs {@code nibbles} name. */
    static byte[] pack(float[] dense, byte[] nibbles, int m, int k) {
        short[] values = new short[m * k / 2];
        for (int r = 0; r < m; r++) {
            for (int g = 0; g < k / 4; g++) {
                int nibble = nibbles[r * k / 4 + g];
                values[r * k / 2 + 2 * g] = Bf16.fromFloat(dense[r * k + 4 * g + TwoFourNibble.first(nibble)]);
                values[r * k / 2 + 2 * g + 1] = Bf16.fromFloat(dense[r * k + 4 * g + TwoFourNibble.second(nibble)]);
            }
        }
        return CusparseLtLayout.pack(values, nibbles, m, k);
    }

    // ---- bytes --------------------------------------------------------------------------------------

    /** Little-endian bytes of 16-bit values. */
    static byte[] bytes(short[] values) {
        ByteBuffer b = ByteBuffer.allocate(2 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : values) b.putShort(s);
        return b.array();
    }

    /** Little-endian bytes of floats (raw bits). */
    static byte[] bytes(float[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : values) b.putFloat(f);
        return b.array();
    }

    /** Little-endian bytes of ints. */
    static byte[] bytes(int[] values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i : values) b.putInt(i);
        return b.array();
    }

    /** Floats of little-endian bytes (raw bits); the length must be a multiple of 4. */
    static float[] floats(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[bytes.length / 4];
        for (int i = 0; i < out.length; i++) out[i] = b.getFloat();
        return out;
    }

    /** Byte-for-byte equality, reporting the first difference. */
    static void assertBytes(byte[] expected, byte[] actual, String what) {
        assertEquals(expected.length, actual.length, "length of " + what);
        int i = Arrays.mismatch(expected, actual);
        if (i >= 0) {
            throw new AssertionError(what + ": first difference at byte " + i + " of " + expected.length + ": expected 0x"
                    + Integer.toHexString(expected[i] & 0xFF) + ", got 0x" + Integer.toHexString(actual[i] & 0xFF));
        }
    }
}
