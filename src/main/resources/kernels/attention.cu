// Causal grouped-query flash attention in fp32 (Backend.attentionForward / attentionBackward).
//
// Layouts: q, out, dq, dOut [batch * seqLen, nHeads * headDim]; k, v, dk, dv [batch * seqLen,
// nKvHeads * headDim]; lse [batch, nHeads, seqLen] (natural log). Query head h reads kv head
// h / (nHeads / nKvHeads). Scores are q.k / sqrt(headDim), passed in as `scale`.
//
// Thread mapping (fp32 on CUDA cores, no tensor cores): a block owns ATTENTION_ROWS rows (queries
// for the forward and dQ, keys for dK/dV). Each row belongs to D / 32 adjacent lanes of one warp,
// each lane keeping 32 of the row's dims in registers, in float4 chunks interleaved across the
// lanes (lane part p holds chunks p, p + D/32, ...) so that when all lanes read one row of a
// shared tile they hit distinct banks. A dot product is a per-lane partial sum finished with
// log2(D / 32) xor-shuffles. The other side (keys, or queries for dK/dV) streams through shared
// memory in tiles of STREAM rows. Scores are kept in base 2 (q pre-multiplied by scale * log2 e)
// so each probability is one exp2f.
//
// Kernels come in three widths D = 32, 64, 128 (the host picks the smallest D >= headDim; dims
// from headDim to D are zero-filled and cost time, not correctness). Static shared memory stays
// at or below 32 KB per block, under the 48 KB a launch gets without opting in.
//
// The backward runs three kernels in order: attention_backward_delta_f32 writes
// delta_i = sum_e dOut_ie * out_ie into dq at the first dim of each (row, head); the dK/dV kernel
// reads it there; the dQ kernel reads its own rows' deltas and then overwrites dq. No atomics:
// each output element has exactly one writer.

constexpr float LOG2E = 1.4426950408889634f;
constexpr float LN2 = 0.6931471805599453f;
constexpr int ATTENTION_ROWS = 64;
constexpr int DIMS_PER_THREAD = 32;
constexpr int CHUNKS = DIMS_PER_THREAD / 4;
constexpr int KEY_GROUP = 16;  // forward: keys scored together before one softmax update

struct alignas(16) Quad {
    float x, y, z, w;
};

template <int D>
struct Shape {
    static_assert(D == 32 || D == 64 || D == 128, "attention kernels exist for D = 32, 64, 128");
    static constexpr int SPLIT = D / DIMS_PER_THREAD;       // lanes sharing one row
    static constexpr int THREADS = ATTENTION_ROWS * SPLIT;
    static constexpr int STREAM = D == 128 ? 32 : 64;       // two tiles of STREAM x D floats <= 32 KB
};

__device__ __forceinline__ float negative_infinity() { return __int_as_float(0xff800000); }

// This lane's dims of one head row (zero past headDim or for a row past the sequence).
template <int SPLIT>
__device__ __forceinline__ void load_dims(float (&r)[DIMS_PER_THREAD], const float* row, int headDim, int part,
                                          bool valid, float factor) {
#pragma unroll
    for (int i = 0; i < CHUNKS; i++) {
#pragma unroll
        for (int u = 0; u < 4; u++) {
            const int e = 4 * (part + SPLIT * i) + u;
            r[4 * i + u] = valid && e < headDim ? row[e] * factor : 0.0f;
        }
    }
}

template <int SPLIT>
__device__ __forceinline__ void store_dims(float* row, const float (&r)[DIMS_PER_THREAD], int headDim, int part,
                                           float factor) {
#pragma unroll
    for (int i = 0; i < CHUNKS; i++) {
#pragma unroll
        for (int u = 0; u < 4; u++) {
            const int e = 4 * (part + SPLIT * i) + u;
            if (e < headDim) row[e] = r[4 * i + u] * factor;
        }
    }
}

// Rows [first, first + ROWS) of one head of a [batch * seqLen, width] tensor into tile[ROWS][D],
// zero past the sequence and past headDim. Consecutive threads read consecutive dims (coalesced).
template <int D, int ROWS, int THREADS>
__device__ __forceinline__ void load_tile(float (*tile)[D], const float* src, long long batchRow, int first,
                                          int seqLen, long long width, long long headOffset, int headDim) {
    for (int idx = threadIdx.x; idx < ROWS * D; idx += THREADS) {
        const int r = idx / D, e = idx % D, pos = first + r;
        tile[r][e] = pos < seqLen && e < headDim ? src[(batchRow + pos) * width + headOffset + e] : 0.0f;
    }
}

// This lane's share of the dot product of its dims with a shared row (4 accumulators for ILP).
template <int SPLIT>
__device__ __forceinline__ float partial_dot(const float (&r)[DIMS_PER_THREAD], const float* sharedRow, int part) {
    const Quad* row = reinterpret_cast<const Quad*>(sharedRow);
    float a = 0.0f, b = 0.0f, c = 0.0f, d = 0.0f;
#pragma unroll
    for (int i = 0; i < CHUNKS; i++) {
        const Quad t = row[part + SPLIT * i];
        a += r[4 * i] * t.x;
        b += r[4 * i + 1] * t.y;
        c += r[4 * i + 2] * t.z;
        d += r[4 * i + 3] * t.w;
    }
    return (a + b) + (c + d);
}

// acc += f * (this lane's dims of a shared row)
template <int SPLIT>
__device__ __forceinline__ void add_scaled(float (&acc)[DIMS_PER_THREAD], float f, const float* sharedRow, int part) {
    const Quad* row = reinterpret_cast<const Quad*>(sharedRow);
#pragma unroll
    for (int i = 0; i < CHUNKS; i++) {
        const Quad t = row[part + SPLIT * i];
        acc[4 * i] += f * t.x;
        acc[4 * i + 1] += f * t.y;
        acc[4 * i + 2] += f * t.z;
        acc[4 * i + 3] += f * t.w;
    }
}

// Sum over the SPLIT adjacent lanes that share a row; every one of them gets the total.
template <int SPLIT>
__device__ __forceinline__ float row_sum(float v) {
#pragma unroll
    for (int o = SPLIT / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Grid (query tiles, nHeads, batch), block Shape<D>::THREADS. Query tiles run last-first: they
// see the most keys, so the long blocks start early and the short ones fill in at the end.
template <int D>
__device__ __forceinline__ void attention_forward(float* __restrict__ out, float* __restrict__ lse,
                                                  const float* __restrict__ q, const float* __restrict__ k,
                                                  const float* __restrict__ v, int seqLen, int nHeads,
                                                  int nKvHeads, int headDim, float scale) {
    constexpr int SPLIT = Shape<D>::SPLIT, BK = Shape<D>::STREAM, THREADS = Shape<D>::THREADS;
    alignas(16) __shared__ float ks[BK][D];
    alignas(16) __shared__ float vs[BK][D];
    const int tile = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int kvHead = h / (nHeads / nKvHeads);
    const int part = threadIdx.x % SPLIT, i = tile * ATTENTION_ROWS + threadIdx.x / SPLIT;
    const bool valid = i < seqLen;
    const long long qWidth = (long long) nHeads * headDim, kvWidth = (long long) nKvHeads * headDim;
    const long long batchRow = (long long) b * seqLen;
    const long long at = (batchRow + (valid ? i : 0)) * qWidth + (long long) h * headDim;

    float qr[DIMS_PER_THREAD], o[DIMS_PER_THREAD];
    load_dims<SPLIT>(qr, q + at, headDim, part, valid, scale * LOG2E);
#pragma unroll
    for (int e = 0; e < DIMS_PER_THREAD; e++) o[e] = 0.0f;
    float m = negative_infinity(), l = 0.0f;  // running max (base 2) and sum of 2^(s - m)

    // Key 0 is in the first group and visible to every query, so m is finite after it.
    const int keyEnd = min(seqLen, (tile + 1) * ATTENTION_ROWS);
    for (int k0 = 0; k0 < keyEnd; k0 += BK) {
        __syncthreads();  // the previous tile's readers are done
        load_tile<D, BK, THREADS>(ks, k, batchRow, k0, seqLen, kvWidth, (long long) kvHead * headDim, headDim);
        load_tile<D, BK, THREADS>(vs, v, batchRow, k0, seqLen, kvWidth, (long long) kvHead * headDim, headDim);
        __syncthreads();
        // Keys in groups of KEY_GROUP, each group one online-softmax update: the scores of a group
        // live in registers, and the loop over groups stays rolled to keep the code small.
#pragma unroll 1
        for (int g = 0; g < BK; g += KEY_GROUP) {
            float s[KEY_GROUP];
#pragma unroll
            for (int j = 0; j < KEY_GROUP; j++) s[j] = partial_dot<SPLIT>(qr, ks[g + j], part);
            float groupMax = m;
#pragma unroll
            for (int j = 0; j < KEY_GROUP; j++) {
                s[j] = row_sum<SPLIT>(s[j]);
                if (k0 + g + j > i) s[j] = negative_infinity();  // causal mask (also covers keys past seqLen)
                groupMax = fmaxf(groupMax, s[j]);
            }
            const float rescale = exp2f(m - groupMax);
            l *= rescale;
#pragma unroll
            for (int e = 0; e < DIMS_PER_THREAD; e++) o[e] *= rescale;
#pragma unroll
            for (int j = 0; j < KEY_GROUP; j++) {
                const float p = exp2f(s[j] - groupMax);
                l += p;
                add_scaled<SPLIT>(o, p, vs[g + j], part);
            }
            m = groupMax;
        }
    }
    if (valid) {
        store_dims<SPLIT>(out + at, o, headDim, part, 1.0f / l);
        if (part == 0) lse[((long long) b * nHeads + h) * seqLen + i] = (m + log2f(l)) * LN2;
    }
}

// Grid (key tiles, nKvHeads, batch), block Shape<D>::THREADS. A block owns ATTENTION_ROWS keys of
// one kv head, keeps their k, v and the dK, dV accumulators in registers, and streams the query
// tiles at or after its first key for every query head of the group; then it overwrites its rows
// of dk and dv. Low key tiles see the most queries and get the low block indices, so start first.
template <int D>
__device__ __forceinline__ void attention_backward_dkdv(float* __restrict__ dk, float* __restrict__ dv,
                                                        const float* __restrict__ delta,
                                                        const float* __restrict__ dOut, const float* __restrict__ q,
                                                        const float* __restrict__ k, const float* __restrict__ v,
                                                        const float* __restrict__ lse, int seqLen, int nHeads,
                                                        int nKvHeads, int headDim, float scale) {
    constexpr int SPLIT = Shape<D>::SPLIT, BQ = Shape<D>::STREAM, THREADS = Shape<D>::THREADS;
    alignas(16) __shared__ float qs[BQ][D];
    alignas(16) __shared__ float dos[BQ][D];
    __shared__ float lse2s[BQ];
    __shared__ float deltas[BQ];
    const int kvHead = blockIdx.y, b = blockIdx.z, group = nHeads / nKvHeads;
    const int part = threadIdx.x % SPLIT, j = blockIdx.x * ATTENTION_ROWS + threadIdx.x / SPLIT;
    const bool valid = j < seqLen;
    const long long qWidth = (long long) nHeads * headDim, kvWidth = (long long) nKvHeads * headDim;
    const long long batchRow = (long long) b * seqLen;
    const long long at = (batchRow + (valid ? j : 0)) * kvWidth + (long long) kvHead * headDim;

    float kr[DIMS_PER_THREAD], vr[DIMS_PER_THREAD], dkAcc[DIMS_PER_THREAD], dvAcc[DIMS_PER_THREAD];
    load_dims<SPLIT>(kr, k + at, headDim, part, valid, scale * LOG2E);
    load_dims<SPLIT>(vr, v + at, headDim, part, valid, 1.0f);
#pragma unroll
    for (int e = 0; e < DIMS_PER_THREAD; e++) dkAcc[e] = dvAcc[e] = 0.0f;

    for (int g = 0; g < group; g++) {
        const int h = kvHead * group + g;
        const long long lseRow = ((long long) b * nHeads + h) * seqLen;
        for (int q0 = blockIdx.x * ATTENTION_ROWS; q0 < seqLen; q0 += BQ) {
            __syncthreads();  // the previous tile's readers are done
            load_tile<D, BQ, THREADS>(qs, q, batchRow, q0, seqLen, qWidth, (long long) h * headDim, headDim);
            load_tile<D, BQ, THREADS>(dos, dOut, batchRow, q0, seqLen, qWidth, (long long) h * headDim, headDim);
            for (int r = threadIdx.x; r < BQ; r += THREADS) {
                const int pos = q0 + r;
                const bool ok = pos < seqLen;
                lse2s[r] = ok ? lse[lseRow + pos] * LOG2E : 0.0f;
                deltas[r] = ok ? delta[(batchRow + pos) * qWidth + (long long) h * headDim] : 0.0f;
            }
            __syncthreads();
            const int count = min(BQ, seqLen - q0);
#pragma unroll 2
            for (int r = 0; r < count; r++) {
                const float s = row_sum<SPLIT>(partial_dot<SPLIT>(kr, qs[r], part));
                const float dp = row_sum<SPLIT>(partial_dot<SPLIT>(vr, dos[r], part));
                const float p = j <= q0 + r ? exp2f(s - lse2s[r]) : 0.0f;
                add_scaled<SPLIT>(dvAcc, p, dos[r], part);
                add_scaled<SPLIT>(dkAcc, p * (dp - deltas[r]), qs[r], part);
            }
        }
    }
    if (valid) {
        store_dims<SPLIT>(dk + at, dkAcc, headDim, part, scale);
        store_dims<SPLIT>(dv + at, dvAcc, headDim, part, 1.0f);
    }
}

// Grid (query tiles, nHeads, batch), block Shape<D>::THREADS, tiles last-first as in the forward.
// Each row's delta is read from dq before the block's first barrier; the block overwrites its own
// rows of dq (and no others) only after its last tile.
template <int D>
__device__ __forceinline__ void attention_backward_dq(float* __restrict__ dq, const float* __restrict__ dOut,
                                                      const float* __restrict__ q, const float* __restrict__ k,
                                                      const float* __restrict__ v, const float* __restrict__ lse,
                                                      int seqLen, int nHeads, int nKvHeads, int headDim, float scale) {
    constexpr int SPLIT = Shape<D>::SPLIT, BK = Shape<D>::STREAM, THREADS = Shape<D>::THREADS;
    alignas(16) __shared__ float ks[BK][D];
    alignas(16) __shared__ float vs[BK][D];
    const int tile = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int kvHead = h / (nHeads / nKvHeads);
    const int part = threadIdx.x % SPLIT, i = tile * ATTENTION_ROWS + threadIdx.x / SPLIT;
    const bool valid = i < seqLen;
    const long long qWidth = (long long) nHeads * headDim, kvWidth = (long long) nKvHeads * headDim;
    const long long batchRow = (long long) b * seqLen;
    const long long at = (batchRow + (valid ? i : 0)) * qWidth + (long long) h * headDim;

    float qr[DIMS_PER_THREAD], dor[DIMS_PER_THREAD], dqAcc[DIMS_PER_THREAD];
    load_dims<SPLIT>(qr, q + at, headDim, part, valid, scale * LOG2E);
    load_dims<SPLIT>(dor, dOut + at, headDim, part, valid, 1.0f);
#pragma unroll
    for (int e = 0; e < DIMS_PER_THREAD; e++) dqAcc[e] = 0.0f;
    const float lse2 = valid ? lse[((long long) b * nHeads + h) * seqLen + i] * LOG2E : 0.0f;
    const float rowDelta = valid ? dq[at] : 0.0f;

    const int keyEnd = min(seqLen, (tile + 1) * ATTENTION_ROWS);
    for (int k0 = 0; k0 < keyEnd; k0 += BK) {
        __syncthreads();  // the previous tile's readers are done (and, first time, every delta is read)
        load_tile<D, BK, THREADS>(ks, k, batchRow, k0, seqLen, kvWidth, (long long) kvHead * headDim, headDim);
        load_tile<D, BK, THREADS>(vs, v, batchRow, k0, seqLen, kvWidth, (long long) kvHead * headDim, headDim);
        __syncthreads();
#pragma unroll 2
        for (int j = 0; j < BK; j++) {
            const float s = row_sum<SPLIT>(partial_dot<SPLIT>(qr, ks[j], part));
            const float dp = row_sum<SPLIT>(partial_dot<SPLIT>(dor, vs[j], part));
            const float p = k0 + j <= i ? exp2f(s - lse2) : 0.0f;
            add_scaled<SPLIT>(dqAcc, p * (dp - rowDelta), ks[j], part);
        }
    }
    if (valid) store_dims<SPLIT>(dq + at, dqAcc, headDim, part, scale);
}

// ---- entry points: one per head-dim width; block sizes are Shape<D>::THREADS ----------------------

static_assert(Shape<32>::THREADS == 64 && Shape<64>::THREADS == 128 && Shape<128>::THREADS == 256,
              "the __launch_bounds__ below and CudaKernels assume these block sizes");

extern "C" __global__ void __launch_bounds__(64)
attention_forward_hd32_f32(float* out, float* lse, const float* q, const float* k, const float* v,
                           int seqLen, int nHeads, int nKvHeads, int headDim, float scale) {
    attention_forward<32>(out, lse, q, k, v, seqLen, nHeads, nKvHeads, headDim, scale);
}

extern "C" __global__ void __launch_bounds__(128)
attention_forward_hd64_f32(float* out, float* lse, const float* q, const float* k, const float* v,
                           int seqLen, int nHeads, int nKvHeads, int headDim, float scale) {
    attention_forward<64>(out, lse, q, k, v, seqLen, nHeads, nKvHeads, headDim, scale);
}

extern "C" __global__ void __launch_bounds__(256)
attention_forward_hd128_f32(float* out, float* lse, const float* q, const float* k, const float* v,
                            int seqLen, int nHeads, int nKvHeads, int headDim, float scale) {
    attention_forward<128>(out, lse, q, k, v, seqLen, nHeads, nKvHeads, headDim, scale);
}

// delta[row, head] = sum_e dOut * out over the head's dims, one warp per (row, head), written into
// dq at the head's first dim: dq[(row * nHeads + head) * headDim]. headRows = batch * seqLen * nHeads.
extern "C" __global__ void attention_backward_delta_f32(float* __restrict__ dq, const float* __restrict__ dOut,
                                                        const float* __restrict__ out, long long headRows,
                                                        int headDim) {
    const int lane = threadIdx.x & 31;
    const long long warps = ((long long) gridDim.x * blockDim.x) >> 5;
    for (long long w = ((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5; w < headRows; w += warps) {
        const long long at = w * headDim;
        float s = 0.0f;
        for (int e = lane; e < headDim; e += 32) s += dOut[at + e] * out[at + e];
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (lane == 0) dq[at] = s;
    }
}

extern "C" __global__ void __launch_bounds__(64)
attention_backward_dkdv_hd32_f32(float* dk, float* dv, const float* delta, const float* dOut, const float* q,
                                 const float* k, const float* v, const float* lse, int seqLen, int nHeads,
                                 int nKvHeads, int headDim, float scale) {
    attention_backward_dkdv<32>(dk, dv, delta, dOut, q, k, v, lse, seqLen, nHeads, nKvHeads, headDim, scale);
}

extern "C" __global__ void __launch_bounds__(128)
attention_backward_dkdv_hd64_f32(float* dk, float* dv, const float* delta, const float* dOut, const float* q,
                                 const float* k, const float* v, const float* lse, int seqLen, int nHeads,
                                 int nKvHeads, int headDim, float scale) {
    attention_backward_dkdv<64>(dk, dv, delta, dOut, q, k, v, lse, seqLen, nHeads, nKvHeads, headDim, scale);
}

extern "C" __global__ void __launch_bounds__(256)
attention_backward_dkdv_hd128_f32(float* dk, float* dv, const float* delta, const float* dOut, const float* q,
                                  const float* k, const float* v, const float* lse, int seqLen, int nHeads,
                                  int nKvHeads, int headDim, float scale) {
    attention_backward_dkdv<128>(dk, dv, delta, dOut, q, k, v, lse, seqLen, nHeads, nKvHeads, headDim, scale);
}

extern "C" __global__ void __launch_bounds__(64)
attention_backward_dq_hd32_f32(float* dq, const float* dOut, const float* q, const float* k, const float* v,
                               const float* lse, int seqLen, int nHeads, int nKvHeads, int headDim, float scale) {
    attention_backward_dq<32>(dq, dOut, q, k, v, lse, seqLen, nHeads, nKvHeads, headDim, scale);
}

extern "C" __global__ void __launch_bounds__(128)
attention_backward_dq_hd64_f32(float* dq, const float* dOut, const float* q, const float* k, const float* v,
                               const float* lse, int seqLen, int nHeads, int nKvHeads, int headDim, float scale) {
    attention_backward_dq<64>(dq, dOut, q, k, v, lse, seqLen, nHeads, nKvHeads, headDim, scale);
}

extern "C" __global__ void __launch_bounds__(256)
attention_backward_dq_hd128_f32(float* dq, const float* dOut, const float* q, const float* k, const float* v,
                                const float* lse, int seqLen, int nHeads, int nKvHeads, int headDim, float scale) {
    attention_backward_dq<128>(dq, dOut, q, k, v, lse, seqLen, nHeads, nKvHeads, headDim, scale);
}
