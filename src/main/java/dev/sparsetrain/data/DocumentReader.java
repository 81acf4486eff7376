package dev.sparsetrain.data;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.Strictness;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Reads the documents of one corpus file: a {@code .txt} file is one document; each non-blank line of a
 * {@code .jsonl} file is one document, its {@code "text"} string field. Input must be valid UTF-8: a
 * decoding error names the file instead of silently turning bytes into U+FFFD.
 */
final class DocumentReader {
    /** Strict, so a malformed line (unquoted strings, trailing garbage) is an error rather than guessed at. */
    private static final Gson STRICT_JSON = new GsonBuilder().setStrictness(Strictness.STRICT).create();

    private DocumentReader() {}

    /**
     * Passes each document of {@code file} to {@code sink}, in file order.
     *
     * @throws DataException if the file is not UTF-8, or a jsonl line is not a JSON object with a string
     *                       {@code "text"} field (the message names the file and line number)
     */
    static void forEachDocument(Path file, Consumer<String> sink) throws IOException {
        try {
            if (CorpusFiles.isJsonl(file)) readJsonl(file, sink); else sink.accept(readText(file));
        } catch (CharacterCodingException e) {
            throw new DataException(file + " is not valid UTF-8 (" + e + "); convert it first, e.g. iconv -f latin1 -t utf-8", e);
        }
    }

    private static String readText(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.UTF_8);
    }

    private static void readJsonl(Path file, Consumer<String> sink) throws IOException {
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        try (var in = new BufferedReader(new InputStreamReader(Files.newInputStream(file), decoder))) {
            String line;
            long lineNo = 0;
            while ((line = in.readLine()) != null) {
                lineNo++;
                // Blank lines (a trailing one, or spacing) carry no document; skipping them is not data loss.
                if (line.isBlank()) continue;
                sink.accept(textField(file, lineNo, line));
            }
        }
    }

    private static String textField(Path file, long lineNo, String line) {
        JsonElement parsed;
        try {
            parsed = STRICT_JSON.fromJson(line, JsonElement.class);
        } catch (JsonParseException e) {
            throw new DataException(file + ":" + lineNo + ": not valid JSON (" + e.getMessage() + ")", e);
        }
        if (!(parsed instanceof JsonObject obj)) {
            throw new DataException(file + ":" + lineNo + ": expected a JSON object with a \"text\" field, got " + abbreviate(line));
        }
        JsonElement text = obj.get("text");
        if (text == null || !text.isJsonPrimitive() || !text.getAsJsonPrimitive().isString()) {
            throw new DataException(file + ":" + lineNo + ": no string \"text\" field in " + abbreviate(line)
                    + "; every jsonl line must be an object like {\"text\": \"...\"}");
        }
        return text.getAsString();
    }

    private static String abbreviate(String line) {
        return line.length() <= 80 ? line : line.substring(0, 77) + "...";
    }
}
