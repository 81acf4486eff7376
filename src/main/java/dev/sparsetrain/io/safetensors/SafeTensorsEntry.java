package dev.sparsetrain.io.safetensors;

import dev.sparsetrain.tensor.Bf16;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * A named tensor to write: its safetensors type, shape and where its elements come from. The elements are
 * read from the caller's array while the file is written, so a slice of one flat parameter buffer can be
 * written without copying it first.
 */
public final class SafeTensorsEntry {
    /** Puts {@code count} elements starting at element {@code from} into {@code out} (little-endian). */
    @FunctionalInterface
    interface ElementSource {
        void put(ByteBuffer out, int from, int count);
    }

    private final String name;
    private final SafeTensorsDType dtype;
    private final List<Long> shape;
    private final int numel;
    private final ElementSource source;

    private SafeTensorsEntry(String name, SafeTensorsDType dtype, long[] shape, int numel, ElementSource source) {
        this.name = name;
        this.dtype = dtype;
        this.shape = Arrays.stream(shape).boxed().toList();
        this.numel = numel;
        this.source = source;
    }

    /** An F32 tensor holding all of {@code data}, whose length must equal the product of {@code shape}. */
    public static SafeTensorsEntry f32(String name, long[] shape, float[] data) {
        return f32(name, shape, data, requireWhole(name, shape, data.length));
    }

    /** An F32 tensor holding {@code data[offset ..]}, as many elements as {@code shape} has. */
    public static SafeTensorsEntry f32(String name, long[] shape, float[] data, int offset) {
        int n = requireSlice(name, shape, data.length, offset);
        return new SafeTensorsEntry(name, SafeTensorsDType.F32, shape, n, (out, from, count) -> {
            out.asFloatBuffer().put(data, offset + from, count);
            out.position(out.position() + count * Float.BYTES);
        });
    }

    /** A BF16 tensor rounded (to nearest even) from all of {@code data}. */
    public static SafeTensorsEntry bf16(String name, long[] shape, float[] data) {
        return bf16(name, shape, data, requireWhole(name, shape, data.length));
    }

    /** A BF16 tensor rounded (to nearest even) from {@code data[offset ..]}. */
    public static SafeTensorsEntry bf16(String name, long[] shape, float[] data, int offset) {
        int n = requireSlice(name, shape, data.length, offset);
        return new SafeTensorsEntry(name, SafeTensorsDType.BF16, shape, n, (out, from, count) -> {
            for (int i = offset + from, end = i + count; i < end; i++) out.putShort(Bf16.fromFloat(data[i]));
        });
    }

    /** An I32 tensor holding all of {@code data}. */
    public static SafeTensorsEntry i32(String name, long[] shape, int[] data) {
        return i32(name, shape, data, requireWhole(name, shape, data.length));
    }

    /** An I32 tensor holding {@code data[offset ..]}, as many elements as {@code shape} has. */
    public static SafeTensorsEntry i32(String name, long[] shape, int[] data, int offset) {
        int n = requireSlice(name, shape, data.length, offset);
        return new SafeTensorsEntry(name, SafeTensorsDType.I32, shape, n, (out, from, count) -> {
            out.asIntBuffer().put(data, offset + from, count);
            out.position(out.position() + count * Integer.BYTES);
        });
    }

    public String name() { return name; }
    public SafeTensorsDType dtype() { return dtype; }
    public List<Long> shape() { return shape; }
    public int numel() { return numel; }
    public long byteSize() { return (long) numel * dtype.bytes(); }

    void put(ByteBuffer out, int from, int count) { source.put(out, from, count); }

    /** Checks the whole array is the tensor and returns offset 0, so a too-long array is not silently cut. */
    private static int requireWhole(String name, long[] shape, int length) {
        long n = SafeTensorsHeader.numel(shape, name);
        if (n != length) {
            throw new IllegalArgumentException("Tensor '" + name + "' has shape " + Arrays.toString(shape) + " ("
                    + n + " elements) but its array has " + length + " elements");
        }
        return 0;
    }

    private static int requireSlice(String name, long[] shape, int length, int offset) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("A tensor name must not be empty");
        if (name.equals(SafeTensorsHeader.METADATA_KEY)) {
            throw new IllegalArgumentException("'" + name + "' is reserved for the metadata map; rename the tensor");
        }
        long n = SafeTensorsHeader.numel(shape, name);
        if (offset < 0 || offset + n > length) {
            throw new IllegalArgumentException("Tensor '" + name + "' needs elements [" + offset + ", " + (offset + n)
                    + ") but its array has " + length + " elements");
        }
        return (int) n;
    }
}
