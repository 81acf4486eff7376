// Causal grouped-query flash attention, forward and backward, FlashAttention-2 style on bf16 tensor
// cores: the "fa2" attention mode of the CUDA backend. Contract as attention.cu and attention_tc.cu:
// q, out, dq, dOut [batch * seqLen, nHeads * HD]; k, v, dk, dv [batch * seqLen, nKvHeads * HD]; lse
// [batch, nHeads, seqLen] (natural log); query head h reads kv head h / (nHeads / nKvHeads); scores
// are q.k * scale. Head dims 64 and 128; the host sends other head dims to the other modes.
//
// Calls (CudaKernels queues them in this order on one stream; AttentionScratch owns the buffers):
//   forward:  attention_fa2_convert_qkv (q, k, v -> bf16 copies), attention_fa2_forward_hd{64,128}
//   backward: attention_fa2_convert_qkv, attention_fa2_backward_prepare (D = rowsum(dOut * out) in
//             fp32, dOut -> bf16, dQ accumulator zeroed), attention_fa2_backward_hd{64,128} (dK, dV
//             written, dQ added into the fp32 accumulator), attention_fa2_backward_finish (dq =
//             accumulator * scale).
// Rounding q, k, v, dOut to bf16 once per call (nearest, ties to even, as attention_tc.cu does while
// staging) lets every tile move global -> shared by 16-byte cp.async copies that hold no registers,
// double-buffered so that the next tile is in flight while this one is used. The scratch buffers are
// fresh allocations, so every 16-byte chunk of a head row is 16-byte aligned.
//
// Fragment layouts of mma.m16n8k16 (PTX ISA), with g = lane / 4 and t = lane % 4; a register holds
// two bf16, the lower-indexed element in the low half:
//   A (16x16, row-major): a0 = A[g][2t..2t+1], a1 = A[g+8][2t..2t+1], a2 = A[g][2t+8..2t+9],
//                         a3 = A[g+8][2t+8..2t+9]
//   B (16x8, "col"):      b0 = B[2t..2t+1][g], b1 = B[2t+8..2t+9][g]
//   C, D (16x8, fp32):    c0, c1 = C[g][2t], C[g][2t+1]; c2, c3 = C[g+8][2t], C[g+8][2t+1]
// An accumulator pair over 16 columns (two n8 tiles) is exactly the A fragment of the next product
// over those 16 as its k-step, so P and dS go from one mma to the next without leaving registers.
//
// ldmatrix.x4 loads four 8x8 bf16 matrices; lane L gives the address of row L % 8 of matrix L / 8
// (16 contiguous bytes), and register i receives matrix i: without .trans lane l gets row l / 4,
// elements 2(l % 4) and 2(l % 4) + 1; with .trans it gets element l / 4 of rows 2(l % 4) and
// 2(l % 4) + 1. So, for a row-major shared tile T[row][col]:
//   A fragment of rows r..r+15, cols c..c+15:   matrix i at (r + 8(i & 1), c + 8(i >> 1)), no .trans
//   B fragments with B[k][n] = T[n][k] (K for S = Q.K^T), n8 tiles n, n+8 and k-step c:
//                                              matrix i at (n + 8(i >> 1), c + 8(i & 1)), no .trans
//   B fragments with B[k][n] = T[k][n] (V for O = P.V), k-step k and n8 tiles n, n+8:
//                                              matrix i at (k + 8(i & 1), n + 8(i >> 1)), .trans
// giving b0, b1 of the first n8 tile in registers 0, 1 and of the second in 2, 3.
//
// Shared rows are padded by 8 bf16 (16 bytes) so that the 8 rows of one 8x8 matrix fall on 8
// distinct 16-byte bank groups (row stride 144 or 272 bytes = 4 words mod 32): ldmatrix and the
// 16-byte cp.async stores are free of bank conflicts.

constexpr float FA2_LOG2E = 1.4426950408889634f;
constexpr float FA2_LN2 = 0.6931471805599453f;
constexpr int FA2_THREADS = 256;       // forward and backward: 8 warps
constexpr int FA2_PAD = 8;             // bf16 of padding per shared row
constexpr int FA2_FWD_QUERIES = 128;   // forward: queries per block, 16 per warp
constexpr int FA2_FWD_KEYS = 64;       // forward: keys per K/V tile
constexpr int FA2_BWD_KEYS = 128;      // backward: keys per block, 16 per warp
constexpr int FA2_BWD_QUERIES = 64;    // backward: queries per Q/dO tile
constexpr int FA2_PASS_THREADS = 256;  // the conversion, prepare and finish passes

// Dynamic shared memory of the forward: two buffers of a K and a V tile (the Q tile is staged in the
// second before the loop starts). CudaKernels passes these sizes; the asserts pin its copies.
template <int HD>
constexpr int fa2_forward_shared_bytes() { return 4 * FA2_FWD_KEYS * (HD + FA2_PAD) * 2; }

// The backward's: K and V of the block, two buffers of a Q and a dOut tile, dS^T of one step
// (keys x queries), and two buffers of the step's lse and D.
template <int HD>
constexpr int fa2_backward_shared_bytes() {
    return (2 * FA2_BWD_KEYS + 4 * FA2_BWD_QUERIES) * (HD + FA2_PAD) * 2 + FA2_BWD_KEYS * (FA2_BWD_QUERIES + FA2_PAD) * 2
           + 4 * FA2_BWD_QUERIES * 4;
}

static_assert(fa2_forward_shared_bytes<64>() == 36864 && fa2_forward_shared_bytes<128>() == 69632,
              "CudaKernels mirrors the forward's shared memory sizes");
static_assert(fa2_backward_shared_bytes<64>() == 93184 && fa2_backward_shared_bytes<128>() == 158720,
              "CudaKernels mirrors the backward's shared memory sizes");

extern __shared__ uint4 fa2_smem[];

// ---- hardware primitives ------------------------------------------------------------------------
// The functions of this section are inline PTX. AttentionFa2EmulationTest compiles this file as host C++
// with ATTENTION_FA2_HOST_EMULATION defined and its own definitions of these functions, to run the
// kernels on the CPU with 32 lanes per warp in lockstep.
#ifndef ATTENTION_FA2_HOST_EMULATION

// The shared-window byte address of a generic pointer into shared memory. The kernels take it once
// and address shared memory by 32-bit offsets from it, which 64-bit generic pointers would cost
// registers for (inline PTX rather than __cvta_generic_to_shared: NVRTC compiles without headers).
__device__ __forceinline__ unsigned int fa2_shared_address(const void* p) {
    unsigned int address;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(address) : "l"(p));
    return address;
}

// 16 bytes global -> shared (dst a shared-window byte address), asynchronously; when !valid nothing
// is read and the 16 bytes are zeroed.
__device__ __forceinline__ void fa2_cp_async_16(unsigned int dst, const void* src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}

// 4 bytes global -> shared, asynchronously; when !valid nothing is read and the 4 bytes are zeroed.
__device__ __forceinline__ void fa2_cp_async_4(unsigned int dst, const void* src, bool valid) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 4 : 0));
}

__device__ __forceinline__ void fa2_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

// Waits until at most N of this thread's committed cp.async groups are still in flight.
template <int N>
__device__ __forceinline__ void fa2_cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// rowAddress: this lane's row of the four 8x8 matrices, a shared-window byte address.
__device__ __forceinline__ void fa2_ldmatrix_x4(unsigned int (&r)[4], unsigned int rowAddress) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(rowAddress));
}

__device__ __forceinline__ void fa2_ldmatrix_x4_trans(unsigned int (&r)[4], unsigned int rowAddress) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(rowAddress));
}

// Plain 32-bit shared memory accesses at shared-window byte addresses.
__device__ __forceinline__ void fa2_store_shared(unsigned int address, unsigned int value) {
    asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(address), "r"(value) : "memory");
}

__device__ __forceinline__ float fa2_load_shared(unsigned int address) {
    float value;
    asm volatile("ld.shared.f32 %0, [%1];\n" : "=f"(value) : "r"(address) : "memory");
    return value;
}

// d += A.B for one m16n8k16 tile, bf16 operands and fp32 accumulators (layouts in the header).
__device__ __forceinline__ void fa2_mma(float (&d)[4], const unsigned int (&a)[4], unsigned int b0, unsigned int b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats rounded to bf16 (nearest, ties to even) in one register, lo in the low half.
__device__ __forceinline__ unsigned int fa2_pack_bf16(float lo, float hi) {
    unsigned int r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

// address[0] += a, address[1] += b as one 8-byte reduction (address 8-byte aligned).
__device__ __forceinline__ void fa2_red_add_v2(float* address, float a, float b) {
    asm volatile("red.global.add.v2.f32 [%0], {%1, %2};\n" ::"l"(address), "f"(a), "f"(b) : "memory");
}

#endif

// ---- shared helpers -----------------------------------------------------------------------------

__device__ __forceinline__ float fa2_negative_infinity() { return __int_as_float(0xff800000); }

// Rows [first, first + ROWS) of one head (HD bf16 starting at `head`, rows `width` elements apart)
// into the shared tile [ROWS][HD + FA2_PAD] at shared-window address `tile` by 16-byte cp.async
// copies; rows at or past seqLen are zero-filled (a zero V row keeps 0 * garbage out of the
// products). Not committed here.
template <int HD, int ROWS>
__device__ __forceinline__ void fa2_load_tile(unsigned int tile, const unsigned short* __restrict__ head,
                                              long long width, int first, int seqLen) {
    constexpr int CHUNKS = HD / 8;  // 16-byte chunks per row
    static_assert(ROWS * CHUNKS % FA2_THREADS == 0, "every thread copies the same number of chunks");
    // Kept rolled: unrolled, the copies' 64-bit addresses cost the forward at head dim 64 the
    // registers that keep it at 128 (two blocks per multiprocessor).
#pragma unroll 1
    for (int i = threadIdx.x; i < ROWS * CHUNKS; i += FA2_THREADS) {
        const int r = i / CHUNKS, c = i % CHUNKS, pos = first + r;
        const bool valid = pos < seqLen;
        // An invalid row still gets an address inside the head (row 0), though nothing is read from it.
        fa2_cp_async_16(tile + 2 * (r * (HD + FA2_PAD) + 8 * c), head + (long long) (valid ? pos : 0) * width + 8 * c, valid);
    }
}

// ---- forward ------------------------------------------------------------------------------------
// Grid (nHeads, batch, query tiles of 128), block FA2_THREADS: warp w owns queries 16w..16w+15 of
// the tile, keeps their Q fragments and the fp32 O accumulator in registers, and streams the K/V
// tiles up to the diagonal; the online softmax is in base 2 (one exp2f per probability), and P is
// rounded to bf16 before P.V, as in FlashAttention-2. The tile is the slowest grid dimension and
// runs last-first: the tiles that see the most keys start first for every head and batch row, and
// the short ones fill in at the end. A warp skips a key tile that lies wholly after its queries and
// masks only one that reaches past its first query.
template <int HD>
__device__ __forceinline__ void fa2_forward(float* __restrict__ out, float* __restrict__ lse,
                                            const unsigned short* __restrict__ q16, const unsigned short* __restrict__ k16,
                                            const unsigned short* __restrict__ v16, int seqLen, int nHeads, int nKvHeads,
                                            float scale) {
    static_assert(HD == 64 || HD == 128, "fa2 attention kernels exist for head dims 64 and 128");
    constexpr int ROW = HD + FA2_PAD;                 // shared row, bf16
    constexpr int KEYS = FA2_FWD_KEYS;
    constexpr int TILE = 2 * KEYS * ROW;              // one K or V tile, bytes
    constexpr int KSTEPS = HD / 16, DTILES = HD / 8, STILES = KEYS / 8;
    static_assert(2 * FA2_FWD_QUERIES * ROW == 2 * TILE, "the Q tile is staged in the second K/V buffer");
    // Buffer b holds K at smem + 2b * TILE and V at smem + (2b + 1) * TILE (shared-window bytes).
    const unsigned int smem = fa2_shared_address(fa2_smem);

    const int h = blockIdx.x, b = blockIdx.y, tile = gridDim.z - 1 - blockIdx.z;
    const int kvHead = h / (nHeads / nKvHeads);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int mi = lane / 8, mr = lane % 8;  // the 8x8 matrix this lane addresses for ldmatrix, and its row
    const long long qWidth = (long long) nHeads * HD, kvWidth = (long long) nKvHeads * HD;
    const long long batchRow = (long long) b * seqLen;
    const int q0 = tile * FA2_FWD_QUERIES;
    const int warpRow = q0 + 16 * warp;                     // this warp's first query
    const int row0 = warpRow + g, row1 = row0 + 8;          // this lane's two query rows
    const float factor = scale * FA2_LOG2E;                 // scores in base 2
    const unsigned short* kHead = k16 + batchRow * kvWidth + (long long) kvHead * HD;
    const unsigned short* vHead = v16 + batchRow * kvWidth + (long long) kvHead * HD;
    const int keyTiles = (min(seqLen, q0 + FA2_FWD_QUERIES) + KEYS - 1) / KEYS;

    fa2_load_tile<HD, FA2_FWD_QUERIES>(smem + 2 * TILE, q16 + batchRow * qWidth + (long long) h * HD, qWidth, q0, seqLen);
    fa2_load_tile<HD, KEYS>(smem, kHead, kvWidth, 0, seqLen);
    fa2_load_tile<HD, KEYS>(smem + TILE, vHead, kvWidth, 0, seqLen);
    fa2_cp_async_commit();
    fa2_cp_async_wait<0>();
    __syncthreads();
    unsigned int qa[KSTEPS][4];  // A fragments of this warp's 16 queries, one per k-step
#pragma unroll
    for (int c = 0; c < KSTEPS; c++) {
        fa2_ldmatrix_x4(qa[c], smem + 2 * TILE + 2 * ((16 * warp + 8 * (mi & 1) + mr) * ROW + 16 * c + 8 * (mi >> 1)));
    }
    __syncthreads();  // every warp holds its Q fragments: the second buffer is free for K and V

    float o[DTILES][4];
#pragma unroll
    for (int j = 0; j < DTILES; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
    // Running max (base 2) of rows g and g + 8, and this lane's share of their sums of 2^(s - m):
    // the four lanes of a group see disjoint keys; their shares are added once at the end.
    float m0 = fa2_negative_infinity(), m1 = fa2_negative_infinity(), l0 = 0.0f, l1 = 0.0f;

    for (int kt = 0; kt < keyTiles; kt++) {
        const int buf = kt & 1;
        if (kt + 1 < keyTiles) {
            // The other buffer was last read in iteration kt - 1, which ended at a barrier.
            const unsigned int next = smem + 2 * (buf ^ 1) * TILE;
            fa2_load_tile<HD, KEYS>(next, kHead, kvWidth, (kt + 1) * KEYS, seqLen);
            fa2_load_tile<HD, KEYS>(next + TILE, vHead, kvWidth, (kt + 1) * KEYS, seqLen);
            fa2_cp_async_commit();
        }
        const unsigned int kTile = smem + 2 * buf * TILE, vTile = kTile + TILE;
        const int k0 = kt * KEYS;
        if (k0 <= warpRow + 15) {  // else every key of the tile follows every query of the warp
            // S = Q.K^T for this warp's 16 rows and the tile's keys.
            float s[STILES][4];
#pragma unroll
            for (int j = 0; j < STILES; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
            for (int c = 0; c < KSTEPS; c++) {
#pragma unroll
                for (int j = 0; j < STILES; j += 2) {
                    unsigned int kb[4];
                    fa2_ldmatrix_x4(kb, kTile + 2 * ((8 * j + 8 * (mi >> 1) + mr) * ROW + 16 * c + 8 * (mi & 1)));
                    fa2_mma(s[j], qa[c], kb[0], kb[1]);
                    fa2_mma(s[j + 1], qa[c], kb[2], kb[3]);
                }
            }
            // Base 2, and the causal mask where the tile reaches past the warp's first query. Keys
            // past seqLen also follow every valid query, so the same mask covers them.
            const bool diagonal = k0 + KEYS - 1 > warpRow;
            const int keyMinusRow = k0 + 2 * t - row0;  // key - row of element (j = 0, e = 0)
            float tileMax0 = fa2_negative_infinity(), tileMax1 = fa2_negative_infinity();
#pragma unroll
            for (int j = 0; j < STILES; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const bool masked = keyMinusRow + 8 * j + (e & 1) - (e < 2 ? 0 : 8) > 0;
                    s[j][e] = diagonal && masked ? fa2_negative_infinity() : s[j][e] * factor;
                }
                tileMax0 = fmaxf(tileMax0, fmaxf(s[j][0], s[j][1]));
                tileMax1 = fmaxf(tileMax1, fmaxf(s[j][2], s[j][3]));
            }
            // A row's keys are spread over the 4 lanes of its group (lanes 4g..4g+3).
#pragma unroll
            for (int offset = 1; offset < 4; offset <<= 1) {
                tileMax0 = fmaxf(tileMax0, __shfl_xor_sync(0xffffffffu, tileMax0, offset));
                tileMax1 = fmaxf(tileMax1, __shfl_xor_sync(0xffffffffu, tileMax1, offset));
            }
            // Key 0 is visible to every query, and every warp works on the first tile: the max is
            // finite from then on (alpha = exp2(-inf) = 0 on the first tile).
            const float base0 = fmaxf(m0, tileMax0), base1 = fmaxf(m1, tileMax1);
            const float alpha0 = exp2f(m0 - base0), alpha1 = exp2f(m1 - base1);
            m0 = base0;
            m1 = base1;
            l0 *= alpha0;
            l1 *= alpha1;
#pragma unroll
            for (int j = 0; j < DTILES; j++) {
                o[j][0] *= alpha0;
                o[j][1] *= alpha0;
                o[j][2] *= alpha1;
                o[j][3] *= alpha1;
            }
#pragma unroll
            for (int j = 0; j < STILES; j++) {
                s[j][0] = exp2f(s[j][0] - base0);
                s[j][1] = exp2f(s[j][1] - base0);
                s[j][2] = exp2f(s[j][2] - base1);
                s[j][3] = exp2f(s[j][3] - base1);
                l0 += s[j][0] + s[j][1];
                l1 += s[j][2] + s[j][3];
            }
            // O += P.V: the S tiles 2c and 2c + 1 are P's A fragment for keys 16c..16c+15.
#pragma unroll
            for (int c = 0; c < KEYS / 16; c++) {
                const unsigned int pa[4] = {fa2_pack_bf16(s[2 * c][0], s[2 * c][1]), fa2_pack_bf16(s[2 * c][2], s[2 * c][3]),
                                            fa2_pack_bf16(s[2 * c + 1][0], s[2 * c + 1][1]),
                                            fa2_pack_bf16(s[2 * c + 1][2], s[2 * c + 1][3])};
#pragma unroll
                for (int j = 0; j < DTILES; j += 2) {
                    unsigned int vb[4];
                    fa2_ldmatrix_x4_trans(vb, vTile + 2 * ((16 * c + 8 * (mi & 1) + mr) * ROW + 8 * j + 8 * (mi >> 1)));
                    fa2_mma(o[j], pa, vb[0], vb[1]);
                    fa2_mma(o[j + 1], pa, vb[2], vb[3]);
                }
            }
        }
        fa2_cp_async_wait<0>();  // this thread's copies of the next tile have landed ...
        __syncthreads();         // ... and everyone's; everyone is also done reading this buffer
    }

#pragma unroll
    for (int offset = 1; offset < 4; offset <<= 1) {
        l0 += __shfl_xor_sync(0xffffffffu, l0, offset);
        l1 += __shfl_xor_sync(0xffffffffu, l1, offset);
    }
    const float inv0 = 1.0f / l0, inv1 = 1.0f / l1;
    // fp32 stores two floats at a time per lane: out may start at any float, so no wider alignment.
    if (row0 < seqLen) {
        float* dst = out + (batchRow + row0) * qWidth + (long long) h * HD;
#pragma unroll
        for (int j = 0; j < DTILES; j++) {
            dst[8 * j + 2 * t] = o[j][0] * inv0;
            dst[8 * j + 2 * t + 1] = o[j][1] * inv0;
        }
        if (t == 0) lse[((long long) b * nHeads + h) * seqLen + row0] = (m0 + log2f(l0)) * FA2_LN2;
    }
    if (row1 < seqLen) {
        float* dst = out + (batchRow + row1) * qWidth + (long long) h * HD;
#pragma unroll
        for (int j = 0; j < DTILES; j++) {
            dst[8 * j + 2 * t] = o[j][2] * inv1;
            dst[8 * j + 2 * t + 1] = o[j][3] * inv1;
        }
        if (t == 0) lse[((long long) b * nHeads + h) * seqLen + row1] = (m1 + log2f(l1)) * FA2_LN2;
    }
}

// ---- backward -----------------------------------------------------------------------------------
// Grid (nKvHeads, batch, key tiles of 128), block FA2_THREADS: warp w owns keys 16w..16w+15 of the
// tile with fp32 dK, dV accumulators in registers; its K and V A fragments are re-read from shared
// memory for every chunk (held in registers they would take 170 registers at head dim 64 instead of
// 128, one block per multiprocessor instead of two, and crowd out the accumulators at 128). The block
// steps through the query tiles of 64 at or after its keys for every query head of the kv head's
// group (GQA: dK, dV sum over the group), one tile per step, the next one's Q and dOut loading while
// this one is used. A step works through the tile in chunks of 16 queries:
//   S^T = K.Q^T, dP^T = V.dO^T (B fragments from the row-major Q and dOut tiles),
//   P^T = exp2(S^T * scale * log2 e - lse * log2 e), dS^T = P^T * (dP^T - D)  (dS / scale),
//   dV += P^T.dO, dK += dS^T.Q  (P^T and dS^T rounded to bf16 as A fragments, B by ldmatrix.trans),
// and leaves dS^T (bf16) in shared memory; then the 8 warps compute the tile's dQ = dS.K (64 queries
// x HD, each warp 16 queries x HD/2) and add it into the fp32 accumulator with 8-byte reductions.
// The key tile is the slowest grid dimension, first tiles first: they see the most queries.
//
// Why atomics for dQ rather than a dQ kernel of its own (as attention_tc.cu has): the second kernel
// recomputes S and dP, 7 products per (key, query) pair instead of 5; the reductions cost one 8-byte
// red per lane per n8 tile and per step, spread over the L2 slices, and the accumulator they need is
// also what makes 8-byte reductions possible (dq itself may start at any float). The price: the
// order of the adds varies, so dq is reproducible only to fp32 rounding.
template <int HD>
__device__ __forceinline__ void fa2_backward(float* __restrict__ dk, float* __restrict__ dv,
                                             float* __restrict__ dqAccumulator, const unsigned short* __restrict__ q16,
                                             const unsigned short* __restrict__ k16, const unsigned short* __restrict__ v16,
                                             const unsigned short* __restrict__ dOut16, const float* __restrict__ lse,
                                             const float* __restrict__ delta, int seqLen, int nHeads, int nKvHeads,
                                             float scale) {
    static_assert(HD == 64 || HD == 128, "fa2 attention kernels exist for head dims 64 and 128");
    constexpr int ROW = HD + FA2_PAD;                           // Q, K, V, dOut rows in shared memory, bf16
    constexpr int BK = FA2_BWD_KEYS, BQ = FA2_BWD_QUERIES;
    constexpr int DS_ROW = BQ + FA2_PAD;                        // dS^T rows (one per key), bf16
    constexpr int KSTEPS = HD / 16, DTILES = HD / 8;
    constexpr int DQ_DIMS = HD / 2;                             // dQ columns per warp
    constexpr int Q_TILE = 2 * BQ * ROW;                        // one Q or dOut tile, bytes
    // Shared-window byte addresses of K, V, two buffers each of Q and dOut, dS^T [BK][DS_ROW], and
    // two buffers each of lse (natural log) and D.
    const unsigned int sK = fa2_shared_address(fa2_smem), sV = sK + 2 * BK * ROW;
    const unsigned int sQ = sV + 2 * BK * ROW, sdO = sQ + 2 * Q_TILE, sdS = sdO + 2 * Q_TILE;
    const unsigned int sLse = sdS + 2 * BK * DS_ROW, sDelta = sLse + 4 * 2 * BQ;

    const int kvHead = blockIdx.x, b = blockIdx.y, group = nHeads / nKvHeads;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const int mi = lane / 8, mr = lane % 8;
    const long long qWidth = (long long) nHeads * HD, kvWidth = (long long) nKvHeads * HD;
    const long long batchRow = (long long) b * seqLen;
    const long long kvBase = batchRow * kvWidth + (long long) kvHead * HD;
    const int k0 = blockIdx.z * BK;
    const int warpKey = k0 + 16 * warp;                  // this warp's first key
    const int key0 = warpKey + g, key1 = key0 + 8;       // this lane's two key rows
    const float factor = scale * FA2_LOG2E;              // scores in base 2
    const int queryTiles = (seqLen - k0 + BQ - 1) / BQ;  // query tiles from k0 (a multiple of BQ) on
    const int steps = group * queryTiles;

    // Queues step `step`'s Q and dOut tiles and its lse and D into buffer `buf`, all by cp.async (a
    // plain load would stall its warp on the global latency at every step). Queries past seqLen get
    // zeros everywhere: their P = exp2(0 - 0) = 1 is harmless, since dO = 0 and D = 0 make their dV
    // terms and dS zero, and their dQ rows are not written.
    auto stage = [&](int step, int buf) {
        const int h = kvHead * group + step / queryTiles, q0 = k0 + step % queryTiles * BQ;
        const long long qBase = batchRow * qWidth + (long long) h * HD;
        fa2_load_tile<HD, BQ>(sQ + buf * Q_TILE, q16 + qBase, qWidth, q0, seqLen);
        fa2_load_tile<HD, BQ>(sdO + buf * Q_TILE, dOut16 + qBase, qWidth, q0, seqLen);
        if (threadIdx.x < 2 * BQ) {
            const int i = threadIdx.x % BQ, pos = q0 + i;
            const long long at = ((long long) b * nHeads + h) * seqLen + (pos < seqLen ? pos : 0);
            if (threadIdx.x < BQ) fa2_cp_async_4(sLse + 4 * (buf * BQ + i), lse + at, pos < seqLen);
            else fa2_cp_async_4(sDelta + 4 * (buf * BQ + i), delta + at, pos < seqLen);
        }
    };

    fa2_load_tile<HD, BK>(sK, k16 + kvBase, kvWidth, k0, seqLen);
    fa2_load_tile<HD, BK>(sV, v16 + kvBase, kvWidth, k0, seqLen);
    stage(0, 0);
    fa2_cp_async_commit();
    fa2_cp_async_wait<0>();
    __syncthreads();

    float dkAcc[DTILES][4], dvAcc[DTILES][4];
#pragma unroll
    for (int j = 0; j < DTILES; j++) {
#pragma unroll
        for (int e = 0; e < 4; e++) dkAcc[j][e] = dvAcc[j][e] = 0.0f;
    }

    for (int step = 0; step < steps; step++) {
        const int buf = step & 1;
        if (step + 1 < steps) {
            // The other buffers were last read in step - 1, which ended at a barrier.
            stage(step + 1, buf ^ 1);
            fa2_cp_async_commit();
        }
        const int h = kvHead * group + step / queryTiles, q0 = k0 + step % queryTiles * BQ;
        const unsigned int qTile = sQ + buf * Q_TILE, doTile = sdO + buf * Q_TILE;
        const unsigned int lseTile = sLse + 4 * buf * BQ, deltas = sDelta + 4 * buf * BQ;

#pragma unroll 1
        for (int c = 0; c < BQ / 16; c++) {
            const int qc = q0 + 16 * c;  // the chunk's first query
            // This lane's dS^T words in shared memory: rows key0, key1, queries 16c + 2t (+1) and + 8 (+9).
            const unsigned int ds0 = sdS + 2 * ((16 * warp + g) * DS_ROW + 16 * c + 2 * t), ds1 = ds0 + 2 * 8 * DS_ROW;
            if (qc + 15 < warpKey) {  // every query of the chunk precedes every key of the warp: P = dS = 0
                fa2_store_shared(ds0, 0u);
                fa2_store_shared(ds0 + 16, 0u);
                fa2_store_shared(ds1, 0u);
                fa2_store_shared(ds1 + 16, 0u);
                continue;
            }
            float s[2][4], dp[2][4];
#pragma unroll
            for (int j = 0; j < 2; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) s[j][e] = dp[j][e] = 0.0f;
            }
#pragma unroll
            for (int kc = 0; kc < KSTEPS; kc++) {
                const int at = (16 * c + 8 * (mi >> 1) + mr) * ROW + 16 * kc + 8 * (mi & 1);
                const int kvAt = (16 * warp + 8 * (mi & 1) + mr) * ROW + 16 * kc + 8 * (mi >> 1);
                unsigned int qb[4], ob[4], a[4];
                fa2_ldmatrix_x4(qb, qTile + 2 * at);
                fa2_ldmatrix_x4(a, sK + 2 * kvAt);
                fa2_mma(s[0], a, qb[0], qb[1]);
                fa2_mma(s[1], a, qb[2], qb[3]);
                fa2_ldmatrix_x4(ob, doTile + 2 * at);
                fa2_ldmatrix_x4(a, sV + 2 * kvAt);
                fa2_mma(dp[0], a, ob[0], ob[1]);
                fa2_mma(dp[1], a, ob[2], ob[3]);
            }
            // Only a chunk that starts before the warp's last key has queries preceding some key.
            const bool diagonal = qc < warpKey + 15;
#pragma unroll
            for (int j = 0; j < 2; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int col = 16 * c + 8 * j + 2 * t + (e & 1);  // query within the tile
                    const int key = e < 2 ? key0 : key1;
                    const float lse2 = fa2_load_shared(lseTile + 4 * col) * FA2_LOG2E;
                    const float p = diagonal && q0 + col < key ? 0.0f : exp2f(s[j][e] * factor - lse2);
                    s[j][e] = p;                                                      // P^T
                    dp[j][e] = p * (dp[j][e] - fa2_load_shared(deltas + 4 * col));  // dS^T / scale
                }
            }
            const unsigned int pa[4] = {fa2_pack_bf16(s[0][0], s[0][1]), fa2_pack_bf16(s[0][2], s[0][3]),
                                        fa2_pack_bf16(s[1][0], s[1][1]), fa2_pack_bf16(s[1][2], s[1][3])};
            const unsigned int da[4] = {fa2_pack_bf16(dp[0][0], dp[0][1]), fa2_pack_bf16(dp[0][2], dp[0][3]),
                                        fa2_pack_bf16(dp[1][0], dp[1][1]), fa2_pack_bf16(dp[1][2], dp[1][3])};
            fa2_store_shared(ds0, da[0]);
            fa2_store_shared(ds1, da[1]);
            fa2_store_shared(ds0 + 16, da[2]);
            fa2_store_shared(ds1 + 16, da[3]);
            // dV += P^T.dO and dK += dS^T.Q over the chunk's 16 queries (one k-step).
#pragma unroll
            for (int j = 0; j < DTILES; j += 2) {
                const int at = (16 * c + 8 * (mi & 1) + mr) * ROW + 8 * j + 8 * (mi >> 1);
                unsigned int ob[4], qb[4];
                fa2_ldmatrix_x4_trans(ob, doTile + 2 * at);
                fa2_mma(dvAcc[j], pa, ob[0], ob[1]);
                fa2_mma(dvAcc[j + 1], pa, ob[2], ob[3]);
                fa2_ldmatrix_x4_trans(qb, qTile + 2 * at);
                fa2_mma(dkAcc[j], da, qb[0], qb[1]);
                fa2_mma(dkAcc[j + 1], da, qb[2], qb[3]);
            }
        }
        __syncthreads();  // every warp's dS^T is in shared memory

        // dQ (BQ x HD) += dS (BQ x BK) . K (BK x HD): warp w takes queries 16(w % 4).. and dims
        // (w / 4) * HD/2.., 32 dims at a time; A = dS from dS^T by ldmatrix.trans, B = K likewise.
        {
            const int rows = 16 * (warp % 4), qr = q0 + rows;  // the warp's first query
            const long long dqRow0 = (batchRow + qr + g) * qWidth + (long long) h * HD;
            const long long dqRow1 = dqRow0 + 8 * qWidth;
#pragma unroll 1
            for (int d0 = (warp / 4) * DQ_DIMS; d0 < (warp / 4 + 1) * DQ_DIMS; d0 += 32) {
                float acc[4][4];
#pragma unroll
                for (int j = 0; j < 4; j++) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
#pragma unroll
                for (int kk = 0; kk < BK / 16; kk++) {
                    // Keys 16kk.. of the tile all follow the warp's queries from here on: dS = 0.
                    if (k0 + 16 * kk > qr + 15) break;
                    unsigned int a[4];
                    fa2_ldmatrix_x4_trans(a, sdS + 2 * ((16 * kk + 8 * (mi >> 1) + mr) * DS_ROW + rows + 8 * (mi & 1)));
#pragma unroll
                    for (int j = 0; j < 4; j += 2) {
                        unsigned int kb[4];
                        fa2_ldmatrix_x4_trans(kb, sK + 2 * ((16 * kk + 8 * (mi & 1) + mr) * ROW + d0 + 8 * j + 8 * (mi >> 1)));
                        fa2_mma(acc[j], a, kb[0], kb[1]);
                        fa2_mma(acc[j + 1], a, kb[2], kb[3]);
                    }
                }
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    const int dim = d0 + 8 * j + 2 * t;
                    if (qr + g < seqLen) fa2_red_add_v2(dqAccumulator + dqRow0 + dim, acc[j][0], acc[j][1]);
                    if (qr + g + 8 < seqLen) fa2_red_add_v2(dqAccumulator + dqRow1 + dim, acc[j][2], acc[j][3]);
                }
            }
        }
        fa2_cp_async_wait<0>();  // this thread's copies of the next step have landed ...
        __syncthreads();         // ... and everyone's; dS^T and this step's buffers are free again
    }

    // fp32 stores two floats at a time per lane: dk, dv may start at any float, so no wider alignment.
    if (key0 < seqLen) {
        float* dkRow = dk + kvBase + (long long) key0 * kvWidth;
        float* dvRow = dv + kvBase + (long long) key0 * kvWidth;
#pragma unroll
        for (int j = 0; j < DTILES; j++) {
            dkRow[8 * j + 2 * t] = dkAcc[j][0] * scale;
            dkRow[8 * j + 2 * t + 1] = dkAcc[j][1] * scale;
            dvRow[8 * j + 2 * t] = dvAcc[j][0];
            dvRow[8 * j + 2 * t + 1] = dvAcc[j][1];
        }
    }
    if (key1 < seqLen) {
        float* dkRow = dk + kvBase + (long long) key1 * kvWidth;
        float* dvRow = dv + kvBase + (long long) key1 * kvWidth;
#pragma unroll
        for (int j = 0; j < DTILES; j++) {
            dkRow[8 * j + 2 * t] = dkAcc[j][2] * scale;
            dkRow[8 * j + 2 * t + 1] = dkAcc[j][3] * scale;
            dvRow[8 * j + 2 * t] = dvAcc[j][2];
            dvRow[8 * j + 2 * t + 1] = dvAcc[j][3];
        }
    }
}

// ---- entry points -------------------------------------------------------------------------------

// q16, k16, v16 = bf16(q), bf16(k), bf16(v), a pair of elements per step (a head row has an even
// length, so a pair never straddles two tensors' rows). The fp32 inputs may start at any float.
extern "C" __global__ void __launch_bounds__(FA2_PASS_THREADS)
attention_fa2_convert_qkv(unsigned int* q16, unsigned int* k16, unsigned int* v16, const float* q, const float* k,
                          const float* v, long long qPairs, long long kvPairs) {
    const long long total = qPairs + 2 * kvPairs, stride = (long long) gridDim.x * blockDim.x;
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < total; i += stride) {
        unsigned int* dst = q16;
        const float* src = q;
        long long at = i;
        if (at >= qPairs) {
            at -= qPairs;
            dst = at < kvPairs ? k16 : v16;
            src = at < kvPairs ? k : v;
            if (at >= kvPairs) at -= kvPairs;
        }
        dst[at] = fa2_pack_bf16(src[2 * at], src[2 * at + 1]);
    }
}

extern "C" __global__ void __launch_bounds__(FA2_THREADS, 2)
attention_fa2_forward_hd64(float* out, float* lse, const unsigned short* q16, const unsigned short* k16,
                           const unsigned short* v16, int seqLen, int nHeads, int nKvHeads, float scale) {
    fa2_forward<64>(out, lse, q16, k16, v16, seqLen, nHeads, nKvHeads, scale);
}

extern "C" __global__ void __launch_bounds__(FA2_THREADS)
attention_fa2_forward_hd128(float* out, float* lse, const unsigned short* q16, const unsigned short* k16,
                            const unsigned short* v16, int seqLen, int nHeads, int nKvHeads, float scale) {
    fa2_forward<128>(out, lse, q16, k16, v16, seqLen, nHeads, nKvHeads, scale);
}

// One warp per (token row, query head), headRows = batch * seqLen * nHeads of them: D = sum over the
// head's dims of dOut * out (fp32, from the fp32 tensors) into delta [batch, nHeads, seqLen], the
// head row of dOut rounded to bf16 into dOut16, and the head row of the dQ accumulator zeroed.
extern "C" __global__ void __launch_bounds__(FA2_PASS_THREADS)
attention_fa2_backward_prepare(float* delta, unsigned int* dOut16, float* dqAccumulator, const float* dOut,
                               const float* out, long long headRows, int seqLen, int nHeads, int headDim) {
    const int lane = threadIdx.x % 32;
    const long long warps = (long long) gridDim.x * (blockDim.x / 32);
    for (long long w = ((long long) blockIdx.x * blockDim.x + threadIdx.x) / 32; w < headRows; w += warps) {
        const long long at = w * headDim;  // rows are nHeads head rows of headDim, back to back
        float sum = 0.0f;
        for (int e = 2 * lane; e < headDim; e += 64) {
            const float d0 = dOut[at + e], d1 = dOut[at + e + 1];
            sum += d0 * out[at + e] + d1 * out[at + e + 1];
            dOut16[(at + e) / 2] = fa2_pack_bf16(d0, d1);
            dqAccumulator[at + e] = 0.0f;
            dqAccumulator[at + e + 1] = 0.0f;
        }
#pragma unroll
        for (int offset = 16; offset > 0; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
        if (lane == 0) {
            const long long row = w / nHeads, h = w % nHeads, b = row / seqLen, pos = row % seqLen;
            delta[(b * nHeads + h) * seqLen + pos] = sum;
        }
    }
}

extern "C" __global__ void __launch_bounds__(FA2_THREADS, 2)
attention_fa2_backward_hd64(float* dk, float* dv, float* dqAccumulator, const unsigned short* q16,
                            const unsigned short* k16, const unsigned short* v16, const unsigned short* dOut16,
                            const float* lse, const float* delta, int seqLen, int nHeads, int nKvHeads, float scale) {
    fa2_backward<64>(dk, dv, dqAccumulator, q16, k16, v16, dOut16, lse, delta, seqLen, nHeads, nKvHeads, scale);
}

extern "C" __global__ void __launch_bounds__(FA2_THREADS)
attention_fa2_backward_hd128(float* dk, float* dv, float* dqAccumulator, const unsigned short* q16,
                             const unsigned short* k16, const unsigned short* v16, const unsigned short* dOut16,
                             const float* lse, const float* delta, int seqLen, int nHeads, int nKvHeads, float scale) {
    fa2_backward<128>(dk, dv, dqAccumulator, q16, k16, v16, dOut16, lse, delta, seqLen, nHeads, nKvHeads, scale);
}

// dq[i] = dqAccumulator[i] * scale for i < n (dq may start at any float).
extern "C" __global__ void __launch_bounds__(FA2_PASS_THREADS)
attention_fa2_backward_finish(float* dq, const float* dqAccumulator, long long n, float scale) {
    const long long stride = (long long) gridDim.x * blockDim.x;
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) dq[i] = dqAccumulator[i] * scale;
}
