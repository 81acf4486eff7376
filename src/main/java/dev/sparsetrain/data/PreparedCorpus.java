package dev.sparsetrain.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A folder of prepared shards and its manifest: what {@link CorpusPreparer} writes and what a trainer
 * reads to find its shards.
 *
 * @param dir      the folder holding the shards and {@code manifest.json}
 * @param manifest its manifest
 */
public record PreparedCorpus(Path dir, Manifest manifest) {

    /** Reads the manifest of a prepared folder. */
    public static PreparedCorpus load(Path dir) throws IOException {
        return new PreparedCorpus(dir, Manifest.read(dir));
    }

    /** Training shard paths, in reading order. */
    public List<Path> trainShards() {
        return paths(manifest.train());
    }

    /** Validation shard paths, in reading order (empty if none were prepared). */
    public List<Path> valShards() {
        return paths(manifest.val());
    }

    private List<Path> paths(Manifest.Split split) {
        return split.shards().stream().map(s -> dir.resolve(s.file())).toList();
    }
}
