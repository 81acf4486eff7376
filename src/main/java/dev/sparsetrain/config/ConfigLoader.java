package dev.sparsetrain.config;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Builds a {@link RunConfig} from layers of JSON: a preset (configs/NAME.json, packaged in the jar),
 * optionally a user file (which may name its base preset with {@code "extends": "tiny"}), then
 * {@code section.key=value} overrides from the command line. Keys are snake_case record components;
 * an unknown or missing key is an error that names it, so a typo never trains the wrong model.
 */
public final class ConfigLoader {
    public static final List<String> PRESETS = List.of("tiny", "125m", "1b", "7b");
    private static final Map<String, Class<? extends Record>> SECTIONS =
            Map.of("model", ModelConfig.class, "train", TrainConfig.class, "data", DataConfig.class, "sparsity", SparsityConfig.class);

    private static final Gson GSON = new GsonBuilder()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES)
            .setPrettyPrinting()
            .serializeSpecialFloatingPointValues()
            .create();

    private ConfigLoader() {}

    public static Gson gson() { return GSON; }

    /** The JSON of a packaged preset. */
    public static JsonObject preset(String name) {
        if (!PRESETS.contains(name)) {
            throw new ConfigException("unknown preset '" + name + "'; choose one of " + PRESETS);
        }
        try (InputStream in = ConfigLoader.class.getResourceAsStream("/presets/" + name + ".json")) {
            if (in == null) throw new IllegalStateException("preset " + name + " is missing from the jar");
            return parse(new InputStreamReader(in, StandardCharsets.UTF_8), "preset " + name);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read preset " + name, e);
        }
    }

    /**
     * @param presetName base preset, or null to take it from the file's "extends" (or "tiny")
     * @param file       optional user JSON layered over the preset
     * @param overrides  "section.key=value" strings layered last
     */
    public static RunConfig load(String presetName, Path file, List<String> overrides) {
        JsonObject user = null;
        if (file != null) {
            try (Reader r = Files.newBufferedReader(file)) {
                user = parse(r, file.toString());
            } catch (IOException e) {
                throw new ConfigException("cannot read config file " + file + ": " + e.getMessage());
            }
        }
        String base = presetName;
        if (base == null && user != null && user.has("extends")) base = user.get("extends").getAsString();
        JsonObject merged = preset(base == null ? "tiny" : base);
        if (user != null) {
            user.remove("extends");
            mergeInto(merged, user, "");
        }
        return fromJson(withOverrides(merged, overrides));
    }

    /** A copy of {@code root} with "section.key=value" overrides applied. */
    public static JsonObject withOverrides(JsonObject root, List<String> overrides) {
        JsonObject copy = root.deepCopy();
        for (String o : overrides) applyOverride(copy, o);
        return copy;
    }

    /** Parses and validates a full config object (all three sections, every key). */
    public static RunConfig fromJson(JsonObject root) {
        for (String key : root.keySet()) {
            if (!SECTIONS.containsKey(key)) throw new ConfigException("unknown config section '" + key + "'; sections are " + new TreeSet<>(SECTIONS.keySet()));
        }
        ModelConfig model = section(root, "model", ModelConfig.class);
        TrainConfig train = section(root, "train", TrainConfig.class);
        DataConfig data = section(root, "data", DataConfig.class);
        SparsityConfig sparsity = section(root, "sparsity", SparsityConfig.class);
        return new RunConfig(model, train, data, sparsity);
    }

    public static JsonObject toJson(RunConfig config) {
        return GSON.toJsonTree(config).getAsJsonObject();
    }

    private static <T extends Record> T section(JsonObject root, String name, Class<T> type) {
        if (!root.has(name) || !root.get(name).isJsonObject()) throw new ConfigException("config section '" + name + "' is missing");
        JsonObject obj = root.getAsJsonObject(name);
        TreeSet<String> expected = keysOf(type);
        for (String k : obj.keySet()) {
            if (!expected.contains(k)) throw new ConfigException("unknown key '" + name + "." + k + "'; valid keys: " + expected);
        }
        for (String k : expected) {
            if (!obj.has(k) || obj.get(k).isJsonNull()) throw new ConfigException("missing key '" + name + "." + k + "'");
        }
        try {
            return GSON.fromJson(obj, type);
        } catch (RuntimeException e) {
            // Gson wraps what a record's constructor throws; the validation message is the one to show.
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof ConfigException c) throw c;
            }
            throw new ConfigException("bad value in section '" + name + "': " + e.getMessage());
        }
    }

    static TreeSet<String> keysOf(Class<? extends Record> type) {
        TreeSet<String> keys = new TreeSet<>();
        for (RecordComponent c : type.getRecordComponents()) keys.add(snake(c.getName()));
        return keys;
    }

    private static String snake(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
    }

    private static void applyOverride(JsonObject root, String override) {
        int eq = override.indexOf('=');
        int dot = override.indexOf('.');
        if (eq < 0 || dot < 0 || dot > eq) throw new ConfigException("override '" + override + "' must look like section.key=value, e.g. train.lr=3e-4");
        String section = override.substring(0, dot), key = override.substring(dot + 1, eq).replace('-', '_'), value = override.substring(eq + 1).trim();
        if (!SECTIONS.containsKey(section)) throw new ConfigException("unknown config section '" + section + "' in override '" + override + "'");
        if (!keysOf(SECTIONS.get(section)).contains(key)) throw new ConfigException("unknown key '" + section + "." + key + "'; valid keys: " + keysOf(SECTIONS.get(section)));
        root.getAsJsonObject(section).add(key, literal(value));
    }

    private static JsonElement literal(String value) {
        if (value.equals("true") || value.equals("false")) return new JsonPrimitive(Boolean.parseBoolean(value));
        try {
            return new JsonPrimitive(new java.math.BigDecimal(value));
        } catch (NumberFormatException notNumber) {
            return new JsonPrimitive(value);
        }
    }

    private static void mergeInto(JsonObject target, JsonObject source, String path) {
        for (var e : source.entrySet()) {
            String key = e.getKey();
            if (e.getValue().isJsonObject() && target.has(key) && target.get(key).isJsonObject()) {
                mergeInto(target.getAsJsonObject(key), e.getValue().getAsJsonObject(), path + key + ".");
            } else {
                target.add(key, e.getValue());
            }
        }
    }

    private static JsonObject parse(Reader reader, String what) {
        try {
            JsonElement e = JsonParser.parseReader(reader);
            if (!e.isJsonObject()) throw new ConfigException(what + " must be a JSON object");
            return e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new ConfigException(what + " is not valid JSON: " + e.getMessage());
        }
    }
}
