package dev.sparsetrain.cuda;

import java.util.Locale;

/**
 * The operand type of the CUDA backend's GEMMs. {@link #BF16} (the default) converts A and B to
 * bfloat16 and runs tensor-core GEMMs with fp32 accumulation and fp32 output, as DESIGN.md's "bf16
 * compute, fp32 master weights" asks; {@link #FP32} keeps the exact fp32 GEMMs (CUBLAS_COMPUTE_32F,
 * no TF32), whose results match the CPU backend within fp32 rounding, for debugging a numerical
 * difference.
 *
 * <p>Chosen by the system property {@value #PROPERTY} or, when that is unset, the environment
 * variable {@value #VARIABLE}; the property wins so a test or a launcher script can override the
 * environment.
 */
public enum GemmPrecision {
    BF16, FP32;

    public static final String VARIABLE = "SPARSETRAIN_GEMM_PRECISION";
    public static final String PROPERTY = "sparsetrain.gemmPrecision";

    /** The precision this process asks for: the property, else the environment variable, else {@link #BF16}. */
    public static GemmPrecision configured() {
        String property = System.getProperty(PROPERTY);
        if (property != null) return parse(property, "system property " + PROPERTY);
        String variable = System.getenv(VARIABLE);
        if (variable != null) return parse(variable, "environment variable " + VARIABLE);
        return BF16;
    }

    /** {@code bf16} or {@code fp32} (any case, surrounding blanks ignored); {@code source} names where the value came from. */
    static GemmPrecision parse(String value, String source) {
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "bf16" -> BF16;
            case "fp32" -> FP32;
            default -> throw new IllegalArgumentException(source + " is '" + value + "', which is not a GEMM precision; valid values: "
                    + BF16.label() + " (default, tensor cores) or " + FP32.label() + " (exact fp32 GEMMs)");
        };
    }

    /** "bf16" or "fp32", as the setting spells it. */
    public String label() { return name().toLowerCase(Locale.ROOT); }
}
