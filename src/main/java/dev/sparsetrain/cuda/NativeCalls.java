package dev.sparsetrain.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The pieces every hand-written binding shares: binding a symbol of an opened library to a method
 * handle, reading C strings, and unwrapping what {@code invokeExact} throws.
 *
 * <p>Convention of the bindings: opaque handles (contexts, streams, modules, functions, cuBLASLt
 * descriptors) and device pointers are carried as Java {@code long}s and declared {@code JAVA_LONG}
 * in the function descriptors. On the LP64 ABIs CUDA supports (x86-64, aarch64) a pointer and a
 * 64-bit integer travel in the same registers, and longs spare a {@link MemorySegment} per argument
 * on the hot paths (launches, GEMMs, copies). Out-parameters are real segments.
 */
final class NativeCalls {
    static final Linker LINKER = Linker.nativeLinker();

    private NativeCalls() {}

    /** Binds {@code symbol} of {@code library}, or explains that the library is too old to have it. */
    @SuppressWarnings("restricted") // native access is enabled by the launcher and the build (--enable-native-access)
    static MethodHandle bind(NativeLibraries.Loaded library, String symbol, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment address = library.symbols().find(symbol).orElseThrow(() -> new CudaException(
                library.fileName() + " (" + library.location() + ") has no function " + symbol
                        + ": the library is older than sparsetrain needs (CUDA 12 or newer); point "
                        + LibrarySearchPath.OVERRIDE_VARIABLE + " at a newer one"));
        return LINKER.downcallHandle(address, descriptor, options);
    }

    /** Binds {@code symbol} when the library has it, else null (for functions only newer versions export). */
    @SuppressWarnings("restricted")
    static MethodHandle bindIfPresent(NativeLibraries.Loaded library, String symbol, FunctionDescriptor descriptor) {
        return library.symbols().find(symbol).map(a -> LINKER.downcallHandle(a, descriptor)).orElse(null);
    }

    /** The NUL-terminated string at {@code pointer}, or {@code fallback} for a null pointer. */
    @SuppressWarnings("restricted") // the libraries return static strings of unknown length
    static String cString(MemorySegment pointer, String fallback) {
        if (pointer.equals(MemorySegment.NULL)) return fallback;
        return pointer.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /**
     * What to throw for a {@link Throwable} out of {@code invokeExact}: our own runtime exceptions and
     * errors pass through unchanged; anything else cannot come from a downcall and is wrapped.
     */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new CudaException("unexpected checked exception from a native call", t);
    }

    /** A native call that writes its result through an out-pointer and returns a status code. */
    @FunctionalInterface
    interface OutCall {
        int call(MemorySegment out) throws Throwable;
    }

    /** A library's status check: throws for a failing code, naming the call. */
    @FunctionalInterface
    interface StatusCheck {
        void check(int status, String call);
    }

    /** Runs {@code call} with a fresh int out-pointer, checks its status and returns the int. */
    static int intOut(OutCall call, StatusCheck check, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            check.check(call.call(out), name);
            return out.get(ValueLayout.JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Runs {@code call} with a fresh 64-bit out-pointer (handles, pointers), checks its status and returns it. */
    static long longOut(OutCall call, StatusCheck check, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG);
            check.check(call.call(out), name);
            return out.get(ValueLayout.JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
