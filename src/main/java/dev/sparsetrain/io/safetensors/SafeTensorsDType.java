package dev.sparsetrain.io.safetensors;

/**
 * The element types of the safetensors format, named as they appear in a file's header. All are listed
 * so that a header written by PyTorch validates (and reports its sizes) even when its tensors are of a
 * type this project cannot convert; the sub-byte types of newer format versions are not supported.
 */
public enum SafeTensorsDType {
    BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1),
    I16(2), U16(2), F16(2), BF16(2),
    I32(4), U32(4), F32(4),
    I64(8), U64(8), F64(8);

    private final int bytes;

    SafeTensorsDType(int bytes) { this.bytes = bytes; }

    /** Size of one element in bytes. */
    public int bytes() { return bytes; }
}
