package dev.sparsetrain.tensor;

/** Element types a backend may store. The CPU backends hold F32 and I32; the CUDA backend adds BF16. */
public enum DType {
    F32(4), I32(4), BF16(2);

    private final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    public int bytes() { return bytes; }
}
