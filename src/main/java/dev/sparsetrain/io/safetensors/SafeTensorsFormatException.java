package dev.sparsetrain.io.safetensors;

import java.io.IOException;
import java.nio.file.Path;

/** A safetensors file that is malformed; the message names the file and what is wrong with it. */
public final class SafeTensorsFormatException extends IOException {
    public SafeTensorsFormatException(Path file, String problem) {
        super("Malformed safetensors file " + file + ": " + problem);
    }
}
