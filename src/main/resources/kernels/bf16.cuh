// bf16 rounding shared by the kernel sources (included by NVRTC from the headers the backend passes,
// by nvcc from this folder). Rounding is to nearest, ties to even, bit for bit the rule of
// dev.sparsetrain.tensor.Bf16.fromFloat (and of CUDA's __float2bfloat16_rn), written on the raw bits
// so the same function also compiles as host code, where the tests check it against the Java rule.
#pragma once

// The bf16 bits nearest to f. A NaN keeps its sign and top mantissa bits and gets the quiet bit set,
// since dropping the low 16 bits could leave a zero mantissa, i.e. an infinity.
__host__ __device__ inline unsigned short bf16_bits_round_nearest_even(float f) {
    union { float f; unsigned int u; } v;
    v.f = f;
    unsigned int bits = v.u;
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (unsigned short) ((bits >> 16) | 0x0040u);
    unsigned int lsb = (bits >> 16) & 1u;
    return (unsigned short) ((bits + 0x7FFFu + lsb) >> 16);
}
