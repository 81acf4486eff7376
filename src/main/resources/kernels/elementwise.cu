// Elementwise fp32 kernels of the CUDA backend: fill, scale, add and the FFN activations.
// Semantics are those of dev.sparsetrain.tensor.Backend. Every kernel is a grid-stride loop
// with a 64-bit index, so one launch covers tensors beyond 2^31 elements with a bounded grid.

__device__ __forceinline__ long long first_index() {
    return (long long) blockIdx.x * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ long long grid_stride() {
    return (long long) gridDim.x * blockDim.x;
}

extern "C" __global__ void fill_f32(float* __restrict__ x, long long n, float value) {
    for (long long i = first_index(); i < n; i += grid_stride()) x[i] = value;
}

extern "C" __global__ void scale_f32(float* __restrict__ x, long long n, float s) {
    for (long long i = first_index(); i < n; i += grid_stride()) x[i] *= s;
}

// out may alias a or b (Backend.add allows it), so none of the three is __restrict__.
extern "C" __global__ void add_f32(float* out, const float* a, const float* b, long long n) {
    for (long long i = first_index(); i < n; i += grid_stride()) out[i] = a[i] + b[i];
}

// The FFN activation kernels move 8 or 12 bytes per element and nothing else: they go four
// elements per thread step (16-byte loads and stores) when every pointer is 16-byte aligned, then
// the n % 4 tail one by one; a view that starts at any other float goes one by one throughout.
// The thread bodies are __host__ __device__ so the tests can run every thread of a grid on the CPU.

__host__ __device__ __forceinline__ bool aligned16(const void* p) { return (unsigned long long) p % 16 == 0; }

__host__ __device__ __forceinline__ float relu2(float z) {
    const float r = fmaxf(z, 0.0f);
    return r * r;
}

// dz = da * 2 * relu(z), in the reference's order of operations
__host__ __device__ __forceinline__ float relu2_gradient(float da, float z) { return da * 2.0f * fmaxf(z, 0.0f); }

// a = relu(z)^2 for the elements first, first + stride, ... (in quads where aligned, see above).
__host__ __device__ __forceinline__ void relu2_forward_thread(float* __restrict__ a, const float* __restrict__ z, long long n,
                                                               long long first, long long stride) {
    long long tail = 0;
    if (aligned16(a) && aligned16(z)) {
        const long long quads = n / 4;
        for (long long q = first; q < quads; q += stride) {
            const float4 v = reinterpret_cast<const float4*>(z)[q];
            reinterpret_cast<float4*>(a)[q] = make_float4(relu2(v.x), relu2(v.y), relu2(v.z), relu2(v.w));
        }
        tail = quads * 4;
    }
    for (long long i = tail + first; i < n; i += stride) a[i] = relu2(z[i]);
}

// dz = da * 2 * relu(z), laid out over the threads as relu2_forward_thread.
__host__ __device__ __forceinline__ void relu2_backward_thread(float* __restrict__ dz, const float* __restrict__ da,
                                                                const float* __restrict__ z, long long n, long long first, long long stride) {
    long long tail = 0;
    if (aligned16(dz) && aligned16(da) && aligned16(z)) {
        const long long quads = n / 4;
        for (long long q = first; q < quads; q += stride) {
            const float4 g = reinterpret_cast<const float4*>(da)[q], v = reinterpret_cast<const float4*>(z)[q];
            reinterpret_cast<float4*>(dz)[q] = make_float4(relu2_gradient(g.x, v.x), relu2_gradient(g.y, v.y),
                                                           relu2_gradient(g.z, v.z), relu2_gradient(g.w, v.w));
        }
        tail = quads * 4;
    }
    for (long long i = tail + first; i < n; i += stride) dz[i] = relu2_gradient(da[i], z[i]);
}

// The activation kernels' launch shape (CudaKernels mirrors both numbers): blocks of
// ACTIVATION_THREADS, of which the registers must let ACTIVATION_BLOCKS_PER_SM reside on a streaming
// multiprocessor at once, so the host launches exactly one resident wave that walks the tensor
// grid-stride: every thread has equal work and no partial last wave idles the GPU.
constexpr int ACTIVATION_THREADS = 256;
constexpr int ACTIVATION_BLOCKS_PER_SM = 6;

extern "C" __global__ void __launch_bounds__(ACTIVATION_THREADS, ACTIVATION_BLOCKS_PER_SM) relu2_forward_f32(float* __restrict__ a, const float* __restrict__ z, long long n) {
    relu2_forward_thread(a, z, n, first_index(), grid_stride());
}

extern "C" __global__ void __launch_bounds__(ACTIVATION_THREADS, ACTIVATION_BLOCKS_PER_SM) relu2_backward_f32(float* __restrict__ dz, const float* __restrict__ da,
                                              const float* __restrict__ z, long long n) {
    relu2_backward_thread(dz, da, z, n, first_index(), grid_stride());
}

// h = silu(gate) * up with silu(x) = x * sigmoid(x). For very negative x, expf(-x) overflows to
// infinity and x / inf gives the correct limit -0.
extern "C" __global__ void swiglu_forward_f32(float* __restrict__ h, const float* __restrict__ gate,
                                              const float* __restrict__ up, long long n) {
    for (long long i = first_index(); i < n; i += grid_stride()) {
        float x = gate[i];
        h[i] = x / (1.0f + expf(-x)) * up[i];
    }
}

// dUp = dh * silu(gate); dGate = dh * up * sigmoid(gate) * (1 + gate * (1 - sigmoid(gate))).
extern "C" __global__ void swiglu_backward_f32(float* __restrict__ dGate, float* __restrict__ dUp,
                                               const float* __restrict__ dh, const float* __restrict__ gate,
                                               const float* __restrict__ up, long long n) {
    for (long long i = first_index(); i < n; i += grid_stride()) {
        float x = gate[i], d = dh[i];
        float sig = 1.0f / (1.0f + expf(-x));
        dUp[i] = d * x * sig;
        dGate[i] = d * up[i] * sig * (1.0f + x * (1.0f - sig));
    }
}
