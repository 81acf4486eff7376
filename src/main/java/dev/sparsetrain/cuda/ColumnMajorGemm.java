package dev.sparsetrain.cuda;

/**
 * A row-major GEMM of {@code Backend.matmul} restated for a column-major library (cuBLASLt).
 *
 * <p>A row-major [r, c] matrix is, read column-major, its transpose [c, r] with leading dimension c.
 * So row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: the library's first operand is
 * our B, its second our A, its result [n, m] with ld n, and each operand's transpose flag stays what
 * it was (B stored [k,n] reads as the [n,k] the library wants untransposed; B stored [n,k] reads as
 * [k,n] and needs the transpose). This swap works for every dtype and layout cuBLASLt supports,
 * where row-ordered layouts do not.
 *
 * @param rows     the library's M (our n)
 * @param cols     the library's N (our m)
 * @param depth    K (our k)
 * @param first    the library's A: our B
 * @param second   the library's B: our A
 * @param ldResult leading dimension of the column-major result (our ldc, at least n)
 */
public record ColumnMajorGemm(long rows, long cols, long depth, Operand first, Operand second, long ldResult) {

    /**
     * One column-major operand as the library sees it.
     *
     * @param transposed whether the library applies op T to it
     * @param rows       rows of the stored column-major matrix (before op)
     * @param cols       columns of the stored matrix
     * @param ld         leading dimension (at least rows; = rows when densely packed)
     */
    public record Operand(boolean transposed, long rows, long cols, long ld) {}

    /** The column-major form of row-major C[m,n] = op(A)·op(B) with inner dimension k, every operand densely packed. */
    public static ColumnMajorGemm of(int m, int n, int k, boolean transA, boolean transB) {
        return of(m, n, k, transA, transB, transA ? m : k, transB ? k : n, n);
    }

    /**
     * The column-major form of row-major C[m,n] (leading dimension ldc) = op(A)·op(B), where A is
     * stored [m,k] (or [k,m] when transA) with row stride lda, and B [k,n] (or [n,k] when transB)
     * with row stride ldb. A row stride of the row-major matrix is the leading dimension of the
     * column-major matrix it is read as, so the strides carry over unchanged.
     */
    public static ColumnMajorGemm of(int m, int n, int k, boolean transA, boolean transB, int lda, int ldb, int ldc) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("negative GEMM size m=" + m + " n=" + n + " k=" + k);
        checkStride("lda", lda, transA ? m : k, transA ? "[k,m]" : "[m,k]");
        checkStride("ldb", ldb, transB ? k : n, transB ? "[n,k]" : "[k,n]");
        checkStride("ldc", ldc, n, "[m,n]");
        // Our B: stored [k,n] (column-major [n,k]) or, transposed, [n,k] (column-major [k,n]).
        Operand first = transB ? new Operand(true, k, n, ldb) : new Operand(false, n, k, ldb);
        // Our A: stored [m,k] (column-major [k,m]) or, transposed, [k,m] (column-major [m,k]).
        Operand second = transA ? new Operand(true, m, k, lda) : new Operand(false, k, m, lda);
        return new ColumnMajorGemm(n, m, k, first, second, ldc);
    }

    private static void checkStride(String name, int ld, int rowLength, String stored) {
        if (ld < rowLength) {
            throw new IllegalArgumentException(name + "=" + ld + " is shorter than a row of the stored " + stored + " matrix ("
                    + rowLength + " elements)");
        }
    }
}
