package dev.sparsetrain.cli;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code bench gemm}'s refusals, which need no GPU: a CPU device, bad counts, a bad shape; and a help line per option. */
class BenchGemmCommandTest {
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = new CommandLine(new BenchGemmCommand());
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void runsOnlyOnACudaDevice() {
        Run r = run("--device", "cpu");
        assertNotEquals(0, r.code());
        assertTrue(r.err().contains("bench gemm runs on a GPU: --device cuda or cuda:N"), r.err());
    }

    @Test
    void refusesBadCountsAndShapesBeforeOpeningADevice() {
        Run iters = run("--iters", "0");
        assertNotEquals(0, iters.code());
        assertTrue(iters.err().contains("--iters must be >= 1"), iters.err());
        Run shape = run("--shapes", "16384x2048");
        assertNotEquals(0, shape.code());
        assertTrue(shape.err().contains("--shapes takes TxDxF"), shape.err());
    }

    @Test
    void helpShowsTheDefaults() {
        StringWriter out = new StringWriter();
        new CommandLine(new BenchGemmCommand()).usage(new PrintWriter(out));
        String help = out.toString();
        for (String s : new String[] {"Default: cuda", "Default: 16384x2048x8192,", "Default: 5", "Default: 20"}) {
            assertTrue(help.contains(s), help);
        }
    }
}
