package dev.sparsetrain.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Groups the benchmarks; each prints a table and can write JSON. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks (tables on stdout, JSON with --json).",
        subcommands = {BenchMatmulCommand.class, BenchGemmCommand.class, BenchFfnCommand.class, BenchStepCommand.class})
final class BenchCommand implements Runnable {
    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }
}
