package dev.sparsetrain.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.DType;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ParameterLayoutTest {

    @Test
    void relu2NamesShapesAndDecayInHuggingFaceOrder() {
        ModelConfig c = TinyModels.config(FfnKind.RELU2, 1, 0.02f); // d=8, kvDim=4, F=16, V=11
        List<ParameterSpec> ps = ParameterLayout.of(c).parameters();
        List<String> names = ps.stream().map(ParameterSpec::name).toList();
        assertEquals(List.of("tok_embedding",
                "layers.0.attn_norm", "layers.0.wq", "layers.0.wk", "layers.0.wv", "layers.0.wo",
                "layers.0.ffn_norm", "layers.0.w1", "layers.0.w2",
                "layers.1.attn_norm", "layers.1.wq", "layers.1.wk", "layers.1.wv", "layers.1.wo",
                "layers.1.ffn_norm", "layers.1.w1", "layers.1.w2",
                "final_norm", "lm_head"), names);
        var layout = ParameterLayout.of(c);
        assertEquals(List.of(11L, 8L), layout.spec("tok_embedding").shape());
        assertEquals(List.of(8L), layout.spec("layers.1.attn_norm").shape());
        assertEquals(List.of(8L, 8L), layout.spec("layers.1.wq").shape());
        assertEquals(List.of(4L, 8L), layout.spec("layers.1.wk").shape());
        assertEquals(List.of(4L, 8L), layout.spec("layers.1.wv").shape());
        assertEquals(List.of(8L, 8L), layout.spec("layers.1.wo").shape());
        assertEquals(List.of(16L, 8L), layout.spec("layers.0.w1").shape());
        assertEquals(List.of(8L, 16L), layout.spec("layers.0.w2").shape());
        assertEquals(List.of(11L, 8L), layout.spec("lm_head").shape());
        for (ParameterSpec p : ps) {
            boolean matrix = p.shape().size() == 2 && !p.name().equals("tok_embedding");
            assertEquals(matrix, p.applyWeightDecay(), p.name());
        }
    }

    @Test
    void swigluHasGateUpAndDown() {
        var layout = ParameterLayout.of(TinyModels.config(FfnKind.SWIGLU, 2, 0.02f));
        List<String> layer0 = layout.parameters().stream().map(ParameterSpec::name).filter(n -> n.startsWith("layers.0.")).toList();
        assertEquals(List.of("layers.0.attn_norm", "layers.0.wq", "layers.0.wk", "layers.0.wv", "layers.0.wo",
                "layers.0.ffn_norm", "layers.0.w_gate", "layers.0.w_up", "layers.0.w2"), layer0);
        assertEquals(List.of(16L, 8L), layout.spec("layers.0.w_gate").shape());
        assertEquals(List.of(16L, 8L), layout.spec("layers.0.w_up").shape());
        assertEquals(List.of(8L, 8L), layout.spec("layers.0.wk").shape()); // MHA: kvDim = d
        assertThrows(IllegalArgumentException.class, () -> layout.spec("layers.0.w1"));
    }

    @ParameterizedTest
    @EnumSource(FfnKind.class)
    void offsetsAreAlignedDisjointAndCountMatchesTheConfig(FfnKind ffn) {
        ModelConfig c = new ModelConfig(1000, 96, 3, 6, 2, 384, ffn, 64, 10000f, 1e-5f, 0.02f);
        var layout = ParameterLayout.of(c);
        assertEquals(c.parameterCount(), layout.parameterCount());
        long end = 0;
        for (ParameterSpec p : layout.parameters()) {
            assertEquals(0, p.offset() % ParameterLayout.ALIGNMENT, p.name() + " offset " + p.offset());
            assertTrue(p.offset() >= end, p.name() + " overlaps its predecessor");
            end = p.offset() + p.numel();
        }
        assertTrue(end <= layout.totalElements());
        assertTrue(layout.totalElements() - layout.parameterCount() < (long) ParameterLayout.ALIGNMENT * layout.parameters().size());
    }

    @Test
    void viewsHaveTheSpecShapeAndRejectABufferOfAnotherLayout() {
        var b = new ReferenceBackend();
        var layout = ParameterLayout.of(TinyModels.config(FfnKind.RELU2, 1, 0.02f));
        var flat = b.zeros(DType.F32, layout.totalElements());
        var wk = layout.view(flat, "layers.1.wk");
        assertArrayEquals(new long[] {4, 8}, wk.shape());
        assertEquals(layout.spec("layers.1.wk").offset(), wk.offset());
        var wrong = b.zeros(DType.F32, layout.totalElements() + 1);
        var e = assertThrows(IllegalArgumentException.class, () -> layout.view(wrong, "lm_head"));
        assertTrue(e.getMessage().contains("totalElements"), e.getMessage());
        var missing = assertThrows(IllegalArgumentException.class, () -> layout.view(flat, "layers.9.wq"));
        assertTrue(missing.getMessage().contains("layers.9.wq"), missing.getMessage());
    }
}
