package dev.sparsetrain.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Writes files and whole directories so that a reader (or a resumed run after a crash) sees either the
 * complete old version or the complete new one, never a torn mix.
 *
 * <p>A file is written to a temporary sibling, forced to disk, renamed over the target with
 * {@code ATOMIC_MOVE} and then the directory entry is forced too, so the rename itself survives a power
 * loss. A directory is built under {@code NAME.tmp-<random>}; an existing {@code NAME} is renamed to
 * {@code NAME.old-<random>} and deleted only after the new one is in place, so a crash between the two
 * renames leaves the previous version on disk under that name instead of losing it.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes the body of a file through the channel of its temporary sibling. */
    @FunctionalInterface
    public interface FileBody {
        void write(FileChannel channel) throws IOException;
    }

    /** Fills a fresh, empty directory with the files of a new version. */
    @FunctionalInterface
    public interface DirectoryBody {
        void write(Path directory) throws IOException;
    }

    /** Replaces {@code target} atomically with the bytes {@code body} writes; on any error the old file stays. */
    public static void write(Path target, FileBody body) throws IOException {
        Path dir = parentOf(target);
        requireWritableDirectory(dir, target);
        Path tmp = dir.resolve("." + target.getFileName() + ".tmp-" + randomSuffix());
        FileChannel channel;
        try {
            channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        } catch (AccessDeniedException e) {
            throw notWritable(dir, target, "permission denied");
        }
        try {
            try (FileChannel ch = channel) {
                body.write(ch);
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (Throwable t) {
            cleanUp(tmp, t);
            throw t;
        }
        forceDirectory(dir);
    }

    /** Replaces {@code target} atomically with {@code bytes}. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, ch -> writeFully(ch, ByteBuffer.wrap(bytes)));
    }

    /** Replaces {@code target} atomically with {@code text} in UTF-8. */
    public static void writeString(Path target, String text) throws IOException {
        write(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Replaces the directory {@code target} with the one {@code body} fills. Every regular file in it is
     * forced to disk before the rename. On any error {@code target} keeps its old content.
     */
    public static void writeDirectory(Path target, DirectoryBody body) throws IOException {
        Path parent = parentOf(target);
        requireWritableDirectory(parent, target);
        if (Files.exists(target) && !Files.isDirectory(target)) {
            throw new IOException("Cannot replace " + target + " with a directory: it exists and is not a directory."
                    + " Move it away or choose another name.");
        }
        String name = target.getFileName().toString();
        Path tmp = parent.resolve(name + ".tmp-" + randomSuffix());
        try {
            Files.createDirectory(tmp);
        } catch (AccessDeniedException e) {
            throw notWritable(parent, target, "permission denied");
        }
        Path old = null;
        try {
            body.write(tmp);
            forceTree(tmp);
            if (Files.exists(target)) {
                old = parent.resolve(name + ".old-" + randomSuffix());
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (Throwable t) {
            if (old != null && !Files.exists(target)) restore(old, target, t);
            cleanUp(tmp, t);
            throw t;
        }
        forceDirectory(parent);
        if (old != null) deleteTree(old);
    }

    /** Writes all of {@code buffer} to {@code channel}; a channel may accept fewer bytes than offered per call. */
    public static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) channel.write(buffer);
    }

    private static Path parentOf(Path target) {
        Path abs = target.toAbsolutePath();
        if (abs.getParent() == null) throw new IllegalArgumentException("Cannot write the file-system root " + target);
        return abs.getParent();
    }

    /**
     * Fails early with a message that names the directory, because the exceptions the file system throws
     * later ("Not a directory", a bare path) do not say what the user should fix.
     */
    private static void requireWritableDirectory(Path dir, Path target) throws IOException {
        if (!Files.exists(dir)) {
            throw notWritable(dir, target, "it does not exist; create it first");
        }
        if (!Files.isDirectory(dir)) {
            throw notWritable(dir, target, "it is not a directory");
        }
        if (!Files.isWritable(dir)) {
            throw notWritable(dir, target, "permission denied");
        }
    }

    private static IOException notWritable(Path dir, Path target, String why) {
        return new IOException("Cannot write " + target + ": directory " + dir + " is not writable (" + why + ")."
                + " Choose a writable output directory.");
    }

    private static String randomSuffix() {
        byte[] b = new byte[6];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /** Forces every regular file and directory under {@code root} to disk. */
    private static void forceTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                if (Files.isRegularFile(p)) {
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                        ch.force(true);
                    }
                } else if (Files.isDirectory(p)) {
                    forceDirectory(p);
                }
            }
        }
    }

    /**
     * Forces a directory's entries to disk so a rename in it is durable. Linux and macOS allow opening a
     * directory for this; Windows does not (and makes renames durable itself), so failure there is ignored.
     */
    private static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // The platform cannot open directories as files; the rename is as durable as it allows.
        }
    }

    /** Deletes a temporary file or directory after a failure, keeping the failure as the reported cause. */
    private static void cleanUp(Path tmp, Throwable failure) {
        try {
            deleteTree(tmp);
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    private static void restore(Path old, Path target, Throwable failure) {
        try {
            Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            failure.addSuppressed(new IOException("The previous " + target + " is kept as " + old, e));
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.delete(p);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
