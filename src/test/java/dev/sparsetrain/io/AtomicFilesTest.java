package dev.sparsetrain.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void replacesFileAndLeavesNoTempFiles() throws IOException {
        Path target = dir.resolve("state.json");
        AtomicFiles.writeString(target, "old");
        AtomicFiles.writeString(target, "new content");
        assertEquals("new content", Files.readString(target));
        assertEquals(List.of("state.json"), names(dir));
    }

    @Test
    void failureMidWriteKeepsOldContentAndLeavesNoTempFiles() throws IOException {
        Path target = dir.resolve("model.safetensors");
        AtomicFiles.writeString(target, "old");
        IOException thrown = assertThrows(IOException.class, () -> AtomicFiles.write(target, ch -> {
            AtomicFiles.writeFully(ch, ByteBuffer.wrap("half of the new".getBytes(StandardCharsets.UTF_8)));
            throw new IOException("disk full (simulated)");
        }));
        assertEquals("disk full (simulated)", thrown.getMessage());
        assertThrows(IllegalStateException.class, () -> AtomicFiles.write(target, ch -> {
            AtomicFiles.writeFully(ch, ByteBuffer.wrap(new byte[100]));
            throw new IllegalStateException("bug in the writer (simulated)");
        }));
        assertEquals("old", Files.readString(target));
        assertEquals(List.of("model.safetensors"), names(dir));
    }

    @Test
    void failedFirstWriteLeavesNothing() {
        Path target = dir.resolve("new.bin");
        assertThrows(IOException.class, () -> AtomicFiles.write(target, ch -> {
            throw new IOException("simulated");
        }));
        assertEquals(List.of(), names(dir));
    }

    @Test
    void replacesDirectoryAndRemovesOldVersion() throws IOException {
        Path target = dir.resolve("step_100");
        AtomicFiles.writeDirectory(target, d -> {
            Files.writeString(d.resolve("a.txt"), "version 1");
            Files.createDirectory(d.resolve("sub"));
            Files.writeString(d.resolve("sub/x.txt"), "nested");
        });
        assertEquals("nested", Files.readString(target.resolve("sub/x.txt")));
        AtomicFiles.writeDirectory(target, d -> Files.writeString(d.resolve("b.txt"), "version 2"));
        assertEquals(List.of("b.txt"), names(target));
        assertEquals("version 2", Files.readString(target.resolve("b.txt")));
        assertEquals(List.of("step_100"), names(dir));
    }

    @Test
    void failedDirectoryWriteKeepsOldVersionAndLeavesNoTemp() throws IOException {
        Path target = dir.resolve("export");
        AtomicFiles.writeDirectory(target, d -> Files.writeString(d.resolve("config.json"), "{}"));
        assertThrows(IOException.class, () -> AtomicFiles.writeDirectory(target, d -> {
            Files.writeString(d.resolve("config.json"), "{\"partial\":");
            throw new IOException("simulated");
        }));
        assertEquals("{}", Files.readString(target.resolve("config.json")));
        assertEquals(List.of("export"), names(dir));
    }

    @Test
    void parentThatIsARegularFileIsReportedAsNotWritable() throws IOException {
        Path file = dir.resolve("plain-file");
        Files.writeString(file, "x");
        Path target = file.resolve("out.bin");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.writeString(target, "data"));
        assertNotWritableMessage(e, file);
        IOException d = assertThrows(IOException.class, () -> AtomicFiles.writeDirectory(target, p -> {}));
        assertNotWritableMessage(d, file);
    }

    @Test
    void missingParentIsReportedAsNotWritable() {
        Path missing = dir.resolve("no-such-dir");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.writeString(missing.resolve("f"), "x"));
        assertNotWritableMessage(e, missing);
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void readOnlyDirectoryIsReportedAsNotWritable() throws IOException {
        Path ro = dir.resolve("read-only");
        Files.createDirectory(ro);
        Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            // root ignores permission bits; the regular-file-parent test covers that case.
            assumeFalse(Files.isWritable(ro), "running as root: a read-only directory is writable anyway");
            IOException e = assertThrows(IOException.class, () -> AtomicFiles.writeString(ro.resolve("f"), "x"));
            assertNotWritableMessage(e, ro);
        } finally {
            Files.setPosixFilePermissions(ro, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void directoryCannotReplaceARegularFile() throws IOException {
        Path target = dir.resolve("taken");
        Files.writeString(target, "keep me");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.writeDirectory(target, d -> {}));
        assertTrue(e.getMessage().contains(target.toString()) && e.getMessage().contains("not a directory"),
                e.getMessage());
        assertEquals("keep me", Files.readString(target));
        assertEquals(List.of("taken"), names(dir));
    }

    @Test
    void bytesAreWrittenExactly() throws IOException {
        Path target = dir.resolve("blob");
        byte[] data = new byte[3 * 1024 * 1024 + 7];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 31 + 7);
        AtomicFiles.write(target, data);
        assertArrayEquals(data, Files.readAllBytes(target));
    }

    private static void assertNotWritableMessage(IOException e, Path dir) {
        String m = e.getMessage();
        assertTrue(m.contains(dir.toAbsolutePath().toString()), "message should name " + dir + ": " + m);
        assertTrue(m.contains("not writable"), "message should say 'not writable': " + m);
    }

    private static List<String> names(Path d) {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
