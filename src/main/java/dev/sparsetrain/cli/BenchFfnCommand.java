package dev.sparsetrain.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.config.SparsityConfig;
import dev.sparsetrain.cpu.Parallel;
import dev.sparsetrain.io.AtomicFiles;
import dev.sparsetrain.model.Allocations;
import dev.sparsetrain.model.BlockResources;
import dev.sparsetrain.model.FeedForward;
import dev.sparsetrain.model.ParameterInit;
import dev.sparsetrain.model.ParameterLayout;
import dev.sparsetrain.model.Relu2Ffn;
import dev.sparsetrain.model.SparseFfn;
import dev.sparsetrain.model.SparseFfnProfile;
import dev.sparsetrain.model.SparseFfnProfile.Part;
import dev.sparsetrain.tensor.Backend;
import dev.sparsetrain.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code bench ffn}: one FFN layer forward + backward, the dense squared-ReLU FFN against the sparse
 * FFN of SPEC.md §3 at several M, measured side by side in one process: every round runs the dense
 * layer once and each sparse layer twice, once timed as a whole and once profiled, and each figure
 * is the median over the rounds. The profiled run breaks the sparse time into its parts (the layer
 * synchronises the backend between parts, which on a GPU costs time, hence the separate whole-layer
 * run); the gather into expert order and the scatter back belong to the GEMM parts they serve.
 */
@Command(name = "ffn", mixinStandardHelpOptions = true,
        description = "One FFN layer forward+backward: dense relu² vs sparse (2:4 weights, V:2:M activations) at several M.")
final class BenchFfnCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--device", defaultValue = "cpu", description = "Backend: cpu, reference, cuda or cuda:N. Default: ${DEFAULT-VALUE}.")
    private String device;

    @Option(names = "--shapes", split = ",", defaultValue = "2048x128x512,4096x512x2048",
            description = "Layer shapes TxDxF (tokens x model width x hidden width). Default: ${DEFAULT-VALUE} (the tiny preset's step, and a larger one).")
    private List<String> shapes;

    @Option(names = "--m", split = ",", defaultValue = "4,8,16,32",
            description = "Group widths M (E = M/4 experts, activation density 2/M). Default: ${DEFAULT-VALUE}.")
    private List<Integer> ms;

    @Option(names = "--router", defaultValue = "nearest",
            description = "Router: nearest (the paper's, as in the presets) or balanced (T/E tokens per expert). Default: ${DEFAULT-VALUE}.")
    private String router;

    @Option(names = "--v", defaultValue = "16", description = "Row-block height V each expert's rows are padded to. Default: ${DEFAULT-VALUE}.")
    private int v;

    @Option(names = "--warmup", defaultValue = "5", description = "Untimed rounds first (JIT warm-up). Default: ${DEFAULT-VALUE}.")
    private int warmup;

    @Option(names = "--runs", defaultValue = "9", description = "Timed rounds; figures are medians. Default: ${DEFAULT-VALUE}.")
    private int runs;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the weights and inputs. Default: ${DEFAULT-VALUE}.")
    private long seed;

    @Option(names = "--json", description = "Also write the results to this JSON file.")
    private Path json;

    /** One sparse configuration's medians: total and per part, in milliseconds. */
    record SparseResult(int m, double millis, Map<Part, Double> parts) {}

    /** One shape's results. */
    record ShapeResult(int tokens, int dim, int hidden, double denseMillis, List<SparseResult> sparse) {}

    @Override
    public Integer call() throws IOException {
        if (runs < 1 || warmup < 0) throw new UserError("--runs must be >= 1 and --warmup >= 0");
        if (!router.equals("balanced") && !router.equals("nearest")) throw new UserError("--router must be balanced or nearest, got " + router);
        PrintWriter out = spec.commandLine().getOut();
        List<ShapeResult> results = new ArrayList<>();
        try (Backend backend = Devices.open(device)) {
            out.printf(Locale.ROOT, "bench ffn: device %s, %d threads (%d cores reported), %s; forward+backward of one layer,"
                            + " median of %d rounds after %d warm-up; router %s, V=%d%n",
                    backend.name(), Parallel.threads(), Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"),
                    runs, warmup, router, v);
            for (String shape : shapes) {
                ShapeResult r = measure(backend, parseShape(shape));
                results.add(r);
                print(out, r);
                out.flush();
            }
        }
        if (json != null) AtomicFiles.writeString(json, toJson(results) + "\n");
        return 0;
    }

    private ShapeResult measure(Backend backend, int[] shape) {
        int tokens = shape[0], dim = shape[1], hidden = shape[2];
        for (int m : ms) {
            if (m < 4 || m % 4 != 0 || hidden % m != 0) {
                throw new UserError("M=" + m + " must be a multiple of 4 dividing F=" + hidden);
            }
        }
        var config = new ModelConfig(2, dim, 1, 1, 1, hidden, FfnKind.RELU2, tokens, 10000f, 1e-5f, 0.02f);
        var layout = ParameterLayout.of(config);
        try (var alloc = new Allocations(backend)) {
            Tensor params = alloc.f32(layout.totalElements()), grads = alloc.f32(layout.totalElements());
            ParameterInit.initialize(backend, layout, params, seed);
            var resources = new BlockResources(backend, layout, params, grads, alloc, tokens);
            var rng = new SplittableRandom(seed);
            Tensor x = alloc.f32(tokens, dim), dOut = alloc.f32(tokens, dim), y = alloc.f32(tokens, dim), dx = alloc.f32(tokens, dim);
            backend.upload(x, gaussian(rng, tokens * dim, 1), 0);
            backend.upload(dOut, gaussian(rng, tokens * dim, 1e-3), 0);

            FeedForward dense = new Relu2Ffn(resources);
            List<SparseFfn> sparse = new ArrayList<>();
            List<SparseFfnProfile> profiles = new ArrayList<>();
            for (int m : ms) {
                var ffn = new SparseFfn(resources, new SparsityConfig(true, 0, 0, m, v, router, "l2", 1, 0, false, "latent"));
                ffn.freezeScales();
                sparse.add(ffn);
                profiles.add(new SparseFfnProfile());
            }
            try {
                return measure(backend, tokens, dim, hidden, dense, sparse, profiles, y, dx, dOut, x);
            } finally {
                // The packed weights and activations are the backend's, not the allocations': release them with the layer.
                for (SparseFfn ffn : sparse) ffn.close();
            }
        }
    }

    /** The rounds of one shape: each round times the dense layer, then every sparse layer whole and profiled. */
    private ShapeResult measure(Backend backend, int tokens, int dim, int hidden, FeedForward dense, List<SparseFfn> sparse,
                                List<SparseFfnProfile> profiles, Tensor y, Tensor dx, Tensor dOut, Tensor x) {
        double[] denseTimes = new double[runs];
        double[][] sparseTimes = new double[ms.size()][runs];
        List<List<Map<Part, Double>>> partTimes = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) partTimes.add(new ArrayList<>());
        for (int round = -warmup; round < runs; round++) {
            double t = time(backend, dense, y, dx, dOut, x);
            if (round >= 0) denseTimes[round] = t;
            for (int i = 0; i < ms.size(); i++) {
                SparseFfn ffn = sparse.get(i);
                ffn.profile(null);
                t = time(backend, ffn, y, dx, dOut, x);
                profiles.get(i).reset();
                ffn.profile(profiles.get(i));
                time(backend, ffn, y, dx, dOut, x);
                if (round >= 0) {
                    sparseTimes[i][round] = t;
                    partTimes.get(i).add(profiles.get(i).millis());
                }
            }
        }
        List<SparseResult> sparseResults = new ArrayList<>();
        for (int i = 0; i < ms.size(); i++) sparseResults.add(new SparseResult(ms.get(i), median(sparseTimes[i]), medianParts(partTimes.get(i))));
        return new ShapeResult(tokens, dim, hidden, median(denseTimes), sparseResults);
    }

    /** Milliseconds of one forward + backward. */
    private static double time(Backend backend, FeedForward ffn, Tensor y, Tensor dx, Tensor dOut, Tensor x) {
        backend.synchronize();
        long start = System.nanoTime();
        ffn.forward(0, y, x);
        ffn.backward(0, dx, dOut, x);
        backend.synchronize();
        return (System.nanoTime() - start) / 1e6;
    }

    private static void print(PrintWriter out, ShapeResult r) {
        out.printf(Locale.ROOT, "%nT=%d d=%d F=%d: dense relu² FFN %.2f ms%n", r.tokens(), r.dim(), r.hidden(), r.denseMillis());
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%4s %9s %9s %8s |", "M", "dense ms", "sparse ms", "speedup"));
        for (Part p : Part.values()) if (p != Part.MVUE) head.append(String.format(Locale.ROOT, " %10s", label(p)));
        out.println(head);
        for (SparseResult s : r.sparse()) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%4d %9.2f %9.2f %7.2fx |",
                    s.m(), r.denseMillis(), s.millis(), r.denseMillis() / s.millis()));
            for (Part p : Part.values()) if (p != Part.MVUE) row.append(String.format(Locale.ROOT, " %10.2f", s.parts().getOrDefault(p, 0.0)));
            out.println(row);
        }
    }

    private static String label(Part p) {
        return switch (p) {
            case PRUNE -> "prune";
            case ROUTER -> "router";
            case GEMM1_PACK -> "gemm1+pack";
            case GEMM3_DZ -> "gemm3+dz";
            default -> p.name().toLowerCase(Locale.ROOT);
        };
    }

    private String toJson(List<ShapeResult> results) {
        JsonObject root = new JsonObject();
        root.addProperty("bench", "ffn");
        root.addProperty("device", device);
        root.addProperty("threads", Parallel.threads());
        root.addProperty("router", router);
        root.addProperty("v", v);
        root.addProperty("runs", runs);
        root.addProperty("warmup", warmup);
        JsonArray shapesJson = new JsonArray();
        for (ShapeResult r : results) {
            JsonObject s = new JsonObject();
            s.addProperty("tokens", r.tokens());
            s.addProperty("dim", r.dim());
            s.addProperty("hidden", r.hidden());
            s.addProperty("dense_ms", r.denseMillis());
            JsonArray sparse = new JsonArray();
            for (SparseResult sr : r.sparse()) {
                JsonObject o = new JsonObject();
                o.addProperty("m", sr.m());
                o.addProperty("sparse_ms", sr.millis());
                o.addProperty("speedup", r.denseMillis() / sr.millis());
                JsonObject parts = new JsonObject();
                sr.parts().forEach((p, ms) -> parts.addProperty(p.name().toLowerCase(Locale.ROOT), ms));
                o.add("parts_ms", parts);
                sparse.add(o);
            }
            s.add("sparse", sparse);
            shapesJson.add(s);
        }
        root.add("shapes", shapesJson);
        return new GsonBuilder().setPrettyPrinting().create().toJson(root);
    }

    static int[] parseShape(String s) {
        String[] p = s.trim().toLowerCase(Locale.ROOT).split("x");
        try {
            if (p.length != 3) throw new NumberFormatException();
            int[] shape = {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
            if (shape[0] <= 0 || shape[1] <= 0 || shape[1] % 4 != 0 || shape[2] <= 0) throw new NumberFormatException();
            return shape;
        } catch (NumberFormatException e) {
            throw new UserError("--shapes takes TxDxF with positive sizes and D a multiple of 4 (e.g. 2048x128x512), got '" + s + "'");
        }
    }

    private static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static Map<Part, Double> medianParts(List<Map<Part, Double>> rounds) {
        Map<Part, Double> out = new EnumMap<>(Part.class);
        for (Part p : Part.values()) {
            double[] values = rounds.stream().mapToDouble(r -> r.getOrDefault(p, 0.0)).toArray();
            if (Arrays.stream(values).anyMatch(x -> x > 0)) out.put(p, median(values));
        }
        return out;
    }

    private static float[] gaussian(SplittableRandom rng, int n, double std) {
        float[] a = new float[n];
        for (int j = 0; j < n; j++) a[j] = (float) (rng.nextGaussian() * std);
        return a;
    }
}
