// One AdamW step (PyTorch semantics) over fp32 parameters, gradients and moments, as specified by
// Backend.adamw. The bias corrections 1 - beta^step are computed by the host in double and passed
// in; the per-element update is evaluated in double like the reference, which costs nothing in a
// kernel bound by memory traffic (7 floats moved per element) and keeps m, v and the parameter
// within one float rounding of the CPU backend.

extern "C" __global__ void adamw_f32(float* __restrict__ param, const float* __restrict__ grad,
                                     float* __restrict__ m, float* __restrict__ v, long long n,
                                     float lr, float beta1, float beta2, float eps, float weightDecay,
                                     float biasCorrection1, float biasCorrection2, float gradScale) {
    // The reference forms 1 - beta in float before widening; do the same so both round alike.
    const double oneMinusBeta1 = (double) (1.0f - beta1), oneMinusBeta2 = (double) (1.0f - beta2);
    const double decay = 1.0 - (double) lr * weightDecay;
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        double g = (double) grad[i] * gradScale;
        double mi = beta1 * (double) m[i] + oneMinusBeta1 * g;
        double vi = beta2 * (double) v[i] + oneMinusBeta2 * g * g;
        m[i] = (float) mi;
        v[i] = (float) vi;
        double p = param[i] * decay;
        param[i] = (float) (p - lr * (mi / biasCorrection1) / (sqrt(vi / biasCorrection2) + eps));
    }
}
