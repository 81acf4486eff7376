package dev.sparsetrain.io.metrics;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.sparsetrain.io.AtomicFiles;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Rewrites a metrics file (atomically) without the rows after a resume step and without a torn last
 * line, the only damage an append-only file takes when the process dies mid-write.
 */
final class MetricsTruncation {
    private MetricsTruncation() {}

    /** How a file's lines are told apart: an optional header line, and the step of each row. */
    interface RowFormat {
        /** Checks the first line when the format has a header; returns false when the first line is a row. */
        boolean checkHeader(Path file, String firstLine) throws IOException;

        long step(Path file, String line, int lineNumber) throws IOException;
    }

    static RowFormat csvRows(String expectedHeader) {
        return new RowFormat() {
            @Override
            public boolean checkHeader(Path file, String firstLine) throws IOException {
                if (!firstLine.equals(expectedHeader)) {
                    throw new IOException(file + " has the columns '" + firstLine + "' but this run logs '"
                            + expectedHeader + "'. Resume with the same settings, or start the run in a new directory.");
                }
                return true;
            }

            @Override
            public long step(Path file, String line, int lineNumber) throws IOException {
                int comma = line.indexOf(',');
                return parseStep(file, lineNumber, comma < 0 ? line : line.substring(0, comma));
            }
        };
    }

    static final RowFormat JSONL_ROWS = new RowFormat() {
        @Override
        public boolean checkHeader(Path file, String firstLine) { return false; }

        @Override
        public long step(Path file, String line, int lineNumber) throws IOException {
            try {
                JsonElement step = JsonParser.parseString(line).getAsJsonObject().get("step");
                if (step instanceof JsonPrimitive p && p.isNumber()) return parseStep(file, lineNumber, p.getAsString());
            } catch (JsonParseException | IllegalStateException e) {
                throw new IOException("Line " + lineNumber + " of " + file + " is not a JSON object: " + e.getMessage(), e);
            }
            throw new IOException("Line " + lineNumber + " of " + file + " has no numeric \"step\"");
        }
    };

    /**
     * Keeps the header and the rows with step at most {@code resumeStep}; returns the largest kept step,
     * or -1 when no row is kept.
     */
    static long truncate(Path file, long resumeStep, RowFormat format) throws IOException {
        boolean endsWithNewline = endsWithNewline(file);
        long[] lastKept = {-1};
        AtomicFiles.write(file, ch -> {
            Writer out = Channels.newWriter(ch, StandardCharsets.UTF_8);
            try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                String pending = in.readLine();
                int lineNumber = 1;
                while (pending != null) {
                    String next = in.readLine();
                    // A last line without its newline was cut off mid-write: drop it.
                    if (next == null && !endsWithNewline) break;
                    if (lineNumber == 1 && format.checkHeader(file, pending)) {
                        out.write(pending + "\n");
                    } else if (!pending.isBlank()) {
                        long step = format.step(file, pending, lineNumber);
                        if (step <= resumeStep) {
                            out.write(pending + "\n");
                            lastKept[0] = Math.max(lastKept[0], step);
                        }
                    }
                    pending = next;
                    lineNumber++;
                }
            }
            // Flush, not close: closing the writer would close the channel before AtomicFiles forces it.
            out.flush();
        });
        return lastKept[0];
    }

    private static long parseStep(Path file, int lineNumber, String text) throws IOException {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IOException("Line " + lineNumber + " of " + file + " starts with '" + text
                    + "', not a step number; fix or remove that line", e);
        }
    }

    private static boolean endsWithNewline(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() == 0) return true;
            ByteBuffer last = ByteBuffer.allocate(1);
            ch.read(last, ch.size() - 1);
            return last.get(0) == '\n';
        }
    }
}
