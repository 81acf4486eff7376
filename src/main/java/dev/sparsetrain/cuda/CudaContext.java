package dev.sparsetrain.cuda;

/**
 * One device as the backend uses it: its primary context (shared with cuBLASLt and any CUDA runtime
 * code in the process, unlike a context of our own) and the one stream all our work goes on.
 *
 * <p>A CUDA context is current per thread. Every backend entry point calls {@link #makeCurrent()},
 * which costs a thread-local read when this context is already current on the calling thread, so
 * the backend may be used from any one thread at a time (never from several at once).
 */
final class CudaContext implements AutoCloseable {
    /** The context last made current on each thread, by identity (a released and re-retained primary context keeps its handle). */
    private static final ThreadLocal<CudaContext> CURRENT = new ThreadLocal<>();

    final Driver driver;
    final int ordinal;
    final String deviceName;
    final int major;
    final int minor;
    final int multiprocessors;
    final int maxSharedBytesPerBlock;
    private final int device;
    private final long context;
    private final long stream;
    private boolean closed;

    private CudaContext(Driver driver, int ordinal, int device) {
        this.driver = driver;
        this.ordinal = ordinal;
        this.device = device;
        this.deviceName = driver.deviceName(device);
        this.major = driver.attribute(device, Driver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        this.minor = driver.attribute(device, Driver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        this.multiprocessors = driver.attribute(device, Driver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        this.maxSharedBytesPerBlock = driver.attribute(device, Driver.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        this.context = driver.primaryContextRetain(device);
        long s;
        try {
            driver.setCurrent(context);
            CURRENT.set(this);
            s = driver.streamCreate(Driver.CU_STREAM_DEFAULT);
        } catch (RuntimeException e) {
            CURRENT.remove();
            driver.primaryContextRelease(device);
            throw e;
        }
        this.stream = s;
    }

    /** Initialises the driver and opens device {@code ordinal}; "no device" is a {@link CudaUnavailableException}. */
    static CudaContext open(Driver driver, int ordinal) {
        int rc = driver.init();
        if (rc == Driver.CUDA_ERROR_NO_DEVICE) {
            throw new CudaUnavailableException("no CUDA device: the driver (" + driver.location()
                    + ") found no GPU (cuInit: CUDA_ERROR_NO_DEVICE). Check nvidia-smi and CUDA_VISIBLE_DEVICES, or use --device cpu.");
        }
        driver.check(rc, "cuInit");
        int count = driver.deviceCount();
        if (count == 0) {
            throw new CudaUnavailableException("no CUDA device: the driver found no GPU. Check nvidia-smi and CUDA_VISIBLE_DEVICES, or use --device cpu.");
        }
        if (ordinal < 0 || ordinal >= count) {
            throw new CudaUnavailableException("cuda:" + ordinal + " does not exist: this machine has " + count
                    + " visible GPU(s), cuda:0 to cuda:" + (count - 1));
        }
        return new CudaContext(driver, ordinal, driver.device(ordinal));
    }

    /** The stream all of this device's work is queued on. */
    long stream() { return stream; }

    /** Binds this context to the calling thread unless it already is. */
    void makeCurrent() {
        if (closed) throw new IllegalStateException("the CUDA backend for cuda:" + ordinal + " is closed");
        if (CURRENT.get() != this) {
            driver.setCurrent(context);
            CURRENT.set(this);
        }
    }

    /** Waits for everything queued on the stream; asynchronous kernel errors surface here. */
    void synchronize() {
        makeCurrent();
        driver.streamSynchronize(stream);
    }

    @Override
    public void close() {
        if (closed) return;
        makeCurrent();
        try {
            driver.streamSynchronize(stream);
        } finally {
            closed = true;
            try {
                driver.streamDestroy(stream);
            } finally {
                if (CURRENT.get() == this) CURRENT.remove();
                driver.primaryContextRelease(device);
            }
        }
    }
}
