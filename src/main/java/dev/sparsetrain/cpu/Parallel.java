package dev.sparsetrain.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Parallel loops for the CPU kernels over one shared fork/join pool. The thread count is the
 * machine's cores unless {@code -Dsparsetrain.threads=N} (or SPARSETRAIN_THREADS) says otherwise.
 * Work is split into contiguous ranges so each thread streams through its own part of memory.
 */
public final class Parallel {
    private static final int THREADS = resolveThreads();
    private static final ForkJoinPool POOL = new ForkJoinPool(THREADS);

    private Parallel() {}

    /** Body over a half-open range of indices. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    public static int threads() { return THREADS; }

    /**
     * Runs {@code body} over [0, n) in contiguous chunks of at least {@code grain} indices, on all
     * threads; small ranges run on the caller.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.min(THREADS * 4, Math.max(1, n / Math.max(1, grain)));
        if (chunks <= 1 || THREADS == 1 || ForkJoinTask.inForkJoinPool()) {
            body.run(0, n);
            return;
        }
        List<ForkJoinTask<?>> tasks = new ArrayList<>(chunks);
        for (int c = 0; c < chunks; c++) {
            int from = (int) ((long) n * c / chunks), to = (int) ((long) n * (c + 1) / chunks);
            tasks.add(ForkJoinTask.adapt(() -> body.run(from, to)));
        }
        runAll(tasks);
    }

    private static void runAll(List<ForkJoinTask<?>> tasks) {
        try {
            POOL.invoke(ForkJoinTask.adapt(() -> ForkJoinTask.invokeAll(tasks)));
        } catch (RuntimeException e) {
            // Fork/join rethrows a worker's exception as a copy wrapping the original; surface the
            // original so callers see the kernel's own message once.
            Throwable t = e;
            while (t.getCause() != null && t.getCause() instanceof RuntimeException && t.getClass() == t.getCause().getClass()) {
                t = t.getCause();
            }
            throw (RuntimeException) t;
        }
    }

    private static int resolveThreads() {
        String p = System.getProperty("sparsetrain.threads", System.getenv("SPARSETRAIN_THREADS"));
        if (p != null && !p.isBlank()) {
            int t = Integer.parseInt(p.trim());
            if (t < 1) throw new IllegalArgumentException("sparsetrain.threads must be >= 1, got " + t);
            return t;
        }
        return Runtime.getRuntime().availableProcessors();
    }
}
