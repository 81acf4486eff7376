package dev.sparsetrain.cuda.selftest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.cli.SelftestCommand;
import dev.sparsetrain.cuda.CudaUnavailableException;
import dev.sparsetrain.tensor.Backend;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command's exit codes and output: no GPU is 2, a failed check is 1, agreement is 0. */
class SelftestCommandTest {

    private record Result(int exitCode, String output) {}

    private static Result run(Function<String, Backend> opener, String... args) {
        var bytes = new ByteArrayOutputStream();
        var out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        int code = new CommandLine(new SelftestCommand(opener, out)).execute(args);
        return new Result(code, bytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void noGpuPrintsWhyAndExitsWithTwo() {
        Result r = run(device -> {
            throw new CudaUnavailableException("no CUDA driver found (libcuda.so.1): searched ...");
        });
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().startsWith("no GPU: no CUDA driver found (libcuda.so.1)"), r.output());
    }

    @Test
    void aPerturbedOpPrintsFailAndExitsWithOne() {
        Result r = run(device -> new PerturbedBackend(PerturbedBackend.Op.RELU2_FORWARD), "--device", "cpu", "--train-steps", "1");
        assertEquals(1, r.exitCode(), r.output());
        assertTrue(r.output().lines().anyMatch(l -> l.startsWith("relu2Forward ") && l.endsWith("FAIL")), r.output());
        assertTrue(r.output().lines().anyMatch(l -> l.startsWith("relu2Backward ") && l.endsWith("PASS")), r.output());
        assertTrue(r.output().contains(" failed"), r.output());
    }

    @Test
    void agreementExitsWithZero() {
        Result r = run(device -> new dev.sparsetrain.cpu.CpuBackend(), "--device", "cpu", "--seed", "9", "--train-steps", "1");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("seed 9"), r.output());
        assertTrue(r.output().contains(", 0 failed"), r.output());
    }
}
