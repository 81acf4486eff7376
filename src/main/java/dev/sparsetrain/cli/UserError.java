package dev.sparsetrain.cli;

/** A problem with what the user asked for (paths, options); printed as one line, no stack trace. */
public final class UserError extends RuntimeException {
    public UserError(String message) { super(message); }
}
