package dev.sparsetrain.train;

import java.util.Locale;

/** The groups {@link TimedBackend} attributes backend time to, one per kind of kernel. */
public enum OpCategory {
    GEMM("matmul"),
    ATTENTION("attentionForward/Backward"),
    NORMS("rmsNormForward/Backward"),
    ROPE("ropeForward/Backward"),
    EMBEDDING("embeddingForward/Backward"),
    ACTIVATIONS("relu2*, swiglu*"),
    LOSS("crossEntropy"),
    OPTIMIZER("adamw, sumSquares"),
    MEMORY("zeros, fill, copy, scale, add, upload, download"),
    SPARSE("every SparseKernels call");

    private final String ops;

    OpCategory(String ops) { this.ops = ops; }

    /** The backend methods counted here, for help and reports. */
    public String ops() { return ops; }

    /** Lower-case name for tables and JSON keys. */
    public String label() { return name().toLowerCase(Locale.ROOT); }
}
