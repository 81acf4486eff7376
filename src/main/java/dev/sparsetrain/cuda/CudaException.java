package dev.sparsetrain.cuda;

/**
 * A failed call into the CUDA stack (driver, NVRTC, cuBLASLt) or a CUDA environment problem. The
 * message names the call, the library's error code and its error name or string, and what to do
 * when there is something to do.
 */
public class CudaException extends RuntimeException {
    public CudaException(String message) { super(message); }

    public CudaException(String message, Throwable cause) { super(message, cause); }
}
