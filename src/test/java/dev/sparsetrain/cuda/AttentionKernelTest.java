package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Parsing of the CUDA backend's attention mode and which head dims it sends to the tensor-core (tc, fa2) kernels. */
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
        assertEquals(AttentionKernel.FA2, AttentionKernel.parse("fa2", "test"));
        assertEquals(AttentionKernel.FA2, AttentionKernel.parse("\tFA2 ", "test"));
        assertEquals("fp32", AttentionKernel.FP32.label());
        assertEquals("fa2", AttentionKernel.FA2.label());
    }

    @Test
    void aBadValueNamesTheSettingTheValueAndTheValidValues() {
        // "tc" named an earlier tensor-core kernel, since replaced by fa2: the message lists what exists now.
        for (String bad : new String[] {"bf16", "", "tensor", "flash", "fa3", "tc"}) {
            var e = assertThrows(IllegalArgumentException.class,
                    () -> AttentionKernel.parse(bad, "environment variable " + AttentionKernel.VARIABLE));
            String m = e.getMessage();
            assertTrue(m.contains("SPARSETRAIN_ATTENTION") && m.contains("'" + bad + "'") && m.contains("fp32") && m.contains("fa2"), m);
        }
    }

    @Test
    void theDefaultIsATensorCoreModeAndAppliesWhenNothingIsSet() {
        assertTrue(AttentionKernel.DEFAULT.usesTensorCores(64) && AttentionKernel.DEFAULT.usesTensorCores(128), AttentionKernel.DEFAULT.label());
        Assumptions.assumeTrue(System.getenv(AttentionKernel.VARIABLE) == null, "SPARSETRAIN_ATTENTION is set in this environment");
        System.clearProperty(AttentionKernel.PROPERTY);
        assertEquals(AttentionKernel.DEFAULT, AttentionKernel.configured());
    }

    @Test
    void theSystemPropertyIsReadAndItsErrorNamesIt() {
        System.setProperty(AttentionKernel.PROPERTY, "fp32");
        assertEquals(AttentionKernel.FP32, AttentionKernel.configured());
        System.setProperty(AttentionKernel.PROPERTY, "fa2");
        assertEquals(AttentionKernel.FA2, AttentionKernel.configured());
        System.setProperty(AttentionKernel.PROPERTY, "fast");
        var e = assertThrows(IllegalArgumentException.class, AttentionKernel::configured);
        assertTrue(e.getMessage().contains("sparsetrain.attention") && e.getMessage().contains("'fast'"), e.getMessage());
    }

    @Test
    void fa2UsesTensorCoresAtHeadDims64And128AndFp32Never() {
        for (int headDim = 1; headDim <= 128; headDim++) {
            boolean supported = headDim == 64 || headDim == 128;
            assertEquals(supported, AttentionKernel.FA2.usesTensorCores(headDim), "fa2, headDim " + headDim);
            assertFalse(AttentionKernel.FP32.usesTensorCores(headDim), "fp32, headDim " + headDim);
        }
    }
}
