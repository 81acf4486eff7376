package dev.sparsetrain.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code extern "C" __global__} kernels declared in the .cu resources, parsed from their text
 * (test support), so launches can be checked against the parameter lists the device code declares.
 */
final class KernelSignatures {
    private static final Pattern KERNEL = Pattern.compile(
            "extern\\s+\"C\"\\s+__global__\\s+void\\s+(?:__launch_bounds__\\s*\\(\\s*(\\w+)\\s*(?:,\\s*\\w+\\s*)?\\)\\s*)?(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern COMMENTS = Pattern.compile("//[^\\n]*|/\\*.*?\\*/", Pattern.DOTALL);

    private KernelSignatures() {}

    /** One kernel parameter: its declared C type and name, and the Java argument class a launch must pass. */
    record Param(String type, String name, Class<?> javaType) {}

    /** A kernel: where it is declared, its parameters, and the most threads a block may have (its __launch_bounds__, else 1024). */
    record Kernel(String source, String name, List<Param> params, int maxThreads) {}

    /** The text of one resource under /kernels/. */
    /**
     * A kernel resource with its {@code #include "x.cuh"} lines replaced by those headers' text (each
     * header once, as {@code #pragma once} makes the compilers do): what the compilers see, for the
     * parser and for host programs built from a source.
     */
    static String text(String source) {
        return inlined(source, new java.util.HashSet<>());
    }

    private static String inlined(String file, java.util.Set<String> seen) {
        var out = new StringBuilder();
        for (String line : raw(file).split("\n", -1)) {
            var m = java.util.regex.Pattern.compile("^\\s*#\\s*include\\s*\"([^\"]+)\"").matcher(line);
            if (m.find()) {
                if (seen.add(m.group(1))) out.append(inlined(m.group(1), seen));
            } else if (!line.strip().equals("#pragma once")) {
                out.append(line).append('\n');
            }
        }
        return out.toString();
    }

    /** A kernel resource exactly as stored. */
    static String raw(String source) {
        try (InputStream in = KernelSignatures.class.getResourceAsStream("/kernels/" + source)) {
            if (in == null) throw new IllegalStateException("kernel source /kernels/" + source + " is not on the class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every kernel of every source in {@link CudaKernels#SOURCES}, in order of appearance. */
    static List<Kernel> all() {
        var kernels = new ArrayList<Kernel>();
        for (String source : CudaKernels.SOURCES) kernels.addAll(parse(source, text(source)));
        return kernels;
    }

    /** The kernel called {@code name}; fails if no source declares it. */
    static Kernel named(String name) {
        return all().stream().filter(k -> k.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no extern \"C\" __global__ kernel named " + name + " in " + CudaKernels.SOURCES));
    }

    static List<Kernel> parse(String source, String text) {
        String code = COMMENTS.matcher(text).replaceAll(" ");
        var kernels = new ArrayList<Kernel>();
        Matcher m = KERNEL.matcher(code);
        while (m.find()) {
            int maxThreads = m.group(1) == null ? 1024 : constant(source, code, m.group(1));
            kernels.add(new Kernel(source, m.group(2), params(source, m.group(2), m.group(3)), maxThreads));
        }
        return kernels;
    }

    private static List<Param> params(String source, String kernel, String list) {
        var params = new ArrayList<Param>();
        if (list.isBlank()) return params;
        for (String declaration : list.split(",")) {
            String d = declaration.trim().replaceAll("\\s+", " ");
            int split = d.lastIndexOf(' ');
            String type = d.substring(0, split).replace("__restrict__", "").replace("const", "").replaceAll("\\s+", " ").trim();
            String name = d.substring(split + 1);
            Class<?> javaType = type.endsWith("*") ? Long.class : switch (type) {
                case "long long" -> Long.class;
                case "int" -> Integer.class;
                case "float" -> Float.class;
                default -> throw new AssertionError(source + ": kernel " + kernel + " has parameter '" + d
                        + "' of a type KernelLauncher cannot pass (pointers, long long, int, float)");
            };
            params.add(new Param(type, name, javaType));
        }
        return params;
    }

    /** A launch bound given as a number or as the name of a {@code constexpr int} of the same source. */
    private static int constant(String source, String code, String token) {
        if (token.chars().allMatch(Character::isDigit)) return Integer.parseInt(token);
        Matcher m = Pattern.compile("constexpr\\s+int\\s+" + token + "\\s*=\\s*(\\d+)\\s*;").matcher(code);
        if (!m.find()) throw new AssertionError(source + ": __launch_bounds__(" + token + ") is neither a number nor a constexpr int");
        return Integer.parseInt(m.group(1));
    }
}
