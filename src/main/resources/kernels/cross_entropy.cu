// Fused softmax cross-entropy (Backend.crossEntropy) over fp32 logits [rows, vocab] with int
// targets [rows]: writes each row's loss (natural log) to losses[row] and replaces the row's
// logits by gradScale * (softmax - onehot(target)). The host adds the losses in double.
//
// One block per row (grid-stride over rows). Pass 1 reads the row once, each thread keeping an
// online (max, sum of exp(z - max)) pair that the block then merges; pass 2 writes the gradient.
// The sums are kept in double like the CPU backends': for a confident row the loss and the
// target's gradient softmax - 1 are small differences of that sum (the kernel is bound by memory
// traffic, so the double adds are free).
// A negative target marks an ignored row: loss 0, gradient 0. A target >= vocab cannot raise an
// exception on the device, so its row gets a NaN loss and NaN gradient, which the trainer's NaN
// check reports, instead of reading outside the row.

// The running max starts at the lowest finite float rather than -inf, so that -inf logits (and
// threads that saw no logits) add exp(-inf) = 0 instead of exp(-inf - -inf) = NaN.
constexpr float LOWEST_FLOAT = -3.402823466e38f;

struct SoftmaxStats {
    float max;
    double sum;  // sum of exp(z - max)
};

__device__ __forceinline__ SoftmaxStats merge(SoftmaxStats a, SoftmaxStats b) {
    const float m = fmaxf(a.max, b.max);
    return {m, a.sum * exp((double) a.max - m) + b.sum * exp((double) b.max - m)};
}

__device__ __forceinline__ SoftmaxStats warp_merge(SoftmaxStats s) {
    for (int o = 16; o > 0; o >>= 1) {
        SoftmaxStats other{__shfl_xor_sync(0xffffffffu, s.max, o), __shfl_xor_sync(0xffffffffu, s.sum, o)};
        s = merge(s, other);
    }
    return s;
}

// The block's merged statistics, returned to every thread; safe to call again right away.
__device__ __forceinline__ SoftmaxStats block_merge(SoftmaxStats s, SoftmaxStats* scratch) {
    s = warp_merge(s);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = s;
    __syncthreads();
    return warp_merge(lane < warps ? scratch[lane] : SoftmaxStats{LOWEST_FLOAT, 0.0});
}

extern "C" __global__ void cross_entropy_f32(float* __restrict__ logits, const int* __restrict__ targets,
                                             float* __restrict__ losses, int rows, int vocab, float gradScale) {
    __shared__ SoftmaxStats scratch[32];
    for (int t = blockIdx.x; t < rows; t += gridDim.x) {
        float* z = logits + (long long) t * vocab;
        const int target = targets[t];
        if (target < 0 || target >= vocab) {
            const float value = target < 0 ? 0.0f : __int_as_float(0x7fc00000);
            for (int j = threadIdx.x; j < vocab; j += blockDim.x) z[j] = value;
            if (threadIdx.x == 0) losses[t] = value;
            continue;
        }
        // Read before any thread rewrites the row: block_merge's barriers separate this from pass 2.
        const float targetLogit = z[target];
        SoftmaxStats s{LOWEST_FLOAT, 0.0};
        for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
            const float v = z[j];
            if (v > s.max) {
                s.sum = s.sum * expf(s.max - v) + 1.0;
                s.max = v;
            } else {
                s.sum += expf(v - s.max);
            }
        }
        s = block_merge(s, scratch);
        const double lse = (double) s.max + log(s.sum);
        if (threadIdx.x == 0) losses[t] = (float) (lse - targetLogit);
        const float factor = (float) (gradScale / s.sum);
        for (int j = threadIdx.x; j < vocab; j += blockDim.x) {
            // softmax - 1 at the target can cancel, so that entry is computed in double.
            z[j] = j == target ? (float) (gradScale * (exp((double) targetLogit - lse) - 1.0))
                               : expf(z[j] - s.max) * factor;
        }
    }
}
