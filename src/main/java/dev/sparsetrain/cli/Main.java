package dev.sparsetrain.cli;

/** Entry point of the sparsetrain command line. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.out.println("sparsetrain");
    }
}
