package dev.sparsetrain.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/** Turns the paths a user gives (files and folders) into the list of corpus files to read, in a fixed order. */
final class CorpusFiles {
    static final List<String> EXTENSIONS = List.of(".txt", ".jsonl");

    private CorpusFiles() {}

    /**
     * Files named directly must be {@code .txt} or {@code .jsonl}; folders contribute every such file below
     * them, sorted by path so the token order does not depend on the file system. Other files inside a
     * folder (a README, say) are skipped.
     *
     * @throws DataException if an input is missing, has an unsupported type, or a folder holds no corpus file
     */
    static List<Path> expand(List<Path> inputs) throws IOException {
        var files = new ArrayList<Path>();
        for (Path in : inputs) {
            if (Files.isDirectory(in)) {
                List<Path> found;
                try (Stream<Path> walk = Files.walk(in)) {
                    found = walk.filter(Files::isRegularFile).filter(CorpusFiles::supported).sorted().toList();
                }
                if (found.isEmpty()) {
                    throw new DataException("folder " + in + " holds no corpus file (" + String.join(", ", EXTENSIONS) + ")");
                }
                files.addAll(found);
            } else if (Files.isRegularFile(in)) {
                if (!supported(in)) {
                    throw new DataException("cannot read " + in + ": supported corpus files are " + String.join(", ", EXTENSIONS)
                            + " (UTF-8 text; jsonl with a \"text\" field per line)");
                }
                files.add(in);
            } else {
                throw new DataException("corpus input " + in + " does not exist");
            }
        }
        return files;
    }

    static boolean isJsonl(Path file) {
        return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".jsonl");
    }

    private static boolean supported(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return EXTENSIONS.stream().anyMatch(name::endsWith);
    }
}
