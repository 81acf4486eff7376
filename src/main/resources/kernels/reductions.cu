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
// no elements, so the host never reads a stale entry. Four elements per thread step (one 16-byte
// load) when x is 16-byte aligned, then the n % 4 tail one by one; a view into the flat parameter
// buffer may start at any float, and then the whole loop goes one by one.
extern "C" __global__ void sum_squares_f32(const float* __restrict__ x, long long n, float* __restrict__ partials) {
    __shared__ double scratch[32];
    const long long first = (long long) blockIdx.x * blockDim.x + threadIdx.x, stride = (long long) gridDim.x * blockDim.x;
    double s = 0.0;
    long long tail = 0;
    if ((unsigned long long) x % 16 == 0) {
        const long long quads = n / 4;
        const float4* x4 = reinterpret_cast<const float4*>(x);
        for (long long q = first; q < quads; q += stride) {
            const float4 v = x4[q];
            s += (double) v.x * v.x;
            s += (double) v.y * v.y;
            s += (double) v.z * v.z;
            s += (double) v.w * v.w;
        }
        tail = quads * 4;
    }
    for (long long i = tail + first; i < n; i += stride) s += (double) x[i] * x[i];
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = (float) s;
}

// The shape of the RMSNorm kernels (CudaKernels mirrors both numbers): a block walks one row at a
// time and each thread holds RMSNORM_COLUMNS_PER_THREAD of its columns in registers, so a block of
// at most RMSNORM_MAX_THREADS threads covers rows of up to 8192 columns, and every load of a row
// is issued before the first use. Vector v (W floats) of a row belongs to thread v % blockDim.x, as
// its (v / blockDim.x)-th slot: consecutive threads read consecutive vectors (coalesced).
constexpr int RMSNORM_MAX_THREADS = 512;
constexpr int RMSNORM_COLUMNS_PER_THREAD = 16;

// W consecutive floats of a row at p: one 16-byte access for W = 4 (p must be 16-byte aligned).
template <int W>
__host__ __device__ __forceinline__ void load_floats(float (&v)[W], const float* p) {
    if constexpr (W == 4) {
        const float4 f = *reinterpret_cast<const float4*>(p);
        v[0] = f.x; v[1] = f.y; v[2] = f.z; v[3] = f.w;
    } else {
        for (int i = 0; i < W; i++) v[i] = p[i];
    }
}

template <int W>
__host__ __device__ __forceinline__ void store_floats(float* p, const float (&v)[W]) {
    if constexpr (W == 4) {
        *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
    } else {
        for (int i = 0; i < W; i++) p[i] = v[i];
    }
}

// One thread's share of an RMSNorm row, W floats per vector (4 where every row pointer is 16-byte
// aligned and d % 4 == 0, else 1), and its weight-gradient sums for the same columns across rows.
// The phases are __host__ __device__ so the tests can run every thread of a block on the CPU.
template <int W>
struct RmsNormThread {
    static constexpr int SLOTS = RMSNORM_COLUMNS_PER_THREAD / W;
    float a[SLOTS][W], b[SLOTS][W], c[SLOTS][W], dw[SLOTS][W];
    int thread, threads, vectors;

    __host__ __device__ RmsNormThread(int thread, int threads, int d) : thread(thread), threads(threads), vectors(d / W) {
        for (int k = 0; k < SLOTS; k++)
            for (int i = 0; i < W; i++) dw[k][i] = 0.0f;
    }

    __host__ __device__ bool owns(int k) const { return thread + k * threads < vectors; }
    __host__ __device__ int column(int k) const { return (thread + k * threads) * W; }

    // Forward, phase 1: loads x into a; returns the thread's sum of x^2.
    __host__ __device__ float forward_load(const float* xr) {
#pragma unroll
        for (int k = 0; k < SLOTS; k++) {
            if (owns(k)) load_floats<W>(a[k], xr + column(k));
            else for (int i = 0; i < W; i++) a[k][i] = 0.0f;
        }
        float ss = 0.0f;
#pragma unroll
        for (int k = 0; k < SLOTS; k++)
            for (int i = 0; i < W; i++) ss += a[k][i] * a[k][i];
        return ss;
    }

    // Forward, phase 2: out = x * r * weight.
    __host__ __device__ void forward_store(float* o, const float* weight, float r) const {
#pragma unroll
        for (int k = 0; k < SLOTS; k++) {
            if (!owns(k)) continue;
            float w[W], y[W];
            load_floats<W>(w, weight + column(k));
            for (int i = 0; i < W; i++) y[i] = a[k][i] * r * w[i];
            store_floats<W>(o + column(k), y);
        }
    }

    // Backward, phase 1: loads dOut into a, x into b and dx into c (all before any use); returns the
    // thread's part of the row's sum of dOut * weight * x.
    __host__ __device__ float backward_load(const float* g, const float* xr, const float* dxr, const float* weight) {
#pragma unroll
        for (int k = 0; k < SLOTS; k++) {
            if (owns(k)) {
                load_floats<W>(a[k], g + column(k));
                load_floats<W>(b[k], xr + column(k));
                load_floats<W>(c[k], dxr + column(k));
            } else {
                for (int i = 0; i < W; i++) a[k][i] = b[k][i] = c[k][i] = 0.0f;
            }
        }
        float dot = 0.0f;
#pragma unroll
        for (int k = 0; k < SLOTS; k++) {
            if (!owns(k)) continue;
            float w[W];
            load_floats<W>(w, weight + column(k));
            for (int i = 0; i < W; i++) dot += a[k][i] * w[i] * b[k][i];
        }
        return dot;
    }

    // Backward, phase 2: dx += r * w * g - correction * x, and the row's g * x * r into dw.
    __host__ __device__ void backward_store(float* dxr, const float* weight, float r, float correction) {
#pragma unroll
        for (int k = 0; k < SLOTS; k++) {
            if (!owns(k)) continue;
            float w[W];
            load_floats<W>(w, weight + column(k));
            for (int i = 0; i < W; i++) {
                c[k][i] += r * w[i] * a[k][i] - correction * b[k][i];
                dw[k][i] += a[k][i] * b[k][i] * r;
            }
            store_floats<W>(dxr + column(k), c[k]);
        }
    }
};

// rstd[t] = 1 / sqrt(mean(x[t,:]^2) + eps); out[t,i] = x[t,i] * rstd[t] * weight[i]. Rows grid-stride.
template <int W>
__device__ __forceinline__ void rmsnorm_forward(float* __restrict__ out, float* __restrict__ rstd, const float* __restrict__ x,
                                                const float* __restrict__ weight, int rows, int d, float eps) {
    __shared__ float scratch[32];
    RmsNormThread<W> me(threadIdx.x, blockDim.x, d);
    for (int t = blockIdx.x; t < rows; t += gridDim.x) {
        const float ss = block_sum(me.forward_load(x + (long long) t * d), scratch);
        const float r = 1.0f / sqrtf(ss / d + eps);
        if (threadIdx.x == 0) rstd[t] = r;
        me.forward_store(out + (long long) t * d, weight, r);
    }
}

// Any pointers and d (one float at a time).
extern "C" __global__ void __launch_bounds__(RMSNORM_MAX_THREADS)
rmsnorm_forward_f32(float* __restrict__ out, float* __restrict__ rstd, const float* __restrict__ x,
                    const float* __restrict__ weight, int rows, int d, float eps) {
    rmsnorm_forward<1>(out, rstd, x, weight, rows, d, eps);
}

// out, x and weight 16-byte aligned and d % 4 == 0 (16-byte accesses).
extern "C" __global__ void __launch_bounds__(RMSNORM_MAX_THREADS)
rmsnorm_forward_f32x4(float* __restrict__ out, float* __restrict__ rstd, const float* __restrict__ x,
                      const float* __restrict__ weight, int rows, int d, float eps) {
    rmsnorm_forward<4>(out, rstd, x, weight, rows, d, eps);
}

// Adds into dx and dWeight (Backend.rmsNormBackward). With s = sum_j g_j w_j x_j over the row:
//   dx_i += rstd * w_i * g_i - rstd^3 / d * x_i * s,   dWeight_i += sum_t g_ti * x_ti * rstd_t.
// Blocks walk the rows grid-stride and keep their dWeight partial in registers; at the end each
// block adds it with one float atomic per column. The host bounds the grid to about two resident
// waves of rows, so a column receives a few hundred adds per call (order may vary between runs).
template <int W>
__device__ __forceinline__ void rmsnorm_backward(float* __restrict__ dx, float* __restrict__ dWeight, const float* __restrict__ dOut,
                                                 const float* __restrict__ x, const float* __restrict__ weight,
                                                 const float* __restrict__ rstd, int rows, int d) {
    __shared__ float scratch[32];
    RmsNormThread<W> me(threadIdx.x, blockDim.x, d);
    for (int t = blockIdx.x; t < rows; t += gridDim.x) {
        const long long row = (long long) t * d;
        const float r = rstd[t];
        const float dot = block_sum(me.backward_load(dOut + row, x + row, dx + row, weight), scratch);
        me.backward_store(dx + row, weight, r, r * r * r / d * dot);
    }
#pragma unroll
    for (int k = 0; k < RmsNormThread<W>::SLOTS; k++) {
        if (!me.owns(k)) continue;
        for (int i = 0; i < W; i++) atomicAdd(dWeight + me.column(k) + i, me.dw[k][i]);
    }
}

// Any pointers and d (one float at a time).
extern "C" __global__ void __launch_bounds__(RMSNORM_MAX_THREADS)
rmsnorm_backward_f32(float* __restrict__ dx, float* __restrict__ dWeight, const float* __restrict__ dOut,
                     const float* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ rstd,
                     int rows, int d) {
    rmsnorm_backward<1>(dx, dWeight, dOut, x, weight, rstd, rows, d);
}

// dx, dOut, x and weight 16-byte aligned and d % 4 == 0 (16-byte accesses).
extern "C" __global__ void __launch_bounds__(RMSNORM_MAX_THREADS)
rmsnorm_backward_f32x4(float* __restrict__ dx, float* __restrict__ dWeight, const float* __restrict__ dOut,
                       const float* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ rstd,
                       int rows, int d) {
    rmsnorm_backward<4>(dx, dWeight, dOut, x, weight, rstd, rows, d);
}
