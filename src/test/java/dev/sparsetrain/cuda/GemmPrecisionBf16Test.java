package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Parsing of the CUDA backend's GEMM precision setting. */
class GemmPrecisionBf16Test {
    private final String saved = System.getProperty(GemmPrecision.PROPERTY);

    @AfterEach
    void restoreProperty() {
        if (saved == null) System.clearProperty(GemmPrecision.PROPERTY);
        else System.setProperty(GemmPrecision.PROPERTY, saved);
    }

    @Test
    void validValuesParseInAnyCaseAndWithBlanks() {
        assertEquals(GemmPrecision.BF16, GemmPrecision.parse("bf16", "test"));
        assertEquals(GemmPrecision.BF16, GemmPrecision.parse(" BF16 ", "test"));
        assertEquals(GemmPrecision.FP32, GemmPrecision.parse("fp32", "test"));
        assertEquals(GemmPrecision.FP32, GemmPrecision.parse("Fp32\n", "test"));
        assertEquals("bf16", GemmPrecision.BF16.label());
        assertEquals("fp32", GemmPrecision.FP32.label());
    }

    @Test
    void aBadValueNamesTheSettingTheValueAndTheValidValues() {
        for (String bad : new String[] {"fp16", "", "bfloat16", "tf32"}) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> GemmPrecision.parse(bad, "environment variable " + GemmPrecision.VARIABLE));
            String m = e.getMessage();
            assertTrue(m.contains("SPARSETRAIN_GEMM_PRECISION") && m.contains("'" + bad + "'") && m.contains("bf16") && m.contains("fp32"), m);
        }
    }

    @Test
    void theSystemPropertyIsReadAndItsErrorNamesIt() {
        System.setProperty(GemmPrecision.PROPERTY, "fp32");
        assertEquals(GemmPrecision.FP32, GemmPrecision.configured());
        System.setProperty(GemmPrecision.PROPERTY, "bf16");
        assertEquals(GemmPrecision.BF16, GemmPrecision.configured());
        System.setProperty(GemmPrecision.PROPERTY, "half");
        var e = assertThrows(IllegalArgumentException.class, GemmPrecision::configured);
        assertTrue(e.getMessage().contains("sparsetrain.gemmPrecision") && e.getMessage().contains("'half'"), e.getMessage());
    }

    @Test
    void withoutAPropertyTheEnvironmentOrTheBf16DefaultDecides() {
        System.clearProperty(GemmPrecision.PROPERTY);
        String env = System.getenv(GemmPrecision.VARIABLE);
        GemmPrecision expected = env == null ? GemmPrecision.BF16 : GemmPrecision.parse(env, "environment variable " + GemmPrecision.VARIABLE);
        assertEquals(expected, GemmPrecision.configured(), GemmPrecision.VARIABLE + "=" + env);
    }
}
