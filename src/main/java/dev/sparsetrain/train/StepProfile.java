package dev.sparsetrain.train;

import java.util.Arrays;

/**
 * What {@link StepBenchmark} measured: the wall time of each timed optimizer step without
 * profiling (the throughput figures), the same for the profiled steps, and the per-category
 * backend time accumulated over the profiled steps.
 *
 * @param tokensPerStep      tokens one optimizer step consumes (batch × seq × grad accumulation)
 * @param stepMillis         unprofiled step times
 * @param profiledStepMillis profiled step times (slower: a sync around every backend call)
 * @param breakdown          backend time per category over all profiled steps
 * @param skippedSteps       steps whose update a non-finite loss or gradient skipped, over the whole benchmark
 */
public record StepProfile(long tokensPerStep, double[] stepMillis, double[] profiledStepMillis, OpTimes breakdown, int skippedSteps) {

    public StepProfile {
        if (stepMillis.length == 0 || profiledStepMillis.length == 0) throw new IllegalArgumentException("a step profile needs timed steps");
        stepMillis = stepMillis.clone();
        profiledStepMillis = profiledStepMillis.clone();
        breakdown = breakdown.copy();
    }

    @Override
    public double[] stepMillis() { return stepMillis.clone(); }

    @Override
    public double[] profiledStepMillis() { return profiledStepMillis.clone(); }

    @Override
    public OpTimes breakdown() { return breakdown.copy(); }

    /** Tokens per second over all unprofiled steps (total tokens / total time). */
    public double tokensPerSecond() {
        return tokensPerStep * stepMillis.length / (Arrays.stream(stepMillis).sum() / 1e3);
    }

    public double meanMillis() { return mean(stepMillis); }

    public double medianMillis() { return median(stepMillis); }

    public double profiledMeanMillis() { return mean(profiledStepMillis); }

    /** Backend time of {@code category} per profiled step, in milliseconds. */
    public double categoryMillisPerStep(OpCategory category) {
        return breakdown.nanos(category) / 1e6 / profiledStepMillis.length;
    }

    /** Backend calls of {@code category} per profiled step. */
    public double callsPerStep(OpCategory category) {
        return (double) breakdown.calls(category) / profiledStepMillis.length;
    }

    /**
     * Profiled step time no category accounts for: host work between calls (batches, scheduling,
     * the JVM) and the syncs of the profiler itself.
     */
    public double otherMillisPerStep() {
        return profiledMeanMillis() - breakdown.totalNanos() / 1e6 / profiledStepMillis.length;
    }

    static double mean(double[] values) {
        return Arrays.stream(values).sum() / values.length;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
