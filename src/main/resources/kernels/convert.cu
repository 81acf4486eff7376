// fp32 -> bfloat16 conversion of GEMM operands (the CUDA backend's bf16 GEMM precision).
// Rounding is to nearest, ties to even, bit for bit the rule of dev.sparsetrain.tensor.Bf16.fromFloat
// (and of CUDA's __float2bfloat16_rn), written on the raw bits so the same function also compiles
// as host code, where the tests check it against the Java rule.

constexpr int CONVERT_THREADS = 256;

#include "bf16.cuh"

// out[i] = bf16(in[i]) for i < n. Four elements per thread step (one 16-byte load, one 8-byte store)
// when the pointers allow it; operands that are views into a larger buffer may start at any float,
// and then the loop goes element by element. Grid-stride with 64-bit indices: any n, bounded grid.
extern "C" __global__ void __launch_bounds__(CONVERT_THREADS)
convert_f32_to_bf16(unsigned short* __restrict__ out, const float* __restrict__ in, long long n) {
    long long first = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    bool vectorised = ((unsigned long long) in % 16 == 0) && ((unsigned long long) out % 8 == 0);
    long long tail = 0;
    if (vectorised) {
        long long quads = n / 4;
        const float4* in4 = reinterpret_cast<const float4*>(in);
        uint2* out4 = reinterpret_cast<uint2*>(out);
        for (long long q = first; q < quads; q += stride) {
            float4 x = in4[q];
            uint2 packed;
            packed.x = (unsigned int) bf16_bits_round_nearest_even(x.x) | ((unsigned int) bf16_bits_round_nearest_even(x.y) << 16);
            packed.y = (unsigned int) bf16_bits_round_nearest_even(x.z) | ((unsigned int) bf16_bits_round_nearest_even(x.w) << 16);
            out4[q] = packed;
        }
        tail = quads * 4;
    }
    for (long long i = tail + first; i < n; i += stride) out[i] = bf16_bits_round_nearest_even(in[i]);
}

// out[i] = float(in[i]) for i < n: exact (bf16 is the top half of an fp32). For reading bf16
// results back, e.g. the sparse FFN's dense effective weights and activations.
extern "C" __global__ void __launch_bounds__(CONVERT_THREADS)
convert_bf16_to_f32(float* __restrict__ out, const unsigned short* __restrict__ in, long long n) {
    long long first = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    long long stride = (long long) gridDim.x * blockDim.x;
    for (long long i = first; i < n; i += stride) out[i] = __uint_as_float((unsigned int) in[i] << 16);
}
