package dev.sparsetrain.cuda;

/** A device allocation failed for lack of memory; the message says how much was asked and what to lower. */
public final class CudaOutOfMemoryException extends CudaException {
    public CudaOutOfMemoryException(String message) { super(message); }
}
