package dev.sparsetrain.sparse;

/** Argument checks shared by the sparse oracles, so every shape error reads the same way. */
final class Checks {
    private Checks() {}

    static void positive(int value, String name) {
        if (value <= 0) throw new IllegalArgumentException(name + " must be positive, got " + value);
    }

    static void multipleOf(int value, int divisor, String name) {
        if (value % divisor != 0) {
            throw new IllegalArgumentException(name + " must be a multiple of " + divisor + ", got " + value);
        }
    }

    /** The element count of a rows×cols matrix, rejecting shapes no Java array can hold. */
    static int elements(int rows, int cols) {
        positive(rows, "rows");
        positive(cols, "cols");
        long n = (long) rows * cols;
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(rows + "x" + cols + " has " + n
                    + " elements, more than a Java array holds; split the matrix");
        }
        return (int) n;
    }

    static void length(float[] a, long expected, String name) {
        if (a == null) throw new IllegalArgumentException(name + " is null");
        if (a.length != expected) {
            throw new IllegalArgumentException(name + " has " + a.length + " elements, expected " + expected);
        }
    }

    static void length(byte[] a, long expected, String name) {
        if (a == null) throw new IllegalArgumentException(name + " is null");
        if (a.length != expected) {
            throw new IllegalArgumentException(name + " has " + a.length + " elements, expected " + expected);
        }
    }

    static void length(short[] a, long expected, String name) {
        if (a == null) throw new IllegalArgumentException(name + " is null");
        if (a.length != expected) {
            throw new IllegalArgumentException(name + " has " + a.length + " elements, expected " + expected);
        }
    }

    static void length(int[] a, long expected, String name) {
        if (a == null) throw new IllegalArgumentException(name + " is null");
        if (a.length != expected) {
            throw new IllegalArgumentException(name + " has " + a.length + " elements, expected " + expected);
        }
    }

    static void distinct(Object out, Object in, String outName, String inName) {
        if (out == in) {
            throw new IllegalArgumentException(outName + " must not be the same array as " + inName);
        }
    }

    /** Rows per parallel chunk so that each chunk touches about 32k elements. */
    static int rowGrain(int cols) {
        return Math.max(1, 32_768 / Math.max(1, cols));
    }
}
