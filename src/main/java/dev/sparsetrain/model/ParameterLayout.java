package dev.sparsetrain.model;

import dev.sparsetrain.config.FfnKind;
import dev.sparsetrain.config.ModelConfig;
import dev.sparsetrain.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where every parameter lives in the one flat F32 parameter buffer; the gradient buffer uses the same
 * layout. Order and names follow a Hugging Face Llama checkpoint so export is a renaming:
 * <pre>
 * tok_embedding          [V, d]       model.embed_tokens
 * layers.{i}.attn_norm   [d]          model.layers.{i}.input_layernorm
 * layers.{i}.wq          [d, d]       ...self_attn.q_proj
 * layers.{i}.wk          [kvDim, d]   ...self_attn.k_proj
 * layers.{i}.wv          [kvDim, d]   ...self_attn.v_proj
 * layers.{i}.wo          [d, d]       ...self_attn.o_proj
 * layers.{i}.ffn_norm    [d]          model.layers.{i}.post_attention_layernorm
 * relu2:  layers.{i}.w1 [F, d], layers.{i}.w2 [d, F]
 * swiglu: layers.{i}.w_gate [F, d] (mlp.gate_proj), layers.{i}.w_up [F, d] (mlp.up_proj), layers.{i}.w2 [d, F] (mlp.down_proj)
 * final_norm             [d]          model.norm
 * lm_head                [V, d]       lm_head
 * </pre>
 * Each offset is a multiple of {@link #ALIGNMENT} elements; the gaps between tensors stay zero.
 */
public final class ParameterLayout {
    /**
     * Offsets are multiples of 64 floats (256 bytes), the alignment of a fresh CUDA allocation, so every
     * parameter view is as aligned as its own buffer would be for vectorised loads and cuBLASLt.
     */
    public static final int ALIGNMENT = 64;

    private final ModelConfig config;
    private final List<ParameterSpec> parameters;
    private final Map<String, ParameterSpec> byName;
    private final long totalElements;

    private ParameterLayout(ModelConfig config, List<ParameterSpec> parameters, long totalElements) {
        this.config = config;
        this.parameters = List.copyOf(parameters);
        this.byName = new LinkedHashMap<>();
        for (ParameterSpec p : parameters) byName.put(p.name(), p);
        this.totalElements = totalElements;
    }

    /** The layout of a model with this configuration. */
    public static ParameterLayout of(ModelConfig c) {
        var b = new Builder();
        long d = c.dim(), f = c.ffnHidden(), v = c.vocabSize();
        b.add("tok_embedding", ParameterRole.EMBEDDING, v, d);
        for (int i = 0; i < c.layers(); i++) {
            b.add(layerName(i, "attn_norm"), ParameterRole.NORM, d);
            b.add(layerName(i, "wq"), ParameterRole.MATRIX, d, d);
            b.add(layerName(i, "wk"), ParameterRole.MATRIX, c.kvDim(), d);
            b.add(layerName(i, "wv"), ParameterRole.MATRIX, c.kvDim(), d);
            b.add(layerName(i, "wo"), ParameterRole.OUTPUT_PROJECTION, d, d);
            b.add(layerName(i, "ffn_norm"), ParameterRole.NORM, d);
            if (c.ffn() == FfnKind.SWIGLU) {
                b.add(layerName(i, "w_gate"), ParameterRole.MATRIX, f, d);
                b.add(layerName(i, "w_up"), ParameterRole.MATRIX, f, d);
            } else {
                b.add(layerName(i, "w1"), ParameterRole.MATRIX, f, d);
            }
            b.add(layerName(i, "w2"), ParameterRole.OUTPUT_PROJECTION, d, f);
        }
        b.add("final_norm", ParameterRole.NORM, d);
        b.add("lm_head", ParameterRole.MATRIX, v, d);
        return new ParameterLayout(c, b.specs, b.next);
    }

    /** The name of a per-layer parameter: {@code layerName(3, "wq")} is {@code layers.3.wq}. */
    public static String layerName(int layer, String parameter) {
        return "layers." + layer + "." + parameter;
    }

    /** The configuration this layout was built for. */
    public ModelConfig config() { return config; }

    /** All parameters in buffer order: (name, shape, offset, role / applyWeightDecay). */
    public List<ParameterSpec> parameters() { return parameters; }

    /** The parameter called {@code name}. */
    public ParameterSpec spec(String name) {
        ParameterSpec p = byName.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no parameter named '" + name + "'; this layout has " + byName.keySet());
        }
        return p;
    }

    /** The view of parameter {@code name} inside {@code flat}, a parameter or gradient buffer of this layout. */
    public Tensor view(Tensor flat, String name) {
        if (flat.numel() != totalElements) {
            throw new IllegalArgumentException("buffer " + flat + " has " + flat.numel() + " elements but this layout needs "
                    + totalElements + "; allocate it with totalElements()");
        }
        ParameterSpec p = spec(name);
        return flat.view(p.offset(), p.dims());
    }

    /** Elements of the flat buffer, alignment gaps included. */
    public long totalElements() { return totalElements; }

    /** Number of trainable values (no gaps); equals {@link ModelConfig#parameterCount()}. */
    public long parameterCount() {
        return parameters.stream().mapToLong(ParameterSpec::numel).sum();
    }

    private static final class Builder {
        final List<ParameterSpec> specs = new ArrayList<>();
        long next;

        void add(String name, ParameterRole role, long... shape) {
            var spec = new ParameterSpec(name, Arrays.stream(shape).boxed().toList(), next, role);
            specs.add(spec);
            next = Math.ceilDiv(next + spec.numel(), ALIGNMENT) * ALIGNMENT;
        }
    }
}
