// One AdamW step (PyTorch semantics) over fp32 parameters, gradients and moments, as specified by
// Backend.adamw. The bias corrections 1 - beta^step are computed by the host in double and passed
// in; the per-element update is evaluated in double like the reference, which costs nothing in a
// kernel bound by memory traffic (28 bytes moved per element) and keeps m, v and the parameter
// within one float rounding of the CPU backend. The double divisions by the bias corrections are
// folded into one step size and one reciprocal per thread (a few double ulps, far below a float's).
//
// Four elements per thread step (16-byte accesses) when all four arrays are 16-byte aligned, then
// the n % 4 tail one by one; parameter tensors are views into one flat buffer and may start at any
// float, and then the whole loop goes one by one. The thread bodies are __host__ __device__ so the
// tests can run every thread of a grid on the CPU.

struct AdamwConstants {
    double beta1, beta2, oneMinusBeta1, oneMinusBeta2, decay, stepSize, inverseBiasCorrection2, eps, gradScale;
};

__host__ __device__ inline AdamwConstants adamw_constants(float lr, float beta1, float beta2, float eps, float weightDecay,
                                                          float biasCorrection1, float biasCorrection2, float gradScale) {
    AdamwConstants c;
    c.beta1 = beta1;
    c.beta2 = beta2;
    // The reference forms 1 - beta in float before widening; do the same so both round alike.
    c.oneMinusBeta1 = (double) (1.0f - beta1);
    c.oneMinusBeta2 = (double) (1.0f - beta2);
    c.decay = 1.0 - (double) lr * weightDecay;
    c.stepSize = (double) lr / biasCorrection1;
    c.inverseBiasCorrection2 = 1.0 / (double) biasCorrection2;
    c.eps = eps;
    c.gradScale = gradScale;
    return c;
}

// Updates *p, *m, *v in place from gradient g.
__host__ __device__ __forceinline__ void adamw_element(float& p, float g, float& m, float& v, const AdamwConstants& c) {
    const double gs = (double) g * c.gradScale;
    const double mi = c.beta1 * (double) m + c.oneMinusBeta1 * gs;
    const double vi = c.beta2 * (double) v + c.oneMinusBeta2 * gs * gs;
    m = (float) mi;
    v = (float) vi;
    p = (float) (p * c.decay - c.stepSize * mi / (sqrt(vi * c.inverseBiasCorrection2) + c.eps));
}

__host__ __device__ __forceinline__ void adamw_thread(float* __restrict__ param, const float* __restrict__ grad, float* __restrict__ m,
                                                      float* __restrict__ v, long long n, const AdamwConstants& c,
                                                      long long first, long long stride) {
    long long tail = 0;
    if ((((unsigned long long) param | (unsigned long long) grad | (unsigned long long) m | (unsigned long long) v) & 15) == 0) {
        const long long quads = n / 4;
        float4* p4 = reinterpret_cast<float4*>(param);
        const float4* g4 = reinterpret_cast<const float4*>(grad);
        float4* m4 = reinterpret_cast<float4*>(m);
        float4* v4 = reinterpret_cast<float4*>(v);
        for (long long q = first; q < quads; q += stride) {
            float4 pq = p4[q], mq = m4[q], vq = v4[q];
            const float4 gq = g4[q];
            adamw_element(pq.x, gq.x, mq.x, vq.x, c);
            adamw_element(pq.y, gq.y, mq.y, vq.y, c);
            adamw_element(pq.z, gq.z, mq.z, vq.z, c);
            adamw_element(pq.w, gq.w, mq.w, vq.w, c);
            p4[q] = pq;
            m4[q] = mq;
            v4[q] = vq;
        }
        tail = quads * 4;
    }
    for (long long i = tail + first; i < n; i += stride) adamw_element(param[i], grad[i], m[i], v[i], c);
}

// The launch shape (CudaKernels mirrors both numbers): blocks of ADAMW_THREADS, of which the
// registers must let ADAMW_BLOCKS_PER_SM reside on a streaming multiprocessor at once, so the host
// launches one resident wave that walks the tensor grid-stride (equal work, no partial last wave).
constexpr int ADAMW_THREADS = 256;
constexpr int ADAMW_BLOCKS_PER_SM = 3;

extern "C" __global__ void __launch_bounds__(ADAMW_THREADS, ADAMW_BLOCKS_PER_SM) adamw_f32(float* __restrict__ param, const float* __restrict__ grad,
                                     float* __restrict__ m, float* __restrict__ v, long long n,
                                     float lr, float beta1, float beta2, float eps, float weightDecay,
                                     float biasCorrection1, float biasCorrection2, float gradScale) {
    const AdamwConstants c = adamw_constants(lr, beta1, beta2, eps, weightDecay, biasCorrection1, biasCorrection2, gradScale);
    adamw_thread(param, grad, m, v, n, c, (long long) blockIdx.x * blockDim.x + threadIdx.x, (long long) gridDim.x * blockDim.x);
}
