package dev.sparsetrain.cli;

import dev.sparsetrain.config.ConfigException;
import dev.sparsetrain.cuda.CudaException;
import dev.sparsetrain.data.DataException;
import dev.sparsetrain.io.safetensors.SafeTensorsFormatException;
import dev.sparsetrain.train.Checkpoints;
import dev.sparsetrain.train.NonFiniteLossException;
import dev.sparsetrain.train.TrainRun;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the sparsetrain command line; the launcher script runs it on a JDK >= 25. */
@Command(name = "sparsetrain", mixinStandardHelpOptions = true, version = "sparsetrain 0.1.0",
        description = "Pre-train Llama-style language models; sparse FFN on sparse tensor cores.",
        subcommands = {TrainCommand.class, CompareCommand.class, SampleCommand.class, PrepareCommand.class, BenchCommand.class,
                SelftestCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by main and the tests. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            // Expected user errors print one clear line; anything else keeps its stack trace.
            if (ex instanceof ConfigException || ex instanceof UserError || ex instanceof DataException
                    || ex instanceof Checkpoints.CheckpointException || ex instanceof TrainRun.RunDirectoryException
                    || ex instanceof NonFiniteLossException || ex instanceof SafeTensorsFormatException || ex instanceof CudaException) {
                cmd.getErr().println("error: " + ex.getMessage());
                return 2;
            }
            throw ex;
        });
        return cl;
    }

    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }
}
