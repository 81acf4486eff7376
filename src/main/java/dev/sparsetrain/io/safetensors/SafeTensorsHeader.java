package dev.sparsetrain.io.safetensors;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The JSON header of a safetensors file: encoding it the way the reference implementation does
 * ({@code __metadata__} first, then the tensors in data order, compact JSON, spaces up to a multiple of
 * 8 bytes) and parsing and validating one read from disk.
 */
record SafeTensorsHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
    static final String METADATA_KEY = "__metadata__";
    /** The reference implementation refuses larger headers; a bigger length means a corrupt or foreign file. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    /** Header and data start are aligned so a reader can map the data and view it as any element type. */
    static final int ALIGNMENT = 8;
    /** Where Gson's parse errors say the problem is: "What went wrong at line L column C path ...". */
    private static final Pattern GSON_POSITION = Pattern.compile("^(.*?) at line (\\d+) column (\\d+)", Pattern.DOTALL);

    SafeTensorsHeader {
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** The padded UTF-8 header for {@code entries} laid out back to back in order, without the length prefix. */
    static byte[] encode(List<SafeTensorsEntry> entries, Map<String, String> metadata) {
        var json = new StringWriter();
        try (var w = new JsonWriter(json)) {
            w.beginObject();
            if (!metadata.isEmpty()) {
                w.name(METADATA_KEY).beginObject();
                for (var e : metadata.entrySet()) w.name(e.getKey()).value(e.getValue());
                w.endObject();
            }
            long offset = 0;
            for (SafeTensorsEntry entry : entries) {
                w.name(entry.name()).beginObject();
                w.name("dtype").value(entry.dtype().name());
                w.name("shape").beginArray();
                for (long d : entry.shape()) w.value(d);
                w.endArray();
                w.name("data_offsets").beginArray().value(offset).value(offset + entry.byteSize()).endArray();
                w.endObject();
                offset += entry.byteSize();
            }
            w.endObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing JSON to a StringWriter cannot fail", e);
        }
        byte[] raw = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (raw.length + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        byte[] out = Arrays.copyOf(raw, padded);
        Arrays.fill(out, raw.length, padded, (byte) ' ');
        return out;
    }

    /** Parses and validates {@code header} against a data section of {@code dataSize} bytes. */
    static SafeTensorsHeader parse(Path file, byte[] header, long dataSize) throws SafeTensorsFormatException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(header)).toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsFormatException(file, "the header is not valid UTF-8");
        }
        var tensors = new LinkedHashMap<String, TensorInfo>();
        var metadata = new LinkedHashMap<String, String>();
        boolean sawMetadata = false;
        try (var r = new JsonReader(new StringReader(text))) {
            r.setStrictness(Strictness.STRICT);
            expect(file, r, JsonToken.BEGIN_OBJECT, "the header");
            r.beginObject();
            while (r.hasNext()) {
                String name = r.nextName();
                if (tensors.containsKey(name) || (name.equals(METADATA_KEY) && sawMetadata)) {
                    throw new SafeTensorsFormatException(file, "the header names '" + name + "' twice");
                }
                if (name.equals(METADATA_KEY)) {
                    readMetadata(file, r, metadata);
                    sawMetadata = true;
                } else {
                    tensors.put(name, readTensor(file, r, name));
                }
            }
            r.endObject();
            requireEnd(file, r);
        } catch (SafeTensorsFormatException e) {
            throw e;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw new SafeTensorsFormatException(file, "the header is not valid JSON (" + jsonProblem(e) + ")");
        }
        checkLayout(file, tensors.values(), dataSize);
        return new SafeTensorsHeader(tensors, metadata);
    }

    /** Only spaces may follow the JSON object (they pad the header to a multiple of 8 bytes). */
    private static void requireEnd(Path file, JsonReader r) throws SafeTensorsFormatException {
        boolean end;
        try {
            end = r.peek() == JsonToken.END_DOCUMENT;
        } catch (IOException e) {
            end = false;
        }
        if (!end) throw new SafeTensorsFormatException(file, "the header has content after its JSON object");
    }

    /**
     * Gson's messages end with advice for Gson users (relax strictness, a troubleshooting link) that
     * would mislead ours; keep what is wrong and where.
     */
    private static String jsonProblem(Exception e) {
        String m = String.valueOf(e.getMessage());
        Matcher pos = GSON_POSITION.matcher(m);
        if (!pos.find()) return m;
        String what = pos.group(1).startsWith("Use JsonReader") ? "malformed JSON" : pos.group(1);
        return what + " at line " + pos.group(2) + " column " + pos.group(3);
    }

    static long numel(long[] shape, String name) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("Tensor '" + name + "' has a negative dimension in shape "
                        + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private static void readMetadata(Path file, JsonReader r, Map<String, String> metadata) throws IOException {
        expect(file, r, JsonToken.BEGIN_OBJECT, "'" + METADATA_KEY + "'");
        r.beginObject();
        while (r.hasNext()) {
            String key = r.nextName();
            expect(file, r, JsonToken.STRING, "metadata value '" + key + "'");
            metadata.put(key, r.nextString());
        }
        r.endObject();
    }

    private static TensorInfo readTensor(Path file, JsonReader r, String name) throws IOException {
        String what = "tensor '" + name + "'";
        expect(file, r, JsonToken.BEGIN_OBJECT, what);
        String dtype = null;
        List<Long> shape = null;
        List<Long> offsets = null;
        r.beginObject();
        while (r.hasNext()) {
            switch (r.nextName()) {
                case "dtype" -> {
                    expect(file, r, JsonToken.STRING, "the dtype of " + what);
                    dtype = r.nextString();
                }
                case "shape" -> shape = readLongs(file, r, "the shape of " + what);
                case "data_offsets" -> offsets = readLongs(file, r, "the data_offsets of " + what);
                default -> r.skipValue();
            }
        }
        r.endObject();
        if (dtype == null || shape == null || offsets == null) {
            throw new SafeTensorsFormatException(file, what + " lacks one of dtype, shape, data_offsets");
        }
        SafeTensorsDType type = dtypeOf(file, dtype, what);
        if (offsets.size() != 2) {
            throw new SafeTensorsFormatException(file, "the data_offsets of " + what + " must be [begin, end], got "
                    + offsets);
        }
        long begin = offsets.get(0);
        long end = offsets.get(1);
        if (begin > end) {
            throw new SafeTensorsFormatException(file, what + " has data_offsets " + offsets + " that end before they begin");
        }
        long expected;
        try {
            expected = Math.multiplyExact(numel(shape.stream().mapToLong(Long::longValue).toArray(), name), type.bytes());
        } catch (ArithmeticException e) {
            throw new SafeTensorsFormatException(file, what + " has shape " + shape + " whose size overflows");
        }
        if (end - begin != expected) {
            throw new SafeTensorsFormatException(file, what + " has shape " + shape + " of " + type + " (" + expected
                    + " bytes) but data_offsets " + offsets + " span " + (end - begin) + " bytes");
        }
        return new TensorInfo(name, type, shape, begin, end);
    }

    private static SafeTensorsDType dtypeOf(Path file, String dtype, String what) throws SafeTensorsFormatException {
        try {
            return SafeTensorsDType.valueOf(dtype);
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsFormatException(file, what + " has unknown dtype '" + dtype + "' (known: "
                    + Arrays.toString(SafeTensorsDType.values()) + ")");
        }
    }

    private static List<Long> readLongs(Path file, JsonReader r, String what) throws IOException {
        expect(file, r, JsonToken.BEGIN_ARRAY, what);
        var values = new ArrayList<Long>();
        r.beginArray();
        while (r.hasNext()) {
            expect(file, r, JsonToken.NUMBER, "each element of " + what);
            long v = r.nextLong();
            if (v < 0) throw new SafeTensorsFormatException(file, what + " contains the negative number " + v);
            values.add(v);
        }
        r.endArray();
        return values;
    }

    private static void expect(Path file, JsonReader r, JsonToken token, String what) throws IOException {
        JsonToken actual = r.peek();
        if (actual != token) {
            throw new SafeTensorsFormatException(file, what + " must be a JSON " + describe(token) + ", found "
                    + describe(actual));
        }
    }

    private static String describe(JsonToken token) {
        return switch (token) {
            case BEGIN_OBJECT -> "object";
            case BEGIN_ARRAY -> "array";
            case STRING -> "string";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case NULL -> "null";
            default -> token.name();
        };
    }

    /** Every tensor must lie inside the data section and no two may share a byte. */
    private static void checkLayout(Path file, Iterable<TensorInfo> tensors, long dataSize)
            throws SafeTensorsFormatException {
        var sorted = new ArrayList<TensorInfo>();
        for (TensorInfo t : tensors) {
            if (t.end() > dataSize) {
                throw new SafeTensorsFormatException(file, "tensor '" + t.name() + "' has data_offsets [" + t.begin()
                        + ", " + t.end() + "] beyond the " + dataSize + " data bytes in the file (truncated file?)");
            }
            sorted.add(t);
        }
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (int i = 1; i < sorted.size(); i++) {
            TensorInfo prev = sorted.get(i - 1);
            TensorInfo cur = sorted.get(i);
            if (cur.begin() < prev.end()) {
                throw new SafeTensorsFormatException(file, "tensors '" + prev.name() + "' [" + prev.begin() + ", "
                        + prev.end() + "] and '" + cur.name() + "' [" + cur.begin() + ", " + cur.end() + "] overlap");
            }
        }
    }
}
