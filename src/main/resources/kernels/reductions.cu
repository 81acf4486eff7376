// Kernels that reduce within a block: the sum of squares behind gradient clipping and RMSNorm
// forward / backward (Backend.sumSquares, rmsNormForward, rmsNormBackward), fp32 storage with
// fp32 or double accumulation. Blocks are 1D and a multiple of 32 threads (at most 1024).

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// The sum of v over the block, returned to every thread. The leading barrier lets a block call
// it again right away (the previous call's readers of scratch are done before it is rewritten).
template <typename T>
__device__ __forceinline__ T block_sum(T v, T* scratch) {
    v = warp_sum(v);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return warp_sum(lane < warps ? scratch[lane] : T(0));
}

// Block b writes partials[b] = sum of x[i]^2 over its grid-stride share, accumulated in double;
// the host adds the gridDim.x partials in double. Every block writes its partial, even with
// no elements, so the host never reads a stale entry.
extern "C" __global__ void sum_squares_f32(const float* __restrict__ x, long long n, float* __restrict__ partials) {
    __shared__ double scratch[32];
    double s = 0.0;
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        const double xi = x[i];
        s += xi * xi;
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = (float) s;
}

// rstd[t] = 1 / sqrt(mean(x[t,:]^2) + eps); out[t,i] = x[t,i] * rstd[t] * weight[i]. One block per row.
extern "C" __global__ void rmsnorm_forward_f32(float* __restrict__ out, float* __restrict__ rstd,
                                               const float* __restrict__ x, const float* __restrict__ weight,
                                               int rows, int d, float eps) {
    __shared__ float scratch[32];
    for (int t = blockIdx.x; t < rows; t += gridDim.x) {
        const float* xr = x + (long long) t * d;
        float ss = 0.0f;
        for (int j = threadIdx.x; j < d; j += blockDim.x) ss += xr[j] * xr[j];
        ss = block_sum(ss, scratch);
        const float r = 1.0f / sqrtf(ss / d + eps);
        if (threadIdx.x == 0) rstd[t] = r;
        float* o = out + (long long) t * d;
        for (int j = threadIdx.x; j < d; j += blockDim.x) o[j] = xr[j] * r * weight[j];
    }
}

// The shape of rmsnorm_backward_f32 (CudaKernels mirrors both numbers): it runs with exactly
// RMSNORM_BACKWARD_THREADS threads, and each thread keeps the weight gradient of
// RMSNORM_COLUMNS_PER_THREAD columns (one every RMSNORM_BACKWARD_THREADS) in registers, so one
// blockIdx.y covers 8192 columns.
constexpr int RMSNORM_BACKWARD_THREADS = 256;
constexpr int RMSNORM_COLUMNS_PER_THREAD = 32;

// Adds into dx and dWeight (Backend.rmsNormBackward). With s = sum_j g_j w_j x_j over the row:
//   dx_i += rstd * w_i * g_i - rstd^3 / d * x_i * s,   dWeight_i += sum_t g_ti * x_ti * rstd_t.
// Grid: x walks the rows (grid-stride), y the column chunks. Every block computes the row's dot
// over all d columns and then updates its chunk; its dWeight partial for the rows it visited is
// added with one float atomic per column at the end (gridDim.x adds per column in all).
extern "C" __global__ void __launch_bounds__(RMSNORM_BACKWARD_THREADS)
rmsnorm_backward_f32(float* __restrict__ dx, float* __restrict__ dWeight, const float* __restrict__ dOut,
                     const float* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ rstd,
                     int rows, int d) {
    __shared__ float scratch[32];
    const int first = blockIdx.y * (RMSNORM_BACKWARD_THREADS * RMSNORM_COLUMNS_PER_THREAD) + threadIdx.x;
    float dw[RMSNORM_COLUMNS_PER_THREAD];
#pragma unroll
    for (int c = 0; c < RMSNORM_COLUMNS_PER_THREAD; c++) dw[c] = 0.0f;
    for (int t = blockIdx.x; t < rows; t += gridDim.x) {
        const float* g = dOut + (long long) t * d;
        const float* xr = x + (long long) t * d;
        float dot = 0.0f;
        for (int j = threadIdx.x; j < d; j += RMSNORM_BACKWARD_THREADS) dot += g[j] * weight[j] * xr[j];
        dot = block_sum(dot, scratch);
        const float r = rstd[t];
        const float correction = r * r * r / d * dot;
        float* dxr = dx + (long long) t * d;
#pragma unroll
        for (int c = 0; c < RMSNORM_COLUMNS_PER_THREAD; c++) {
            const int j = first + c * RMSNORM_BACKWARD_THREADS;
            if (j < d) {
                const float gj = g[j], xj = xr[j];
                dxr[j] += r * weight[j] * gj - correction * xj;
                dw[c] += gj * xj * r;
            }
        }
    }
#pragma unroll
    for (int c = 0; c < RMSNORM_COLUMNS_PER_THREAD; c++) {
        const int j = first + c * RMSNORM_BACKWARD_THREADS;
        if (j < d) atomicAdd(dWeight + j, dw[c]);
    }
}
