package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Parsing of the CUDA backend's attention mode and which head dims it sends to the tensor-core kernels. */
class AttentionKernelTest {
    private final String saved = System.getProperty(AttentionKernel.PROPERTY);

    @AfterEach
    void restoreProperty() {
        if (saved == null) System.clearProperty(AttentionKernel.PROPERTY);
        else System.setProperty(AttentionKernel.PROPERTY, saved);
    }

    @Test
    void validValuesParseInAnyCaseAndWithBlanks() {
        assertEquals(AttentionKernel.FP32, AttentionKernel.parse("fp32", "test"));
        assertEquals(AttentionKernel.FP32, AttentionKernel.parse(" FP32\n", "test"));
        assertEquals(AttentionKernel.TC, AttentionKernel.parse("tc", "test"));
        assertEquals(AttentionKernel.TC, AttentionKernel.parse(" Tc ", "test"));
        assertEquals("fp32", AttentionKernel.FP32.label());
        assertEquals("tc", AttentionKernel.TC.label());
    }

    @Test
    void aBadValueNamesTheSettingTheValueAndTheValidValues() {
        for (String bad : new String[] {"bf16", "", "tensor", "flash"}) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> AttentionKernel.parse(bad, "environment variable " + AttentionKernel.VARIABLE));
            String m = e.getMessage();
            assertTrue(m.contains("SPARSETRAIN_ATTENTION") && m.contains("'" + bad + "'") && m.contains("fp32") && m.contains("tc"), m);
        }
    }

    @Test
    void tensorCoresAreTheDefaultWhenNothingIsSet() {
        Assumptions.assumeTrue(System.getenv(AttentionKernel.VARIABLE) == null, "SPARSETRAIN_ATTENTION is set in this environment");
        System.clearProperty(AttentionKernel.PROPERTY);
        assertEquals(AttentionKernel.TC, AttentionKernel.configured());
    }

    @Test
    void theSystemPropertyIsReadAndItsErrorNamesIt() {
        System.setProperty(AttentionKernel.PROPERTY, "tc");
        assertEquals(AttentionKernel.TC, AttentionKernel.configured());
        System.setProperty(AttentionKernel.PROPERTY, "fp32");
        assertEquals(AttentionKernel.FP32, AttentionKernel.configured());
        System.setProperty(AttentionKernel.PROPERTY, "fast");
        var e = assertThrows(IllegalArgumentException.class, AttentionKernel::configured);
        assertTrue(e.getMessage().contains("sparsetrain.attention") && e.getMessage().contains("'fast'"), e.getMessage());
    }

    @Test
    void onlyTcModeAndHeadDims64And128UseTensorCores() {
        for (int headDim = 1; headDim <= 128; headDim++) {
            assertEquals(headDim == 64 || headDim == 128, AttentionKernel.TC.usesTensorCores(headDim), "tc, headDim " + headDim);
            assertFalse(AttentionKernel.FP32.usesTensorCores(headDim), "fp32, headDim " + headDim);
        }
    }
}
