// Causal grouped-query flash attention forward on tensor cores (bf16 operands, fp32 accumulation),
// the "tc" attention mode of the CUDA backend. Same contract and layouts as attention.cu:
// q, out [batch * seqLen, nHeads * HD]; k, v [batch * seqLen, nKvHeads * HD]; lse [batch, nHeads,
// seqLen] (natural log); query head h reads kv head h / (nHeads / nKvHeads). Only head dims 64
// and 128 have kernels here; the host sends other head dims to the fp32 kernels.
//
// FlashAttention-2 scheme: a block of 4 warps owns 64 queries of one (head, batch), each warp 16
// of them. Keys and values stream through shared memory in tiles of 64, rounded to bf16 (nearest,
// ties to even). S = Q.K^T and O += P.V run as mma.sync.m16n8k16 (bf16 x bf16 -> fp32); the
// softmax stays in fp32 registers with scores in base 2, so each probability is one exp2f.
//
// Fragment layouts of m16n8k16 (PTX ISA), with g = lane / 4 and t = lane % 4; a register holds
// two bf16, the lower-indexed element in the low half:
//   A (16x16, row-major): a0 = A[g][2t..2t+1], a1 = A[g+8][2t..2t+1], a2 = A[g][2t+8..2t+9],
//                         a3 = A[g+8][2t+8..2t+9]
//   B (16x8, "col"):      b0 = B[2t..2t+1][g], b1 = B[2t+8..2t+9][g]
//   C, D (16x8, fp32):    c0, c1 = C[g][2t], C[g][2t+1]; c2, c3 = C[g+8][2t], C[g+8][2t+1]
// So each lane holds two query rows (g and g + 8) of every accumulator. An S accumulator for keys
// 16c..16c+15 (two n8 tiles) has exactly the layout of the A fragment of P for the k-step c, so P
// goes from S to the P.V mma without leaving registers. For S = Q.K^T, B[k][n] = K[key n][dim k]:
// b0 is two adjacent dims of one key row, one 32-bit load from the row-major K tile. For P.V,
// B[k][n] = V[key k][dim n]: b0 is two adjacent keys of one dim, so V is stored transposed.
//
// Shared rows are padded by 8 bf16 (16 bytes): a fragment load has the 8 row groups g at word
// offsets 4g (mod 32) apart and the 4 lanes t of a group on adjacent words, 32 distinct banks.

constexpr float TC_LOG2E = 1.4426950408889634f;
constexpr float TC_LN2 = 0.6931471805599453f;
constexpr int TC_QUERIES = 64;         // queries per block (4 warps x 16)
constexpr int TC_KEYS = 64;            // keys per shared tile
constexpr int TC_THREADS = 128;
constexpr int TC_PAD = 8;              // bf16 of padding per shared row

// The bf16 bits nearest to f (ties to even); a NaN stays a (quiet) NaN, as convert.cu rounds.
__device__ __forceinline__ unsigned int tc_bf16_bits(float f) {
    const unsigned int bits = __float_as_uint(f);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (bits >> 16) | 0x0040u;
    return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
}

// Two floats as one register of two bf16, lo in the low half (the lower-indexed fragment element).
__device__ __forceinline__ unsigned int tc_pack_bf16(float lo, float hi) {
    return tc_bf16_bits(lo) | (tc_bf16_bits(hi) << 16);
}

// d += A.B for one m16n8k16 tile (layouts in the header comment).
__device__ __forceinline__ void tc_mma_bf16(float (&d)[4], const unsigned int (&a)[4], unsigned int b0,
                                            unsigned int b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ float tc_negative_infinity() { return __int_as_float(0xff800000); }

// Grid (query tiles, nHeads, batch), block TC_THREADS. Query tiles run last-first: they see the
// most keys, so the long blocks start early and the short ones fill in at the end.
template <int HD>
__device__ __forceinline__ void attention_forward_tc(float* __restrict__ out, float* __restrict__ lse,
                                                     const float* __restrict__ q, const float* __restrict__ k,
                                                     const float* __restrict__ v, int seqLen, int nHeads,
                                                     int nKvHeads, float scale) {
    static_assert(HD == 64 || HD == 128, "tensor-core attention kernels exist for head dims 64 and 128");
    constexpr int KSTEPS = HD / 16;        // k-steps of S = Q.K^T
    constexpr int DTILES = HD / 8;         // n8 tiles of O
    constexpr int STILES = TC_KEYS / 8;    // n8 tiles of S
    alignas(16) __shared__ unsigned short ks[TC_KEYS][HD + TC_PAD];   // K tile, [key][dim]
    alignas(16) __shared__ unsigned short vt[HD][TC_KEYS + TC_PAD];   // V tile transposed, [dim][key]

    const int tile = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int kvHead = h / (nHeads / nKvHeads);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const long long qWidth = (long long) nHeads * HD, kvWidth = (long long) nKvHeads * HD;
    const long long batchRow = (long long) b * seqLen;
    const int q0 = tile * TC_QUERIES;
    const int row0 = q0 + warp * 16 + g, row1 = row0 + 8;   // this lane's two query rows
    const float factor = scale * TC_LOG2E;                  // scores in base 2

    // Q fragments for every k-step; rows past the sequence are zero (computed, never stored).
    unsigned int qa[KSTEPS][4];
    {
        const float* q0row = q + (batchRow + min(row0, seqLen - 1)) * qWidth + (long long) h * HD;
        const float* q1row = q + (batchRow + min(row1, seqLen - 1)) * qWidth + (long long) h * HD;
        const bool valid0 = row0 < seqLen, valid1 = row1 < seqLen;
#pragma unroll
        for (int c = 0; c < KSTEPS; c++) {
            const int e = 16 * c + 2 * t;
            qa[c][0] = valid0 ? tc_pack_bf16(q0row[e], q0row[e + 1]) : 0u;
            qa[c][1] = valid1 ? tc_pack_bf16(q1row[e], q1row[e + 1]) : 0u;
            qa[c][2] = valid0 ? tc_pack_bf16(q0row[e + 8], q0row[e + 9]) : 0u;
            qa[c][3] = valid1 ? tc_pack_bf16(q1row[e + 8], q1row[e + 9]) : 0u;
        }
    }

    float o[DTILES][4];
#pragma unroll
    for (int j = 0; j < DTILES; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
    // Running max (base 2) of rows g and g + 8, and this lane's share of their sums of 2^(s - m):
    // the four lanes of a group see disjoint keys; their shares are added once at the end.
    float m0 = tc_negative_infinity(), m1 = tc_negative_infinity(), l0 = 0.0f, l1 = 0.0f;

    const int keyEnd = min(seqLen, q0 + TC_QUERIES);
    const float* kHead = k + batchRow * kvWidth + (long long) kvHead * HD;
    const float* vHead = v + batchRow * kvWidth + (long long) kvHead * HD;
    for (int k0 = 0; k0 < keyEnd; k0 += TC_KEYS) {
        __syncthreads();  // the previous tile's readers are done
        // Stage K and V^T as bf16, zero past the sequence (a zero V keeps 0 * garbage out of O).
        for (int idx = threadIdx.x; idx < TC_KEYS * HD / 4; idx += TC_THREADS) {
            const int r = idx / (HD / 4), e = 4 * (idx % (HD / 4)), pos = k0 + r;
            float kx[4] = {0.0f, 0.0f, 0.0f, 0.0f}, vx[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            if (pos < seqLen) {
                // Scalar loads: a tensor view may start on any float, so no wider alignment is assumed.
#pragma unroll
                for (int u = 0; u < 4; u++) {
                    kx[u] = kHead[(long long) pos * kvWidth + e + u];
                    vx[u] = vHead[(long long) pos * kvWidth + e + u];
                }
            }
            uint2 packed;
            packed.x = tc_pack_bf16(kx[0], kx[1]);
            packed.y = tc_pack_bf16(kx[2], kx[3]);
            *reinterpret_cast<uint2*>(&ks[r][e]) = packed;
#pragma unroll
            for (int u = 0; u < 4; u++) vt[e + u][r] = (unsigned short) tc_bf16_bits(vx[u]);
        }
        __syncthreads();

        // S = Q.K^T for this warp's 16 rows and the tile's 64 keys.
        float s[STILES][4];
#pragma unroll
        for (int j = 0; j < STILES; j++) {
            s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
#pragma unroll
            for (int c = 0; c < KSTEPS; c++) {
                const unsigned int b0 = *reinterpret_cast<const unsigned int*>(&ks[8 * j + g][16 * c + 2 * t]);
                const unsigned int b1 = *reinterpret_cast<const unsigned int*>(&ks[8 * j + g][16 * c + 2 * t + 8]);
                tc_mma_bf16(s[j], qa[c], b0, b1);
            }
        }

        // Scale to base 2 and mask keys past the query (causal) or past the sequence. Only the
        // diagonal tile and a tile reaching past seqLen need the mask.
        const bool masked = k0 + TC_KEYS > q0 || k0 + TC_KEYS > seqLen;
        float tileMax0 = tc_negative_infinity(), tileMax1 = tc_negative_infinity();
#pragma unroll
        for (int j = 0; j < STILES; j++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int key = k0 + 8 * j + 2 * t + (e & 1), row = e < 2 ? row0 : row1;
                float x = s[j][e] * factor;
                if (masked && (key > row || key >= seqLen)) x = tc_negative_infinity();
                s[j][e] = x;
            }
            tileMax0 = fmaxf(tileMax0, fmaxf(s[j][0], s[j][1]));
            tileMax1 = fmaxf(tileMax1, fmaxf(s[j][2], s[j][3]));
        }
        // A row's 64 keys are spread over the 4 lanes of its group (lanes 4g..4g+3).
#pragma unroll
        for (int offset = 1; offset < 4; offset <<= 1) {
            tileMax0 = fmaxf(tileMax0, __shfl_xor_sync(0xffffffffu, tileMax0, offset));
            tileMax1 = fmaxf(tileMax1, __shfl_xor_sync(0xffffffffu, tileMax1, offset));
        }
        const float new0 = fmaxf(m0, tileMax0), new1 = fmaxf(m1, tileMax1);
        // Every row sees key 0 in the first tile, so the max is finite from then on; the guard
        // keeps a fully masked row at exp2(-inf - 0) = 0 instead of NaN all the same.
        const float base0 = new0 == tc_negative_infinity() ? 0.0f : new0;
        const float base1 = new1 == tc_negative_infinity() ? 0.0f : new1;
        const float alpha0 = exp2f(m0 - base0), alpha1 = exp2f(m1 - base1);
        m0 = new0;
        m1 = new1;
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
        for (int c = 0; c < TC_KEYS / 16; c++) {
            const unsigned int pa[4] = {tc_pack_bf16(s[2 * c][0], s[2 * c][1]), tc_pack_bf16(s[2 * c][2], s[2 * c][3]),
                                        tc_pack_bf16(s[2 * c + 1][0], s[2 * c + 1][1]),
                                        tc_pack_bf16(s[2 * c + 1][2], s[2 * c + 1][3])};
#pragma unroll
            for (int j = 0; j < DTILES; j++) {
                const unsigned int b0 = *reinterpret_cast<const unsigned int*>(&vt[8 * j + g][16 * c + 2 * t]);
                const unsigned int b1 = *reinterpret_cast<const unsigned int*>(&vt[8 * j + g][16 * c + 2 * t + 8]);
                tc_mma_bf16(o[j], pa, b0, b1);
            }
        }
    }

#pragma unroll
    for (int offset = 1; offset < 4; offset <<= 1) {
        l0 += __shfl_xor_sync(0xffffffffu, l0, offset);
        l1 += __shfl_xor_sync(0xffffffffu, l1, offset);
    }
    const float inv0 = 1.0f / l0, inv1 = 1.0f / l1;
    if (row0 < seqLen) {
        float* dst = out + (batchRow + row0) * qWidth + (long long) h * HD;
#pragma unroll
        for (int j = 0; j < DTILES; j++) {
            dst[8 * j + 2 * t] = o[j][0] * inv0;
            dst[8 * j + 2 * t + 1] = o[j][1] * inv0;
        }
        if (t == 0) lse[((long long) b * nHeads + h) * seqLen + row0] = (m0 + log2f(l0)) * TC_LN2;
    }
    if (row1 < seqLen) {
        float* dst = out + (batchRow + row1) * qWidth + (long long) h * HD;
#pragma unroll
        for (int j = 0; j < DTILES; j++) {
            dst[8 * j + 2 * t] = o[j][2] * inv1;
            dst[8 * j + 2 * t + 1] = o[j][3] * inv1;
        }
        if (t == 0) lse[((long long) b * nHeads + h) * seqLen + row1] = (m1 + log2f(l1)) * TC_LN2;
    }
}

extern "C" __global__ void __launch_bounds__(TC_THREADS)
attention_forward_hd64_tc(float* out, float* lse, const float* q, const float* k, const float* v, int seqLen,
                          int nHeads, int nKvHeads, float scale) {
    attention_forward_tc<64>(out, lse, q, k, v, seqLen, nHeads, nKvHeads, scale);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS)
attention_forward_hd128_tc(float* out, float* lse, const float* q, const float* k, const float* v, int seqLen,
                           int nHeads, int nKvHeads, float scale) {
    attention_forward_tc<128>(out, lse, q, k, v, seqLen, nHeads, nKvHeads, scale);
}

// ---- backward (FlashAttention-2 scheme) ---------------------------------------------------------
// Three launches, as in attention.cu: attention_backward_delta_f32 writes D = sum dOut.out of each
// (row, head) into dq at the head's first dim; the dK/dV kernel below reads it there; the dQ kernel
// reads its own rows' D before overwriting them. P and dS are rounded to bf16 before their mma
// products, as in FlashAttention-2. Operand layouts per mma (B[k][n] in the header's terms):
//   dK/dV kernel, rows = this warp's 16 keys:   S^T = K.Q^T   (B = Q row-major),
//     dP^T = V.dO^T (B = dO row-major), dV += P^T.dO (B = dO transposed), dK += dS^T.Q (B = Q transposed);
//   dQ kernel, rows = this warp's 16 queries:   S = Q.K^T     (B = K row-major),
//     dP = dO.V^T (B = V row-major), dQ += dS.K (B = K transposed).
// The streamed tile is 64 rows for head dim 64; for 128 it is 32 keys in the dQ kernel (so both
// layouts of K fit in the 48 KB of static shared memory) and 16 queries in the dK/dV kernel (whose
// K, V fragments and dK, dV accumulators already hold 192 registers; 32 would spill).

// Loads row `row` of a [*, width] fp32 matrix (this head's HD dims at `base`) as the A fragments of
// its two rows: for every k-step c, regs[c][0/2] (row0) and regs[c][1/3] (row1); invalid rows are zero.
template <int HD>
__device__ __forceinline__ void tc_load_a_rows(unsigned int (&regs)[HD / 16][4], const float* __restrict__ base,
                                               long long width, int row0, int row1, int seqLen) {
    const float* r0 = base + (long long) min(row0, seqLen - 1) * width;
    const float* r1 = base + (long long) min(row1, seqLen - 1) * width;
    const bool valid0 = row0 < seqLen, valid1 = row1 < seqLen;
#pragma unroll
    for (int c = 0; c < HD / 16; c++) {
        const int e = 16 * c + 2 * (threadIdx.x % 4);
        regs[c][0] = valid0 ? tc_pack_bf16(r0[e], r0[e + 1]) : 0u;
        regs[c][1] = valid1 ? tc_pack_bf16(r1[e], r1[e + 1]) : 0u;
        regs[c][2] = valid0 ? tc_pack_bf16(r0[e + 8], r0[e + 9]) : 0u;
        regs[c][3] = valid1 ? tc_pack_bf16(r1[e + 8], r1[e + 9]) : 0u;
    }
}

// Stages rows r0..r0+ROWS-1 of this head's HD dims as bf16 into `rowMajor` [row][dim] and, when
// `transposed` is non-null, into `transposed` [dim][row]; rows past seqLen are zero.
template <int HD, int ROWS>
__device__ __forceinline__ void tc_stage(unsigned short (*rowMajor)[HD + TC_PAD], unsigned short (*transposed)[ROWS + TC_PAD],
                                         const float* __restrict__ base, long long width, int r0, int seqLen) {
    for (int idx = threadIdx.x; idx < ROWS * HD / 4; idx += TC_THREADS) {
        const int r = idx / (HD / 4), e = 4 * (idx % (HD / 4)), pos = r0 + r;
        float x[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (pos < seqLen) {
            // Scalar loads: a tensor view may start on any float, so no wider alignment is assumed.
#pragma unroll
            for (int u = 0; u < 4; u++) x[u] = base[(long long) pos * width + e + u];
        }
        uint2 packed;
        packed.x = tc_pack_bf16(x[0], x[1]);
        packed.y = tc_pack_bf16(x[2], x[3]);
        *reinterpret_cast<uint2*>(&rowMajor[r][e]) = packed;
        if (transposed != nullptr) {
#pragma unroll
            for (int u = 0; u < 4; u++) transposed[e + u][r] = (unsigned short) tc_bf16_bits(x[u]);
        }
    }
}

// acc[j] (n8 tiles over the streamed rows) = A.B^T, B read from a row-major [row][dim] tile.
template <int HD, int NTILES>
__device__ __forceinline__ void tc_scores(float (&acc)[NTILES][4], const unsigned int (&a)[HD / 16][4],
                                          const unsigned short (*tile)[HD + TC_PAD]) {
    const int g = (threadIdx.x % 32) / 4, t = threadIdx.x % 4;
#pragma unroll
    for (int j = 0; j < NTILES; j++) {
        acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.0f;
#pragma unroll
        for (int c = 0; c < HD / 16; c++) {
            const unsigned int b0 = *reinterpret_cast<const unsigned int*>(&tile[8 * j + g][16 * c + 2 * t]);
            const unsigned int b1 = *reinterpret_cast<const unsigned int*>(&tile[8 * j + g][16 * c + 2 * t + 8]);
            tc_mma_bf16(acc[j], a[c], b0, b1);
        }
    }
}

// acc[j] (n8 tiles over HD dims) += X.B where X (16 x ROWS) is given as fp32 accumulator tiles,
// rounded here to bf16 A fragments, and B is a transposed [dim][row] tile.
template <int HD, int ROWS>
__device__ __forceinline__ void tc_accumulate(float (&acc)[HD / 8][4], const float (&x)[ROWS / 8][4],
                                              const unsigned short (*transposed)[ROWS + TC_PAD]) {
    const int g = (threadIdx.x % 32) / 4, t = threadIdx.x % 4;
#pragma unroll
    for (int c = 0; c < ROWS / 16; c++) {
        const unsigned int xa[4] = {tc_pack_bf16(x[2 * c][0], x[2 * c][1]), tc_pack_bf16(x[2 * c][2], x[2 * c][3]),
                                    tc_pack_bf16(x[2 * c + 1][0], x[2 * c + 1][1]),
                                    tc_pack_bf16(x[2 * c + 1][2], x[2 * c + 1][3])};
#pragma unroll
        for (int j = 0; j < HD / 8; j++) {
            const unsigned int b0 = *reinterpret_cast<const unsigned int*>(&transposed[8 * j + g][16 * c + 2 * t]);
            const unsigned int b1 = *reinterpret_cast<const unsigned int*>(&transposed[8 * j + g][16 * c + 2 * t + 8]);
            tc_mma_bf16(acc[j], xa, b0, b1);
        }
    }
}

// Writes this lane's elements of the two rows' HD-dim accumulators times `factor`; invalid rows are skipped.
template <int HD>
__device__ __forceinline__ void tc_store_rows(float* __restrict__ base, long long width, const float (&acc)[HD / 8][4],
                                              int row0, int row1, int seqLen, float factor) {
    const int t = threadIdx.x % 4;
    if (row0 < seqLen) {
        float* dst = base + (long long) row0 * width;
#pragma unroll
        for (int j = 0; j < HD / 8; j++) {
            dst[8 * j + 2 * t] = acc[j][0] * factor;
            dst[8 * j + 2 * t + 1] = acc[j][1] * factor;
        }
    }
    if (row1 < seqLen) {
        float* dst = base + (long long) row1 * width;
#pragma unroll
        for (int j = 0; j < HD / 8; j++) {
            dst[8 * j + 2 * t] = acc[j][2] * factor;
            dst[8 * j + 2 * t + 1] = acc[j][3] * factor;
        }
    }
}

// Grid (key tiles of 64, nKvHeads, batch), block TC_THREADS: warp w owns keys 16w..16w+15 of the
// tile, keeps their K and V fragments and fp32 dK, dV accumulators in registers, and streams the
// query tiles at or after the key tile for every query head of the group; then it overwrites its
// rows of dk and dv. Low key tiles see the most queries and get the low block indices, so start first.
template <int HD>
__device__ __forceinline__ void attention_backward_dkdv_tc(float* __restrict__ dk, float* __restrict__ dv,
                                                           const float* __restrict__ delta,
                                                           const float* __restrict__ dOut, const float* __restrict__ q,
                                                           const float* __restrict__ k, const float* __restrict__ v,
                                                           const float* __restrict__ lse, int seqLen, int nHeads,
                                                           int nKvHeads, float scale) {
    static_assert(HD == 64 || HD == 128, "tensor-core attention kernels exist for head dims 64 and 128");
    constexpr int BQ = HD == 64 ? 64 : 16, QTILES = BQ / 8, DTILES = HD / 8;
    alignas(16) __shared__ unsigned short qs[BQ][HD + TC_PAD];    // Q tile, [query][dim]
    alignas(16) __shared__ unsigned short qt[HD][BQ + TC_PAD];    // Q tile transposed, [dim][query]
    alignas(16) __shared__ unsigned short dos[BQ][HD + TC_PAD];   // dOut tile, [query][dim]
    alignas(16) __shared__ unsigned short dot[HD][BQ + TC_PAD];   // dOut tile transposed, [dim][query]
    __shared__ float lse2s[BQ];
    __shared__ float deltas[BQ];

    const int kvHead = blockIdx.y, b = blockIdx.z, group = nHeads / nKvHeads;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const long long qWidth = (long long) nHeads * HD, kvWidth = (long long) nKvHeads * HD;
    const long long batchRow = (long long) b * seqLen;
    const int k0 = blockIdx.x * TC_KEYS;
    const int key0 = k0 + warp * 16 + g, key1 = key0 + 8;   // this lane's two key rows
    const float factor = scale * TC_LOG2E;                  // scores in base 2

    const long long kvBase = batchRow * kvWidth + (long long) kvHead * HD;
    unsigned int ka[HD / 16][4], va[HD / 16][4];
    tc_load_a_rows<HD>(ka, k + kvBase, kvWidth, key0, key1, seqLen);
    tc_load_a_rows<HD>(va, v + kvBase, kvWidth, key0, key1, seqLen);
    float dkAcc[DTILES][4], dvAcc[DTILES][4];
#pragma unroll
    for (int j = 0; j < DTILES; j++) {
#pragma unroll
        for (int e = 0; e < 4; e++) dkAcc[j][e] = dvAcc[j][e] = 0.0f;
    }

    for (int hg = 0; hg < group; hg++) {
        const int h = kvHead * group + hg;
        const long long qBase = batchRow * qWidth + (long long) h * HD;
        const long long lseRow = ((long long) b * nHeads + h) * seqLen;
        for (int q0 = k0; q0 < seqLen; q0 += BQ) {
            __syncthreads();  // the previous tile's readers are done
            tc_stage<HD, BQ>(qs, qt, q + qBase, qWidth, q0, seqLen);
            tc_stage<HD, BQ>(dos, dot, dOut + qBase, qWidth, q0, seqLen);
            for (int r = threadIdx.x; r < BQ; r += TC_THREADS) {
                const int pos = q0 + r;
                const bool ok = pos < seqLen;
                lse2s[r] = ok ? lse[lseRow + pos] * TC_LOG2E : 0.0f;
                deltas[r] = ok ? delta[qBase + (long long) pos * qWidth] : 0.0f;
            }
            __syncthreads();

            float s[QTILES][4], dp[QTILES][4];
            tc_scores<HD, QTILES>(s, ka, qs);    // S^T: rows keys, columns queries
            tc_scores<HD, QTILES>(dp, va, dos);  // dP^T
#pragma unroll
            for (int j = 0; j < QTILES; j++) {
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int col = 8 * j + 2 * t + (e & 1), query = q0 + col, key = e < 2 ? key0 : key1;
                    const float p = query >= key && query < seqLen ? exp2f(s[j][e] * factor - lse2s[col]) : 0.0f;
                    s[j][e] = p;                              // P^T
                    dp[j][e] = p * (dp[j][e] - deltas[col]);  // dS^T / scale
                }
            }
            tc_accumulate<HD, BQ>(dvAcc, s, dot);
            tc_accumulate<HD, BQ>(dkAcc, dp, qt);
        }
    }
    tc_store_rows<HD>(dk + kvBase, kvWidth, dkAcc, key0, key1, seqLen, scale);
    tc_store_rows<HD>(dv + kvBase, kvWidth, dvAcc, key0, key1, seqLen, 1.0f);
}

// Grid (query tiles of 64, nHeads, batch), block TC_THREADS, tiles last-first as in the forward:
// warp w owns queries 16w..16w+15 with their Q and dOut fragments and an fp32 dQ accumulator in
// registers, and streams the key tiles up to the diagonal. Each row's D is read from dq before
// the block's first barrier; the block overwrites its own rows of dq (and no others) at the end.
template <int HD>
__device__ __forceinline__ void attention_backward_dq_tc(float* __restrict__ dq, const float* __restrict__ dOut,
                                                         const float* __restrict__ q, const float* __restrict__ k,
                                                         const float* __restrict__ v, const float* __restrict__ lse,
                                                         int seqLen, int nHeads, int nKvHeads, float scale) {
    static_assert(HD == 64 || HD == 128, "tensor-core attention kernels exist for head dims 64 and 128");
    constexpr int BK = HD == 64 ? 64 : 32, KTILES = BK / 8, DTILES = HD / 8;
    alignas(16) __shared__ unsigned short ks[BK][HD + TC_PAD];   // K tile, [key][dim]
    alignas(16) __shared__ unsigned short kt[HD][BK + TC_PAD];   // K tile transposed, [dim][key]
    alignas(16) __shared__ unsigned short vs[BK][HD + TC_PAD];   // V tile, [key][dim]

    const int tile = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int kvHead = h / (nHeads / nKvHeads);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    const long long qWidth = (long long) nHeads * HD, kvWidth = (long long) nKvHeads * HD;
    const long long batchRow = (long long) b * seqLen;
    const int q0 = tile * TC_QUERIES;
    const int row0 = q0 + warp * 16 + g, row1 = row0 + 8;   // this lane's two query rows
    const float factor = scale * TC_LOG2E;                  // scores in base 2

    const long long qBase = batchRow * qWidth + (long long) h * HD;
    const long long kvBase = batchRow * kvWidth + (long long) kvHead * HD;
    unsigned int qa[HD / 16][4], doa[HD / 16][4];
    tc_load_a_rows<HD>(qa, q + qBase, qWidth, row0, row1, seqLen);
    tc_load_a_rows<HD>(doa, dOut + qBase, qWidth, row0, row1, seqLen);
    const long long lseRow = ((long long) b * nHeads + h) * seqLen;
    const float lse20 = row0 < seqLen ? lse[lseRow + row0] * TC_LOG2E : 0.0f;
    const float lse21 = row1 < seqLen ? lse[lseRow + row1] * TC_LOG2E : 0.0f;
    const float delta0 = row0 < seqLen ? dq[qBase + (long long) row0 * qWidth] : 0.0f;
    const float delta1 = row1 < seqLen ? dq[qBase + (long long) row1 * qWidth] : 0.0f;
    float dqAcc[DTILES][4];
#pragma unroll
    for (int j = 0; j < DTILES; j++) dqAcc[j][0] = dqAcc[j][1] = dqAcc[j][2] = dqAcc[j][3] = 0.0f;

    const int keyEnd = min(seqLen, q0 + TC_QUERIES);
    for (int k0 = 0; k0 < keyEnd; k0 += BK) {
        __syncthreads();  // the previous tile's readers are done (and, first time, every D is read)
        tc_stage<HD, BK>(ks, kt, k + kvBase, kvWidth, k0, seqLen);
        tc_stage<HD, BK>(vs, nullptr, v + kvBase, kvWidth, k0, seqLen);
        __syncthreads();

        float s[KTILES][4], dp[KTILES][4];
        tc_scores<HD, KTILES>(s, qa, ks);    // S
        tc_scores<HD, KTILES>(dp, doa, vs);  // dP
#pragma unroll
        for (int j = 0; j < KTILES; j++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int key = k0 + 8 * j + 2 * t + (e & 1), row = e < 2 ? row0 : row1;
                const float p = key <= row && key < seqLen && row < seqLen
                                        ? exp2f(s[j][e] * factor - (e < 2 ? lse20 : lse21)) : 0.0f;
                dp[j][e] = p * (dp[j][e] - (e < 2 ? delta0 : delta1));  // dS / scale
            }
        }
        tc_accumulate<HD, BK>(dqAcc, dp, kt);
    }
    tc_store_rows<HD>(dq + qBase, qWidth, dqAcc, row0, row1, seqLen, scale);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS)
attention_backward_dkdv_hd64_tc(float* dk, float* dv, const float* delta, const float* dOut, const float* q,
                                const float* k, const float* v, const float* lse, int seqLen, int nHeads,
                                int nKvHeads, float scale) {
    attention_backward_dkdv_tc<64>(dk, dv, delta, dOut, q, k, v, lse, seqLen, nHeads, nKvHeads, scale);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS)
attention_backward_dkdv_hd128_tc(float* dk, float* dv, const float* delta, const float* dOut, const float* q,
                                 const float* k, const float* v, const float* lse, int seqLen, int nHeads,
                                 int nKvHeads, float scale) {
    attention_backward_dkdv_tc<128>(dk, dv, delta, dOut, q, k, v, lse, seqLen, nHeads, nKvHeads, scale);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS)
attention_backward_dq_hd64_tc(float* dq, const float* dOut, const float* q, const float* k, const float* v,
                              const float* lse, int seqLen, int nHeads, int nKvHeads, float scale) {
    attention_backward_dq_tc<64>(dq, dOut, q, k, v, lse, seqLen, nHeads, nKvHeads, scale);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS)
attention_backward_dq_hd128_tc(float* dq, const float* dOut, const float* q, const float* k, const float* v,
                               const float* lse, int seqLen, int nHeads, int nKvHeads, float scale) {
    attention_backward_dq_tc<128>(dq, dOut, q, k, v, lse, seqLen, nHeads, nKvHeads, scale);
}
