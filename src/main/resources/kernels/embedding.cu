// Token embedding lookup and its gradient (Backend.embeddingForward / embeddingBackward), fp32.
// One block walks whole rows (grid-stride over tokens, threads over the d columns), so reads of
// the table row and writes of the output row are coalesced.
//
// A token id outside [0, vocab) cannot raise an exception on the device: the forward writes NaN
// into that output row, so the bad input surfaces as a NaN loss (which the trainer reports)
// instead of a silent read of foreign memory, and the backward skips it.

extern "C" __global__ void embedding_forward_f32(float* __restrict__ out, const int* __restrict__ tokens,
                                                 const float* __restrict__ table, int count, int d, int vocab) {
    const float nan = __int_as_float(0x7fc00000);
    for (int t = blockIdx.x; t < count; t += gridDim.x) {
        const int id = tokens[t];
        float* dst = out + (long long) t * d;
        if (id < 0 || id >= vocab) {
            for (int j = threadIdx.x; j < d; j += blockDim.x) dst[j] = nan;
            continue;
        }
        const float* src = table + (long long) id * d;
        for (int j = threadIdx.x; j < d; j += blockDim.x) dst[j] = src[j];
    }
}

// Adds dOut[t, :] into dTable[tokens[t], :]. Repeated tokens hit the same row, so the adds are
// float atomics: the sum is exact up to rounding but its order (hence the last bit) may vary
// from run to run, a standard trade for not sorting the tokens on the device.
extern "C" __global__ void embedding_backward_f32(float* __restrict__ dTable, const int* __restrict__ tokens,
                                                  const float* __restrict__ dOut, int count, int d, int vocab) {
    for (int t = blockIdx.x; t < count; t += gridDim.x) {
        const int id = tokens[t];
        if (id < 0 || id >= vocab) continue;
        const float* src = dOut + (long long) t * d;
        float* dst = dTable + (long long) id * d;
        for (int j = threadIdx.x; j < d; j += blockDim.x) atomicAdd(dst + j, src[j]);
    }
}
