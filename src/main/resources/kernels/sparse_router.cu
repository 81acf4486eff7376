// The device half of the sparse FFN's neuron-expert router (SPEC §3.2): expert centres from W1,
// token scores against them, and the gather of token rows into expert order (bf16, the sparse GEMMs'
// operand) and the scatter back. Host side: dev.sparsetrain.cuda.SparseFfnKernels.
//
// Centres and scores accumulate in double, like the CPU oracles (ExpertCentres, Router.scores): a
// product of two floats is exact in double, so only the order of the additions differs.

#include "bf16.cuh"

constexpr int SPARSE_CENTRES_THREADS = 1024;
// A centres block: 32 adjacent columns of one expert, each summed by 32 row lanes.
constexpr int CENTRES_COLUMNS = 32;
constexpr int CENTRES_LANES = SPARSE_CENTRES_THREADS / CENTRES_COLUMNS;

constexpr int SPARSE_SCORES_THREADS = 256;
// A scores block: 8 warps of 4 tokens; each lane reads 4 adjacent columns (one float4) of a token.
constexpr int SCORES_TOKENS_PER_WARP = 4;
constexpr int SCORES_TOKENS = SPARSE_SCORES_THREADS / 32 * SCORES_TOKENS_PER_WARP;
// Columns of the centres staged in shared memory per step: two float4s per lane.
constexpr int SCORES_CHUNK = 256;

constexpr int SPARSE_ROWS_THREADS = 256;

__host__ __device__ inline float sparse_bf16_to_float(unsigned int bits) {
    union { unsigned int u; float f; } v;
    v.u = bits << 16;
    return v.f;
}

// ---- expert centres -----------------------------------------------------------------------------------

// centres[e, j] = mean of w1 rows [e*F/E, (e+1)*F/E) at column j; grid (ceil(dim/32), experts). Each
// block's 32 row lanes sum strided rows into 4 independent accumulators (loads in flight), then lane 0
// of each column adds the 32 lane sums in a fixed order, so the result does not depend on timing.
// Two blocks per SM (at most 32 registers) keep a full wave of threads reading: the kernel is
// memory-bound and has only E*dim columns of parallelism besides the row lanes.
extern "C" __global__ void __launch_bounds__(SPARSE_CENTRES_THREADS, 2)
sparse_expert_centres(float* centres, const float* w1, int neurons, int dim, int experts) {
    __shared__ double laneSums[CENTRES_LANES][CENTRES_COLUMNS];
    int column = threadIdx.x % CENTRES_COLUMNS, lane = threadIdx.x / CENTRES_COLUMNS;
    long long j = (long long) blockIdx.x * CENTRES_COLUMNS + column;
    int e = blockIdx.y, per = neurons / experts;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    if (j < dim) {
        const float* p = w1 + (long long) e * per * dim + j;
        int i = lane;
        for (; i + 3 * CENTRES_LANES < per; i += 4 * CENTRES_LANES) {
            s0 += p[(long long) i * dim];
            s1 += p[(long long) (i + CENTRES_LANES) * dim];
            s2 += p[(long long) (i + 2 * CENTRES_LANES) * dim];
            s3 += p[(long long) (i + 3 * CENTRES_LANES) * dim];
        }
        for (; i < per; i += CENTRES_LANES) s0 += p[(long long) i * dim];
    }
    laneSums[lane][column] = (s0 + s1) + (s2 + s3);
    __syncthreads();
    if (lane == 0 && j < dim) {
        double sum = 0;
        for (int l = 0; l < CENTRES_LANES; l++) sum += laneSums[l][column];
        centres[(long long) e * dim + j] = (float) (sum / per);
    }
}

// ---- router scores ------------------------------------------------------------------------------------

__device__ inline double sparse_warp_sum(double x) {
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xFFFFFFFFu, x, o);
    return x;
}

// scores[t, e] = ||c_e||^2 - 2 x_t . c_e for SCORES_TOKENS tokens per block, Experts experts per pass
// (passes repeat until all experts are done; a pass's missing experts are zero centres that nothing
// writes). Each pass stages SCORES_CHUNK columns of its centres at a time and every lane keeps
// Experts x 4 double accumulators. dim % 4 == 0 and 16-byte aligned x and centres (float4 loads).
template <int Experts>
__device__ inline void sparse_router_scores(float* scores, const float* x, const float* centres, int tokens, int dim, int experts) {
    __shared__ float4 chunk[Experts][SCORES_CHUNK / 4];
    __shared__ double norms[Experts];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    long long token0 = (long long) blockIdx.x * SCORES_TOKENS + warp * SCORES_TOKENS_PER_WARP;
    int quads = dim / 4;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    const float4* c4 = reinterpret_cast<const float4*>(centres);
    for (int e0 = 0; e0 < experts; e0 += Experts) {
        for (int e = warp; e < Experts; e += SPARSE_SCORES_THREADS / 32) {
            double n = 0;
            if (e0 + e < experts) {
                for (int j = lane; j < dim; j += 32) {
                    double c = centres[(long long) (e0 + e) * dim + j];
                    n += c * c;
                }
            }
            n = sparse_warp_sum(n);
            if (lane == 0) norms[e] = n;
        }
        double acc[SCORES_TOKENS_PER_WARP][Experts];
        for (int t = 0; t < SCORES_TOKENS_PER_WARP; t++) {
            for (int e = 0; e < Experts; e++) acc[t][e] = 0;
        }
        for (int q0 = 0; q0 < quads; q0 += SCORES_CHUNK / 4) {
            __syncthreads();  // the previous chunk has been read
            for (int i = threadIdx.x; i < Experts * (SCORES_CHUNK / 4); i += SPARSE_SCORES_THREADS) {
                int e = i / (SCORES_CHUNK / 4), q = q0 + i % (SCORES_CHUNK / 4);
                float4 zero = {0.0f, 0.0f, 0.0f, 0.0f};
                chunk[e][i % (SCORES_CHUNK / 4)] = e0 + e < experts && q < quads ? c4[(long long) (e0 + e) * quads + q] : zero;
            }
            __syncthreads();
            for (int qq = lane; qq < SCORES_CHUNK / 4 && q0 + qq < quads; qq += 32) {
                float4 xv[SCORES_TOKENS_PER_WARP];
                for (int t = 0; t < SCORES_TOKENS_PER_WARP; t++) {
                    float4 zero = {0.0f, 0.0f, 0.0f, 0.0f};
                    xv[t] = token0 + t < tokens ? x4[(token0 + t) * quads + q0 + qq] : zero;
                }
                for (int e = 0; e < Experts; e++) {
                    float4 c = chunk[e][qq];
                    for (int t = 0; t < SCORES_TOKENS_PER_WARP; t++) {
                        acc[t][e] += (double) xv[t].x * c.x + (double) xv[t].y * c.y + (double) xv[t].z * c.z + (double) xv[t].w * c.w;
                    }
                }
            }
        }
        for (int t = 0; t < SCORES_TOKENS_PER_WARP; t++) {
            for (int e = 0; e < Experts; e++) {
                double dot = sparse_warp_sum(acc[t][e]);
                if (lane == 0 && token0 + t < tokens && e0 + e < experts) {
                    scores[(token0 + t) * experts + e0 + e] = (float) (norms[e] - 2 * dot);
                }
            }
        }
        __syncthreads();  // norms are rewritten by the next pass
    }
}

// One pass of 2, 4 or 8 experts: the host picks the narrowest that covers E (8 for E > 8, in passes).
extern "C" __global__ void __launch_bounds__(SPARSE_SCORES_THREADS)
sparse_router_scores_e2(float* scores, const float* x, const float* centres, int tokens, int dim, int experts) {
    sparse_router_scores<2>(scores, x, centres, tokens, dim, experts);
}

extern "C" __global__ void __launch_bounds__(SPARSE_SCORES_THREADS)
sparse_router_scores_e4(float* scores, const float* x, const float* centres, int tokens, int dim, int experts) {
    sparse_router_scores<4>(scores, x, centres, tokens, dim, experts);
}

extern "C" __global__ void __launch_bounds__(SPARSE_SCORES_THREADS)
sparse_router_scores_e8(float* scores, const float* x, const float* centres, int tokens, int dim, int experts) {
    sparse_router_scores<8>(scores, x, centres, tokens, dim, experts);
}

// ---- gather into expert order and scatter back ---------------------------------------------------------

// Columns 4q..4q+3 of routed row r: bf16(src[perm[r], ...]), zeros for a padding row (perm[r] < 0).
__host__ __device__ inline void sparse_gather_quad(unsigned short* dst, const float* src, const int* perm, long long r, int q, int cols) {
    int token = perm[r];
    uint2 out = {0u, 0u};
    if (token >= 0) {
        float4 v = reinterpret_cast<const float4*>(src)[(long long) token * (cols / 4) + q];
        out.x = bf16_bits_round_nearest_even(v.x) | ((unsigned int) bf16_bits_round_nearest_even(v.y) << 16);
        out.y = bf16_bits_round_nearest_even(v.z) | ((unsigned int) bf16_bits_round_nearest_even(v.w) << 16);
    }
    reinterpret_cast<uint2*>(dst)[r * (cols / 4) + q] = out;
}

// Columns 4q..4q+3 of routed row r, widened to float, into token row perm[r]; nothing for padding.
__host__ __device__ inline void sparse_scatter_quad(float* dst, const unsigned short* src, const int* perm, long long r, int q, int cols) {
    int token = perm[r];
    if (token < 0) return;
    uint2 v = reinterpret_cast<const uint2*>(src)[r * (cols / 4) + q];
    float4 out;
    out.x = sparse_bf16_to_float(v.x & 0xFFFFu);
    out.y = sparse_bf16_to_float(v.x >> 16);
    out.z = sparse_bf16_to_float(v.y & 0xFFFFu);
    out.w = sparse_bf16_to_float(v.y >> 16);
    reinterpret_cast<float4*>(dst)[(long long) token * (cols / 4) + q] = out;
}

// dst [rows, cols] bf16 = src fp32 rows picked by perm; a block per row (grid-stride over rows).
extern "C" __global__ void __launch_bounds__(SPARSE_ROWS_THREADS)
sparse_gather_rows(unsigned short* dst, const float* src, const int* perm, int rows, int cols) {
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        for (int q = threadIdx.x; q < cols / 4; q += blockDim.x) sparse_gather_quad(dst, src, perm, r, q, cols);
    }
}

// dst fp32 token rows perm[r] = src bf16 [rows, cols] row r, for every non-padding routed row.
extern "C" __global__ void __launch_bounds__(SPARSE_ROWS_THREADS)
sparse_scatter_rows(float* dst, const unsigned short* src, const int* perm, int rows, int cols) {
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        for (int q = threadIdx.x; q < cols / 4; q += blockDim.x) sparse_scatter_quad(dst, src, perm, r, q, cols);
    }
}
