package dev.sparsetrain.config;

/** An invalid configuration value; the message names the key and the constraint. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) { super(message); }
}
