package dev.sparsetrain.cli;

import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.cuda.CudaBackend;
import dev.sparsetrain.cuda.CudaException;
import dev.sparsetrain.cuda.CudaUnavailableException;
import dev.sparsetrain.cuda.selftest.ModelCheck;
import dev.sparsetrain.cuda.selftest.OpSuite;
import dev.sparsetrain.cuda.selftest.ResultTable;
import dev.sparsetrain.tensor.Backend;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sparsetrain selftest}: every backend op on the chosen device against the CPU backend on
 * fresh random data, then a short training run on both; prints a pass/fail table. Exit code 0 when
 * everything agrees, 1 when a check fails, 2 when the device cannot be used (no GPU, no driver).
 */
@Command(name = "selftest", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Check every op of a device against the CPU backend on random data, then train a small model",
                "on both. Exit code: 0 all pass, 1 a check failed, 2 the device is unavailable."})
public final class SelftestCommand implements Callable<Integer> {

    @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cuda",
            description = "Device to test: cuda, cuda:N, cpu or reference (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1234",
            description = "Seed of the random test data (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--train-steps", paramLabel = "N", defaultValue = "" + ModelCheck.STEPS,
            description = "Training steps of the whole-model check (default: ${DEFAULT-VALUE}).")
    int trainSteps;

    private final Function<String, Backend> opener;
    private final PrintStream out;

    public SelftestCommand() {
        this(Devices::open, System.out);
    }

    /** With another way to open devices and another output (tests, embedding). */
    public SelftestCommand(Function<String, Backend> opener, PrintStream out) {
        this.opener = opener;
        this.out = out;
    }

    @Override
    public Integer call() {
        Backend candidate;
        try {
            candidate = opener.apply(device);
        } catch (CudaUnavailableException e) {
            out.println("no GPU: " + e.getMessage());
            return 2;
        } catch (CudaException e) {
            out.println("error: cannot open " + device + ": " + e.getMessage());
            return 2;
        }
        try (Backend tested = candidate; Backend reference = new CpuBackend()) {
            out.println("selftest of " + describe(tested) + " against " + reference.name() + ", seed " + seed);
            ResultTable table = new ResultTable(out);
            table.header();
            OpSuite.run(tested, reference, seed, table::row);
            ModelCheck.run(tested, reference, seed, trainSteps, table::row);
            int failed = table.finish();
            if (tested instanceof CudaBackend cuda) out.println(cuda.sparseLibrary());
            return failed == 0 ? 0 : 1;
        }
    }

    private static String describe(Backend backend) {
        return backend instanceof CudaBackend cuda ? cuda.describe() : backend.name();
    }
}
