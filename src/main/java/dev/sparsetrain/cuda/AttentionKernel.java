package dev.sparsetrain.cuda;

import java.util.Locale;

/**
 * Which kernels run the CUDA backend's attention. {@link #FA2} (the default, {@link #DEFAULT}) is the
 * FlashAttention-2-style kernel pair of {@code attention_fa2.cu} for head dims 64 and 128: bf16
 * copies of q, k, v made once per call, cp.async double buffering, ldmatrix fragments,
 * {@code mma.sync} bf16 products with fp32 accumulation and softmax, P and dS rounded to bf16 before
 * their products, 128-query forward blocks and a one-kernel backward with dQ by fp32 reductions; it
 * needs an {@link AttentionScratch}, and other head dims take the fp32 kernels. {@link #FP32} is the
 * fp32 CUDA-core flash attention of {@code attention.cu} for every head dim, which matches the CPU
 * backend within fp32 rounding. (An earlier tensor-core kernel, {@code tc}, was removed once fa2
 * passed the same H200 selftest three times faster: docs/PERF.md.)
 *
 * <p>Chosen by the system property {@value #PROPERTY} or, when that is unset, the environment
 * variable {@value #VARIABLE}; the property wins so a test or a launcher script can override the
 * environment. {@link #active()} reads the setting once per process.
 */
public enum AttentionKernel {
    FP32, FA2;

    public static final String VARIABLE = "SPARSETRAIN_ATTENTION";
    public static final String PROPERTY = "sparsetrain.attention";

    /** The mode when neither the property nor the variable is set. */
    public static final AttentionKernel DEFAULT = FA2;

    /** The mode this process asks for: the property, else the environment variable, else {@link #DEFAULT}. */
    public static AttentionKernel configured() {
        String property = System.getProperty(PROPERTY);
        if (property != null) return parse(property, "system property " + PROPERTY);
        String variable = System.getenv(VARIABLE);
        if (variable != null) return parse(variable, "environment variable " + VARIABLE);
        return DEFAULT;
    }

    /** {@link #configured()}, read on the first call and kept: every attention launch of the process agrees. */
    public static AttentionKernel active() {
        return Active.MODE;
    }

    /** {@code fp32} or {@code fa2} (any case, surrounding blanks ignored); {@code source} names where the value came from. */
    static AttentionKernel parse(String value, String source) {
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "fp32" -> FP32;
            case "fa2" -> FA2;
            default -> throw new IllegalArgumentException(source + " is '" + value + "', which is not an attention mode; valid values: "
                    + FA2.label() + " (FlashAttention-2-style tensor-core kernels for head dims 64 and 128) or " + FP32.label()
                    + " (fp32 CUDA cores); the default is " + DEFAULT.label());
        };
    }

    /** Whether this mode runs {@code headDim} on bf16 tensor cores (the kernels of {@code attention_fa2.cu}), else on the fp32 kernels. */
    public boolean usesTensorCores(int headDim) {
        return this == FA2 && (headDim == 64 || headDim == 128);
    }

    /** "fp32" or "fa2", as the setting spells it. */
    public String label() { return name().toLowerCase(Locale.ROOT); }

    /** Holder: the class initializer runs once, on the first {@link #active()}. */
    private static final class Active {
        static final AttentionKernel MODE = configured();
    }
}
