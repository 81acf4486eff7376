// Rotary position embedding in place (Backend.ropeForward / ropeBackward), Hugging Face Llama
// "rotate half" convention: within each head of x [rows, nHeads * headDim], element j < headDim/2
// pairs with j + headDim/2 at angle pos * theta^(-2j/headDim), pos = row % seqLen, and
// (a, b) -> (a cos - b sin, b cos + a sin). direction = -1 rotates by -angle (the backward).
//
// The angles are formed and their cos/sin evaluated in double, exactly as the CPU backends do,
// so the rotation differs from theirs only by float rounding even at positions of 10^5 and more
// (a float angle would be off by ~0.01 rad there). Each block computes the half frequencies once,
// then per row the half cos/sin pairs once, shared by all heads of the row.
//
// Dynamic shared memory: headDim * 8 bytes (half doubles, then half floats of cos and of sin).
extern "C" __global__ void rope_f32(float* __restrict__ x, int rows, int seqLen, int nHeads, int headDim,
                                    float theta, float direction) {
    extern __shared__ double ropeShared[];
    const int half = headDim / 2;
    double* frequency = ropeShared;
    float* cosines = reinterpret_cast<float*>(frequency + half);
    float* sines = cosines + half;
    for (int j = threadIdx.x; j < half; j += blockDim.x) frequency[j] = pow((double) theta, -2.0 * j / headDim);
    const long long width = (long long) nHeads * headDim;
    const int pairs = nHeads * half;
    for (int t = blockIdx.x; t < rows; t += gridDim.x) {
        const double pos = t % seqLen;
        __syncthreads();  // frequencies written; the previous row's readers of the table are done
        for (int j = threadIdx.x; j < half; j += blockDim.x) {
            double s, c;
            sincos(pos * frequency[j], &s, &c);
            cosines[j] = (float) c;
            sines[j] = direction * (float) s;
        }
        __syncthreads();
        float* row = x + t * width;
        for (int p = threadIdx.x; p < pairs; p += blockDim.x) {
            const int j = p % half;
            float* a = row + (p / half) * headDim + j;
            const float u = a[0], w = a[half], c = cosines[j], s = sines[j];
            a[0] = u * c - w * s;
            a[half] = w * c + u * s;
        }
    }
}
