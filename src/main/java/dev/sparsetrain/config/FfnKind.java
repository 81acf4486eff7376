package dev.sparsetrain.config;

import com.google.gson.annotations.SerializedName;

/** The feed-forward block of each layer (SPEC.md §1). */
public enum FfnKind {
    /** Non-gated squared ReLU, Y = relu(X·W1ᵀ)²·W2ᵀ: the dense form of the sparse FFN. */
    @SerializedName("relu2") RELU2,
    /** Gated SiLU, Y = (silu(X·Wgᵀ) ⊙ X·Wuᵀ)·W2ᵀ: the dense baseline a PyTorch user would train. */
    @SerializedName("swiglu") SWIGLU
}
