package dev.sparsetrain.cuda;

/** A CUDA library was not found anywhere we looked; the message lists every place and the variable to set. */
public final class MissingLibraryException extends CudaException {
    private final String fileName;

    public MissingLibraryException(String fileName, String message) {
        super(message);
        this.fileName = fileName;
    }

    /** The preferred file name of the library that is missing, e.g. {@code libnvrtc.so.13}. */
    public String fileName() { return fileName; }
}
