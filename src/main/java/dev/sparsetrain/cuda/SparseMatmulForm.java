package dev.sparsetrain.cuda;

import java.util.List;

/**
 * How one layout that {@link SparseMatmul#run} accepts is described to cuSPARSELt. The sparse A is
 * always the structured operand, m×k, row-major, ld k, op N: that is the only form whose compressed
 * layout we reproduce (sparse.CusparseLtLayout), so it never moves. B's layout is carried by its
 * descriptor's order and op, D's (C is the same descriptor, updated in place) by its order.
 *
 * <p>{@link #candidates} lists the equivalent descriptions of one request, preferred first:
 * <ul>
 *   <li>B row-major k×n, stride ldb: a row-major k×n descriptor, op N; else the same memory read
 *       column-major as n×k (= Bᵀ), op T.
 *   <li>B column-major k×n, stride ldb: a row-major n×k descriptor (= Bᵀ), op T, which is how
 *       PyTorch's {@code _cslt_sparse_mm} passes a transposed B and what the H200 measurements of
 *       sparse-gpu-notes §5.3 ran; else a column-major k×n descriptor, op N.
 *   <li>D row-major m×n: a row-major descriptor with ld n. D column-major: a column-major
 *       descriptor with ld m (PyTorch's {@code transpose_result}). D has no op, and moving D's
 *       transpose into the problem (Dᵀ = Bᵀ·Aᵀ) would make A the right operand, whose compressed
 *       layout differs, so there is one form per D order.
 * </ul>
 * All orders are the library's own (cusparseOrder_t), so both forms compute the same product; the
 * second exists in case a library version rejects the first.
 *
 * @param opB    cusparseOperation_t applied to the B descriptor
 * @param bOrder cusparseOrder_t of the B descriptor
 * @param bRows  rows of the B descriptor (before op)
 * @param bCols  columns of the B descriptor
 * @param ldb    leading dimension of the B descriptor (the caller's stride)
 * @param dOrder cusparseOrder_t of the C and D descriptor (m×n)
 * @param ldd    leading dimension of the D descriptor
 */
record SparseMatmulForm(int opB, int bOrder, long bRows, long bCols, long ldb, int dOrder, long ldd) {

    /** The descriptions of D[m,n] = A[m,k]·B[k,n] in the requested layouts, preferred first. */
    static List<SparseMatmulForm> candidates(int m, int n, int k, boolean bColMajor, int ldb, boolean dColMajor) {
        int dOrder = dColMajor ? CusparseLt.ORDER_COL : CusparseLt.ORDER_ROW;
        long ldd = dColMajor ? m : n;
        if (bColMajor) {
            return List.of(new SparseMatmulForm(CusparseLt.OP_T, CusparseLt.ORDER_ROW, n, k, ldb, dOrder, ldd),
                    new SparseMatmulForm(CusparseLt.OP_N, CusparseLt.ORDER_COL, k, n, ldb, dOrder, ldd));
        }
        return List.of(new SparseMatmulForm(CusparseLt.OP_N, CusparseLt.ORDER_ROW, k, n, ldb, dOrder, ldd),
                new SparseMatmulForm(CusparseLt.OP_T, CusparseLt.ORDER_COL, n, k, ldb, dOrder, ldd));
    }

    /** The shape-free part of a form: which of the candidates it is, whatever n. */
    record Description(int opB, int bOrder, int dOrder) {}

    Description description() { return new Description(opB, bOrder, dOrder); }

    /** "B row-major 512x256 ld 256 op N, D column-major ld 128", for messages. */
    String describe() {
        return "B " + CusparseLt.orderName(bOrder) + " " + bRows + "x" + bCols + " ld " + ldb + " op " + CusparseLt.opName(opB)
                + ", D " + CusparseLt.orderName(dOrder) + " ld " + ldd;
    }
}
