package dev.sparsetrain.cuda;

/**
 * This machine cannot run CUDA at all: no driver library, no device, or a device ordinal that does
 * not exist. Commands report it as "no GPU" rather than as a failure of our code.
 */
public final class CudaUnavailableException extends CudaException {
    public CudaUnavailableException(String message) { super(message); }

    public CudaUnavailableException(String message, Throwable cause) { super(message, cause); }
}
