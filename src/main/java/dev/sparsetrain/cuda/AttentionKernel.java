package dev.sparsetrain.cuda;

import java.util.Locale;

/**
 * Which kernels run the CUDA backend's attention. {@link #TC} (the default) is the tensor-core
 * forward and backward of {@code attention_tc.cu} (bf16 operands, fp32 accumulation and softmax; P
 * and dS rounded to bf16 before their products, as in FlashAttention-2) for head dims 64 and 128,
 * other head dims staying on the fp32 kernels; {@link #FP32} is the fp32 CUDA-core flash attention
 * of {@code attention.cu}, which matches the CPU backend within fp32 rounding. TC became the default
 * after it passed the H200 selftest and trained to the same validation loss as FP32 (docs/PERF.md).
 *
 * <p>Chosen by the system property {@value #PROPERTY} or, when that is unset, the environment
 * variable {@value #VARIABLE}; the property wins so a test or a launcher script can override the
 * environment. {@link #active()} reads the setting once per process.
 */
public enum AttentionKernel {
    FP32, TC;

    public static final String VARIABLE = "SPARSETRAIN_ATTENTION";
    public static final String PROPERTY = "sparsetrain.attention";

    /** The mode this process asks for: the property, else the environment variable, else {@link #TC}. */
    public static AttentionKernel configured() {
        String property = System.getProperty(PROPERTY);
        if (property != null) return parse(property, "system property " + PROPERTY);
        String variable = System.getenv(VARIABLE);
        if (variable != null) return parse(variable, "environment variable " + VARIABLE);
        return TC;
    }

    /** {@link #configured()}, read on the first call and kept: every attention launch of the process agrees. */
    public static AttentionKernel active() {
        return Active.MODE;
    }

    /** {@code fp32} or {@code tc} (any case, surrounding blanks ignored); {@code source} names where the value came from. */
    static AttentionKernel parse(String value, String source) {
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "fp32" -> FP32;
            case "tc" -> TC;
            default -> throw new IllegalArgumentException(source + " is '" + value + "', which is not an attention mode; valid values: "
                    + TC.label() + " (default: tensor cores for head dims 64 and 128) or " + FP32.label() + " (fp32 CUDA cores)");
        };
    }

    /** Whether this mode runs the tensor-core kernels for {@code headDim}. */
    public boolean usesTensorCores(int headDim) {
        return this == TC && (headDim == 64 || headDim == 128);
    }

    /** "fp32" or "tc", as the setting spells it. */
    public String label() { return name().toLowerCase(Locale.ROOT); }

    /** Holder: the class initializer runs once, on the first {@link #active()}. */
    private static final class Active {
        static final AttentionKernel MODE = configured();
    }
}
