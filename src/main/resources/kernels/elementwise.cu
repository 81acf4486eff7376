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

// a = relu(z)^2
extern "C" __global__ void relu2_forward_f32(float* __restrict__ a, const float* __restrict__ z, long long n) {
    for (long long i = first_index(); i < n; i += grid_stride()) {
        float r = fmaxf(z[i], 0.0f);
        a[i] = r * r;
    }
}

// dz = da * 2 * relu(z), in the reference's order of operations
extern "C" __global__ void relu2_backward_f32(float* __restrict__ dz, const float* __restrict__ da,
                                              const float* __restrict__ z, long long n) {
    for (long long i = first_index(); i < n; i += grid_stride()) dz[i] = da[i] * 2.0f * fmaxf(z[i], 0.0f);
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
