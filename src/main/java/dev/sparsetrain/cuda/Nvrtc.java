package dev.sparsetrain.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Map;

/**
 * Hand-written downcalls into NVRTC, written from NVIDIA's documented signatures (no nvrtc.h on the
 * build machine): create a program from CUDA C++ source, compile it for one real architecture and
 * take the cubin. Every result goes through {@link #check}; a failed compile carries the program log.
 */
final class Nvrtc {
    private final NativeLibraries.Loaded library;
    private final MethodHandle version, getErrorString, createProgram, destroyProgram, compileProgram,
            getCubinSize, getCubin, getLogSize, getLog;

    private Nvrtc(NativeLibraries.Loaded lib) {
        this.library = lib;
        version = NativeCalls.bind(lib, "nvrtcVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getErrorString = NativeCalls.bind(lib, "nvrtcGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        // nvrtcCreateProgram(nvrtcProgram*, const char* src, const char* name, int numHeaders,
        //                    const char* const* headers, const char* const* includeNames)
        createProgram = NativeCalls.bind(lib, "nvrtcCreateProgram",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        destroyProgram = NativeCalls.bind(lib, "nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        compileProgram = NativeCalls.bind(lib, "nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS));
        getCubinSize = NativeCalls.bind(lib, "nvrtcGetCUBINSize", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        getCubin = NativeCalls.bind(lib, "nvrtcGetCUBIN", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        getLogSize = NativeCalls.bind(lib, "nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        getLog = NativeCalls.bind(lib, "nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
    }

    static Nvrtc load(LibrarySearchPath path) {
        return new Nvrtc(NativeLibraries.load(NativeLibraries.NVRTC, path));
    }

    String location() { return library.location(); }

    /** "major.minor" of the loaded NVRTC; part of the kernel cache key. */
    String version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment major = arena.allocate(JAVA_INT), minor = arena.allocate(JAVA_INT);
            check((int) version.invokeExact(major, minor), "nvrtcVersion");
            return major.get(JAVA_INT, 0) + "." + minor.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    /**
     * Compiles {@code source} (named {@code name} in diagnostics) with {@code options} to a cubin for
     * the real architecture the options name; {@code headers} (include name to text) are what its
     * {@code #include "..."} lines may name. A compile error throws with NVRTC's program log.
     */
    byte[] compileToCubin(String source, String name, List<String> options, Map<String, String> headers) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment programOut = arena.allocate(JAVA_LONG);
            MemorySegment headerTexts = MemorySegment.NULL, headerNames = MemorySegment.NULL;
            if (!headers.isEmpty()) {
                headerTexts = arena.allocate(ADDRESS, headers.size());
                headerNames = arena.allocate(ADDRESS, headers.size());
                int i = 0;
                for (var h : headers.entrySet()) {
                    headerNames.setAtIndex(ADDRESS, i, arena.allocateFrom(h.getKey()));
                    headerTexts.setAtIndex(ADDRESS, i, arena.allocateFrom(h.getValue()));
                    i++;
                }
            }
            check((int) createProgram.invokeExact(programOut, arena.allocateFrom(source), arena.allocateFrom(name), headers.size(),
                    headerTexts, headerNames), "nvrtcCreateProgram(" + name + ")");
            long program = programOut.get(JAVA_LONG, 0);
            try {
                MemorySegment optionArray = arena.allocate(ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) optionArray.setAtIndex(ADDRESS, i, arena.allocateFrom(options.get(i)));
                int rc = (int) compileProgram.invokeExact(program, options.size(), optionArray);
                if (rc != 0) {
                    throw new CudaException("NVRTC could not compile " + name + " (" + errorString(rc) + ", code " + rc
                            + ") with options " + options + ":\n" + log(program, arena));
                }
                MemorySegment size = arena.allocate(JAVA_LONG);
                check((int) getCubinSize.invokeExact(program, size), "nvrtcGetCUBINSize(" + name + ")");
                MemorySegment cubin = arena.allocate(size.get(JAVA_LONG, 0));
                check((int) getCubin.invokeExact(program, cubin), "nvrtcGetCUBIN(" + name + ")");
                return cubin.toArray(JAVA_BYTE);
            } finally {
                check((int) destroyProgram.invokeExact(programOut), "nvrtcDestroyProgram(" + name + ")");
            }
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }

    private String log(long program, Arena arena) throws Throwable {
        MemorySegment size = arena.allocate(JAVA_LONG);
        check((int) getLogSize.invokeExact(program, size), "nvrtcGetProgramLogSize");
        MemorySegment log = arena.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
        check((int) getLog.invokeExact(program, log), "nvrtcGetProgramLog");
        return log.getString(0).strip();
    }

    void check(int code, String call) {
        if (code != 0) throw new CudaException(call + " failed: " + errorString(code) + " (NVRTC code " + code + ")");
    }

    String errorString(int code) {
        try {
            return NativeCalls.cString((MemorySegment) getErrorString.invokeExact(code), "NVRTC_ERROR_" + code);
        } catch (Throwable t) {
            throw NativeCalls.rethrow(t);
        }
    }
}
