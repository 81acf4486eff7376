package dev.sparsetrain.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds and opens CUDA's shared libraries along a {@link LibrarySearchPath}. Libraries stay loaded for
 * the life of the process ({@link Arena#global()}): the driver cannot be unloaded safely anyway.
 *
 * <p>Order: every file name in every override directory first (the user's explicit choice wins),
 * then for each file name, most preferred (newest) first, the dynamic linker and the other
 * directories. A library that is found but fails to load is reported and the search goes on.
 */
public final class NativeLibraries {

    /**
     * A library by the file names that may hold it, preferred first.
     *
     * @param description       what it is, for messages ("NVRTC")
     * @param fileNames         sonames to try, newest first
     * @param companionPrefixes files loaded from the same directory after the library, so that its
     *                          own dlopen of them finds them by soname (NVRTC's builtins library)
     */
    public record Library(String description, List<String> fileNames, List<String> companionPrefixes) {
        public Library {
            fileNames = List.copyOf(fileNames);
            companionPrefixes = List.copyOf(companionPrefixes);
        }
    }

    public static final Library DRIVER = new Library("CUDA driver", List.of("libcuda.so.1"), List.of());
    public static final Library NVRTC = new Library("NVRTC runtime compiler",
            List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"), List.of("libnvrtc-builtins.so"));
    public static final Library CUBLASLT = new Library("cuBLASLt",
            List.of("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"), List.of());
    /** 0.x keeps soname .so.0; the nvidia-cusparselt-cu12/cu13 wheels install it under nvidia/cusparselt/lib. */
    public static final Library CUSPARSELT = new Library("cuSPARSELt", List.of("libcusparseLt.so.0", "libcusparseLt.so"), List.of());

    /**
     * An opened library.
     *
     * @param fileName the file name that was loaded
     * @param location the path it was loaded from, or "dynamic linker"
     */
    public record Loaded(Library library, String fileName, String location, SymbolLookup symbols) {}

    private NativeLibraries() {}

    /** Opens {@code library} along this process's standard search path. */
    public static Loaded load(Library library) {
        return load(library, LibrarySearchPath.standard());
    }

    /** Opens {@code library} along {@code path}, or throws {@link MissingLibraryException} listing every place searched. */
    @SuppressWarnings("restricted") // loading native libraries is this class's job; the launcher enables native access
    public static Loaded load(Library library, LibrarySearchPath path) {
        List<String> failures = new ArrayList<>();
        for (Path dir : path.overrideDirs()) {
            for (String name : library.fileNames()) {
                Loaded l = tryFile(library, dir, name, failures);
                if (l != null) return l;
            }
        }
        for (String name : library.fileNames()) {
            if (path.systemLinker()) {
                try {
                    return new Loaded(library, name, "dynamic linker", SymbolLookup.libraryLookup(name, Arena.global()));
                } catch (IllegalArgumentException notOnLinkerPath) {
                    // The usual case when the library is not in ld.so.cache or LD_LIBRARY_PATH: try the directories.
                }
            }
            for (Path dir : path.directories()) {
                Loaded l = tryFile(library, dir, name, failures);
                if (l != null) return l;
            }
        }
        throw new MissingLibraryException(library.fileNames().getFirst(), notFoundMessage(library, path, failures));
    }

    @SuppressWarnings("restricted")
    private static Loaded tryFile(Library library, Path dir, String name, List<String> failures) {
        Path file = dir.resolve(name);
        if (!Files.exists(file)) return null;
        try {
            SymbolLookup symbols = SymbolLookup.libraryLookup(file, Arena.global());
            loadCompanions(library, dir);
            return new Loaded(library, name, file.toString(), symbols);
        } catch (IllegalArgumentException e) {
            failures.add(file + " exists but could not be loaded (" + e.getMessage()
                    + "; a missing dependency or the wrong architecture)");
            return null;
        }
    }

    @SuppressWarnings("restricted")
    private static void loadCompanions(Library library, Path dir) {
        for (String prefix : library.companionPrefixes()) {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, prefix + "*")) {
                for (Path f : files) {
                    try {
                        SymbolLookup.libraryLookup(f, Arena.global());
                    } catch (IllegalArgumentException unusable) {
                        // Best effort: the library may still find its companion through its own search.
                    }
                }
            } catch (IOException unreadable) {
                // Same: the companion is an aid, not a requirement.
            }
        }
    }

    static String notFoundMessage(Library library, LibrarySearchPath path, List<String> failures) {
        List<String> names = library.fileNames();
        String wanted = names.size() == 1 ? names.getFirst()
                : String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
        StringBuilder sb = new StringBuilder();
        sb.append("could not find the ").append(library.description()).append(" library (").append(wanted).append("). Searched:");
        sb.append("\n  ").append(LibrarySearchPath.OVERRIDE_VARIABLE).append(": ")
                .append(path.overrideDirs().isEmpty() ? "(not set)" : path.overrideDirs().toString());
        if (path.systemLinker()) sb.append("\n  the dynamic linker (ld.so.cache, LD_LIBRARY_PATH)");
        for (Path dir : path.directories()) sb.append("\n  ").append(dir);
        sb.append("\n  nvidia/*/lib of the Python environments ").append(String.join(", ", path.wheelPatterns()));
        for (String failure : failures) sb.append("\n  ").append(failure);
        sb.append("\nSet ").append(LibrarySearchPath.OVERRIDE_VARIABLE).append(" to the directory that holds ")
                .append(names.getFirst()).append(" (several directories separated by ':').");
        return sb.toString();
    }
}
