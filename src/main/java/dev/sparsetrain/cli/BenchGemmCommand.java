package dev.sparsetrain.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.sparsetrain.cuda.CudaBackend;
import dev.sparsetrain.cuda.GemmBenchmark;
import dev.sparsetrain.io.AtomicFiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code bench gemm}: cuBLASLt dense vs our 2:4 path (pack + cuSPARSELt) at FFN shapes, on a GPU. */
@Command(name = "gemm", mixinStandardHelpOptions = true,
        description = {"FFN GEMMs on a GPU: cuBLASLt dense bf16 vs our 2:4 path (our fused pack + cuSPARSELt),",
                "with weights and with activations as the sparse operand, pack time included in the last column."})
final class BenchGemmCommand implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = "--device", defaultValue = "cuda", description = "A CUDA device: cuda or cuda:N. Default: ${DEFAULT-VALUE}.")
    private String device;

    @Option(names = "--shapes", split = ",", defaultValue = "16384x2048x8192,16384x4096x16384",
            description = "FFN shapes TxDxF. Default: ${DEFAULT-VALUE} (the 1B and 7B FFN of TARGETS.md).")
    private List<String> shapes;

    @Option(names = "--warmup", defaultValue = "5", description = "Untimed launches first. Default: ${DEFAULT-VALUE}.")
    private int warmup;

    @Option(names = "--iters", defaultValue = "20", description = "Timed launches; figures are means. Default: ${DEFAULT-VALUE}.")
    private int iters;

    @Option(names = "--json", description = "Also write the results to this JSON file.")
    private Path json;

    @Override
    public Integer call() throws IOException {
        if (!device.equals("cuda") && !device.startsWith("cuda:")) throw new UserError("bench gemm runs on a GPU: --device cuda or cuda:N");
        if (iters < 1 || warmup < 0) throw new UserError("--iters must be >= 1 and --warmup >= 0");
        List<int[]> parsed = new ArrayList<>();
        for (String s : shapes) parsed.add(BenchFfnCommand.parseShape(s));
        PrintWriter out = spec.commandLine().getOut();
        List<GemmBenchmark.Result> results = new ArrayList<>();
        try (CudaBackend backend = CudaBackend.open(device)) {
            out.println("bench gemm: " + backend.describe());
            out.printf(Locale.ROOT, "%-36s %-18s %9s %9s %9s %8s %10s %9s%n", "sparse operand", "TxdxF", "dense ms", "2:4 ms", "pack ms",
                    "speedup", "with pack", "TFLOP/s*");
            for (int[] shape : parsed) {
                for (GemmBenchmark.Result r : GemmBenchmark.run(backend, shape[0], shape[1], shape[2], warmup, iters)) {
                    results.add(r);
                    out.printf(Locale.ROOT, "%-36s %-18s %9.3f %9.3f %9.3f %7.2fx %9.2fx %9.0f%n", r.operand(),
                            r.tokens() + "x" + r.dim() + "x" + r.hidden(), r.denseMs(), r.sparseMs(), r.packMs(), r.speedup(),
                            r.speedupWithPack(), r.flops() / (r.sparseMs() * 1e-3) / 1e12);
                    out.flush();
                }
            }
            out.println("* dense-equivalent TFLOP/s of the 2:4 GEMM (2·T·d·F over its time); " + backend.sparseLibrary());
        }
        if (json != null) AtomicFiles.writeString(json, toJson(results) + "\n");
        return 0;
    }

    private String toJson(List<GemmBenchmark.Result> results) {
        JsonObject root = new JsonObject();
        root.addProperty("bench", "gemm");
        root.addProperty("device", device);
        root.addProperty("warmup", warmup);
        root.addProperty("iters", iters);
        JsonArray rows = new JsonArray();
        for (GemmBenchmark.Result r : results) {
            JsonObject o = new JsonObject();
            o.addProperty("sparse_operand", r.operand());
            o.addProperty("tokens", r.tokens());
            o.addProperty("dim", r.dim());
            o.addProperty("hidden", r.hidden());
            o.addProperty("dense_ms", r.denseMs());
            o.addProperty("sparse_ms", r.sparseMs());
            o.addProperty("pack_ms", r.packMs());
            o.addProperty("speedup", r.speedup());
            o.addProperty("speedup_with_pack", r.speedupWithPack());
            rows.add(o);
        }
        root.add("results", rows);
        return new GsonBuilder().setPrettyPrinting().create().toJson(root);
    }
}
