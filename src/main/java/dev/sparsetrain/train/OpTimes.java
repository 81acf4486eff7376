package dev.sparsetrain.train;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;

/**
 * Wall time and call counts per {@link OpCategory}, as accumulated by a {@link TimedBackend} while
 * profiling. Mutable; {@link #copy()} takes a snapshot.
 */
public final class OpTimes {
    private final long[] nanos = new long[OpCategory.values().length];
    private final long[] calls = new long[OpCategory.values().length];

    void add(OpCategory category, long elapsedNanos) {
        nanos[category.ordinal()] += elapsedNanos;
        calls[category.ordinal()]++;
    }

    public long nanos(OpCategory category) { return nanos[category.ordinal()]; }

    public long calls(OpCategory category) { return calls[category.ordinal()]; }

    /** Σ nanos over all categories. */
    public long totalNanos() {
        long sum = 0;
        for (long n : nanos) sum += n;
        return sum;
    }

    /** Milliseconds per category, in category order. */
    public Map<OpCategory, Double> millis() {
        Map<OpCategory, Double> m = new EnumMap<>(OpCategory.class);
        for (OpCategory c : OpCategory.values()) m.put(c, nanos(c) / 1e6);
        return m;
    }

    public OpTimes copy() {
        OpTimes c = new OpTimes();
        System.arraycopy(nanos, 0, c.nanos, 0, nanos.length);
        System.arraycopy(calls, 0, c.calls, 0, calls.length);
        return c;
    }

    void clear() {
        Arrays.fill(nanos, 0);
        Arrays.fill(calls, 0);
    }
}
