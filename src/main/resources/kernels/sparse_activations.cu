// The sparse FFN's activation step (SPEC §3.3) after GEMM 1, and its backward after GEMM 3, on routed
// rows grouped by expert. Host side: dev.sparsetrain.cuda.SparseFfnKernels.
//
// Routed rows [rowOffsets[e], rowOffsets[e+1]) belong to expert e (offsets are multiples of 64, an
// expert may own none); each row holds that expert's f neurons. The GEMM outputs z and dA are bf16,
// either row-major [P, f] over all routed rows, or expert-major: expert e's block row-major [f, P_e]
// at element offset rowOffsets[e]*f. Expert e's packed buffer (m = P_e, k = f, cuSPARSELt sm_90 2:4
// layout) starts rowOffsets[e]*f*9/8 bytes into the packed allocation.
//
// Tiles and the thread map are those of sparse_weights.cu: a block of 128 threads handles 64 routed
// rows x 32 neurons, one metadata block, inside one expert; expert-major sources are staged through
// shared memory so that they are read along their rows. The selection and index logic is
// __host__ __device__ so that the tests run every thread's work on the host against the Java oracles
// (ActivationTopK, CusparseLtLayout).

// ---- shared by sparse_weights.cu and sparse_activations.cu: identical copies, kept so by a test ----

constexpr int SPARSE_TILE_THREADS = 128;
constexpr int SPARSE_TILE_ROWS = 64;
constexpr int SPARSE_TILE_COLS = 32;
// Row stride of a staged (transposed) tile: 4*66 = 8 (mod 32) banks puts the 32 lanes' reads of one
// group element on 32 different banks, and 66 being even keeps float2 staging stores aligned.
constexpr int SPARSE_STAGE_STRIDE = 66;

static_assert(SPARSE_TILE_THREADS == 128 && SPARSE_TILE_ROWS == 64 && SPARSE_TILE_COLS == 32,
              "the thread-to-nibble map below covers a 64x32 tile with 128 threads");

// Copy of convert.cu's rounding (a test keeps them identical): the bf16 bits nearest to f. A NaN keeps
// its sign and top mantissa bits and gets the quiet bit set, since dropping the low 16 bits could leave
// a zero mantissa, i.e. an infinity.
__host__ __device__ inline unsigned short bf16_bits_round_nearest_even(float f) {
    union { float f; unsigned int u; } v;
    v.f = f;
    unsigned int bits = v.u;
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (unsigned short) ((bits >> 16) | 0x0040u);
    unsigned int lsb = (bits >> 16) & 1u;
    return (unsigned short) ((bits + 0x7FFFu + lsb) >> 16);
}

__host__ __device__ inline unsigned int sparse_float_bits(float f) {
    union { float f; unsigned int u; } v;
    v.f = f;
    return v.u;
}

__host__ __device__ inline float sparse_bits_float(unsigned int u) {
    union { unsigned int u; float f; } v;
    v.u = u;
    return v.f;
}

__host__ __device__ inline float sparse_bf16_to_float(unsigned int bits) { return sparse_bits_float(bits << 16); }

// The keep mask of GroupTopTwo.keepMask: keys are the raw bits of non-negative floats (integer order =
// numeric order, NaN above infinity); an element is kept when fewer than two others beat it, and
// element j beats element i < j on equal keys (ties to the higher index). Exactly two bits are set.
__host__ __device__ inline int sparse_keep_mask(unsigned int k0, unsigned int k1, unsigned int k2, unsigned int k3) {
    int r0 = 0, r1 = 0, r2 = 0, r3 = 0;
    if (k1 >= k0) r0++; else r1++;
    if (k2 >= k0) r0++; else r2++;
    if (k3 >= k0) r0++; else r3++;
    if (k2 >= k1) r1++; else r2++;
    if (k3 >= k1) r1++; else r3++;
    if (k3 >= k2) r2++; else r3++;
    return (r0 < 2 ? 1 : 0) | (r1 < 2 ? 2 : 0) | (r2 < 2 ? 4 : 0) | (r3 < 2 ? 8 : 0);
}

// The metadata nibble i0 | i1 << 2 (i0 < i1) of a keep mask with exactly two bits.
__host__ __device__ inline unsigned int sparse_nibble_of_mask(int mask) {
    unsigned int i0 = (mask & 1) ? 0u : (mask & 2) ? 1u : 2u;
    unsigned int i1 = (mask & 8) ? 3u : (mask & 4) ? 2u : 1u;
    return i0 | (i1 << 2);
}

// CusparseLtLayout.metadataByteOffset: the byte, inside the metadata part of an m x k packed buffer,
// that holds the nibble of (row, group); low half when row % 16 < 8, else high half.
__host__ __device__ inline long long sparse_metadata_byte_offset(long long row, long long group, long long k) {
    return (row / 64) * (64 * k / 8) + (group / 8) * 256 + ((row % 64) / 16) * 64 + (row % 8) * 8
            + (group % 4) * 2 + (group % 8) / 4;
}

// Where a 64x32 tile of a packed matrix lives: row0/col0 in the full matrix, localRow0 inside the
// packed buffer (of m rows and k columns) that starts packedOffset bytes into the packed allocation.
struct SparsePackedTile {
    long long row0;
    int col0;
    long long packedOffset;
    long long localRow0;
    long long m;
    int k;
};

// The tile's values: element (localRow0, col0/2) of the buffer's m x k/2 values.
__host__ __device__ inline unsigned short* sparse_tile_values(unsigned char* packed, const SparsePackedTile& t) {
    return reinterpret_cast<unsigned short*>(packed + t.packedOffset) + t.localRow0 * (t.k / 2) + t.col0 / 2;
}

// The tile's 256 metadata bytes (a 64x32 block is contiguous in the layout).
__host__ __device__ inline unsigned char* sparse_tile_metadata(unsigned char* packed, const SparsePackedTile& t) {
    return packed + t.packedOffset + t.m * t.k + sparse_metadata_byte_offset(t.localRow0, t.col0 / 4, t.k);
}

__host__ __device__ inline void sparse_load_pair(const float* p, float& x, float& y) {
    float2 v = *reinterpret_cast<const float2*>(p);
    x = v.x;
    y = v.y;
}

__host__ __device__ inline void sparse_load_pair(const unsigned short* p, float& x, float& y) {
    unsigned int v = *reinterpret_cast<const unsigned int*>(p);
    x = sparse_bf16_to_float(v & 0xFFFFu);
    y = sparse_bf16_to_float(v >> 16);
}

__host__ __device__ inline void sparse_load_quad(const float* p, float v[4]) {
    float4 x = *reinterpret_cast<const float4*>(p);
    v[0] = x.x;
    v[1] = x.y;
    v[2] = x.z;
    v[3] = x.w;
}

__host__ __device__ inline void sparse_load_quad(const unsigned short* p, float v[4]) {
    uint2 x = *reinterpret_cast<const uint2*>(p);
    v[0] = sparse_bf16_to_float(x.x & 0xFFFFu);
    v[1] = sparse_bf16_to_float(x.x >> 16);
    v[2] = sparse_bf16_to_float(x.y & 0xFFFFu);
    v[3] = sparse_bf16_to_float(x.y >> 16);
}

// Thread t's share of staging a tile whose source runs along the tile's rows: source points at the
// tile's (row 0, column 0) of a [K][stride] row-major array (K = the tile's columns). Each warp copies
// whole 64-element source rows (coalesced) into staged[col * SPARSE_STAGE_STRIDE + row].
template <typename T>
__host__ __device__ inline void sparse_stage_tile(float* staged, const T* source, long long stride, int t) {
    int lane = t & 31, warp = t >> 5;
    for (int pass = 0; pass < SPARSE_TILE_COLS / 4; pass++) {
        int col = pass * 4 + warp;
        float2 v;
        sparse_load_pair(source + col * stride + 2 * lane, v.x, v.y);
        *reinterpret_cast<float2*>(staged + col * SPARSE_STAGE_STRIDE + 2 * lane) = v;
    }
}

// The four values of group g (columns 4g..4g+3 of the tile) in tile row r: from the staged tile, or
// straight from a row-major source (source = the tile's (0,0), stride = the row stride).
template <typename T>
__host__ __device__ inline void sparse_tile_group(const T* source, long long stride, const float* staged, int r, int g, float v[4]) {
    if (staged != nullptr) {
        for (int i = 0; i < 4; i++) v[i] = staged[(4 * g + i) * SPARSE_STAGE_STRIDE + r];
    } else {
        sparse_load_quad(source + r * stride + 4 * g, v);
    }
}

// The sum of x over the block's threads, in every thread; scratch holds one value per warp.
template <typename T>
__device__ inline T sparse_block_sum(T x, T* scratch) {
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xFFFFFFFFu, x, o);
    if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = x;
    __syncthreads();
    T total = 0;
    for (int i = 0; i < SPARSE_TILE_THREADS / 32; i++) total += scratch[i];
    __syncthreads();
    return total;
}

// ---- end of the shared part ----------------------------------------------------------------------

// ---- routed rows and tiles ---------------------------------------------------------------------------

// The expert owning routed row `row`: the largest e with rowOffsets[e] <= row (empty experts share
// their offset with the next one, which is the one that owns the row).
__host__ __device__ inline int sparse_expert_of_row(const int* rowOffsets, int experts, long long row) {
    int lo = 0, hi = experts - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (rowOffsets[mid] <= row) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

// One activation tile: the packed location inside its expert's buffer plus where its source is.
struct SparseActivationTile {
    SparsePackedTile packed;  // row0 is the routed row; m = the expert's rows, k = f
    long long sourceOffset;   // element offset of the tile's (0,0) in z or dA
    long long sourceStride;
};

// Tile `tile` of the routed [P, f] activations (tiles run along f first).
__host__ __device__ inline SparseActivationTile sparse_activation_tile_at(long long tile, const int* rowOffsets, int experts, int f,
                                                                         bool expertMajor) {
    long long colTiles = f / SPARSE_TILE_COLS;
    SparseActivationTile p;
    p.packed.row0 = tile / colTiles * SPARSE_TILE_ROWS;
    p.packed.col0 = (int) (tile % colTiles) * SPARSE_TILE_COLS;
    int e = sparse_expert_of_row(rowOffsets, experts, p.packed.row0);
    long long first = rowOffsets[e], rows = rowOffsets[e + 1] - first;
    p.packed.packedOffset = first * f / 8 * 9;  // first is a multiple of 64, so first*f*9/8 is exact
    p.packed.localRow0 = p.packed.row0 - first;
    p.packed.m = rows;
    p.packed.k = f;
    p.sourceOffset = expertMajor ? first * f + p.packed.col0 * rows + p.packed.localRow0 : p.packed.row0 * f + p.packed.col0;
    p.sourceStride = expertMajor ? rows : f;
    return p;
}

// ---- relu^2 -> top-2-of-4 -> pack ---------------------------------------------------------------------

// Math.max(z, 0f) as Java computes it: a NaN stays itself, -0 and negatives become +0.
__host__ __device__ inline float sparse_relu(float z) { return (z > 0.0f || z != z) ? z : 0.0f; }

// What a block adds to the ActivationStats: positive z, kept with relu != 0, sum relu^2, sum kept relu^2.
struct SparseActivationSums {
    unsigned int positive;
    unsigned int kept;
    float mass;
    float keptMass;
};

// Thread t's four groups of a tile: a = relu(z)^2, keep the two largest (ActivationTopK's rule, ranked
// on relu(z) so that distinct z never tie through a rounded square), then write the packed values
// and metadata, dense A, relu(z) of the kept pair and the pair's nibble; adds the stats into sums.
__host__ __device__ inline void sparse_relu2_top_two_thread(const SparseActivationTile& p, int t, unsigned char* packedA,
                                                            unsigned short* denseA, unsigned short* keptRelu, unsigned char* nibbles,
                                                            const unsigned short* z, const float* staged, SparseActivationSums& sums) {
    int a = t & 3, b = (t >> 2) & 7, q = t >> 5;
    unsigned short* values = sparse_tile_values(packedA, p.packed);
    long long f = p.packed.k;
    // Loads first: the outputs may alias z as far as the compiler knows.
    float in[2][2][4];
    #pragma unroll
    for (int h = 0; h < 2; h++) {
        for (int s = 0; s < 2; s++) sparse_tile_group(z + p.sourceOffset, p.sourceStride, staged, 16 * q + b + 8 * h, a + 4 * s, in[h][s]);
    }
    unsigned int meta = 0;
    #pragma unroll
    for (int h = 0; h < 2; h++) {
        int r = 16 * q + b + 8 * h;
        long long row = p.packed.row0 + r;
        #pragma unroll
        for (int s = 0; s < 2; s++) {
            int g = a + 4 * s;
            float relu[4];
            unsigned int key[4];
            for (int i = 0; i < 4; i++) {
                relu[i] = sparse_relu(in[h][s][i]);
                key[i] = sparse_float_bits(relu[i]) & 0x7FFFFFFFu;
            }
            int mask = sparse_keep_mask(key[0], key[1], key[2], key[3]);
            unsigned short act[4];
            unsigned int keptValues = 0, keptRelus = 0, slot = 0;
            for (int i = 0; i < 4; i++) {
                float square = relu[i] * relu[i];
                sums.positive += in[h][s][i] > 0.0f ? 1u : 0u;
                sums.mass += square;
                act[i] = 0;
                if (mask & (1 << i)) {
                    act[i] = bf16_bits_round_nearest_even(square);
                    sums.kept += relu[i] != 0.0f ? 1u : 0u;
                    sums.keptMass += square;
                    keptValues |= (unsigned int) act[i] << (16 * slot);
                    keptRelus |= (unsigned int) bf16_bits_round_nearest_even(relu[i]) << (16 * slot);
                    slot++;
                }
            }
            unsigned int nibble = sparse_nibble_of_mask(mask);
            *reinterpret_cast<unsigned int*>(values + r * (f / 2) + 2 * g) = keptValues;
            uint2 quad;
            quad.x = act[0] | ((unsigned int) act[1] << 16);
            quad.y = act[2] | ((unsigned int) act[3] << 16);
            *reinterpret_cast<uint2*>(denseA + row * f + p.packed.col0 + 4 * g) = quad;
            *reinterpret_cast<unsigned int*>(keptRelu + row * (f / 2) + p.packed.col0 / 2 + 2 * g) = keptRelus;
            nibbles[row * (f / 4) + p.packed.col0 / 4 + g] = (unsigned char) nibble;
            meta |= nibble << (4 * h + 8 * s);
        }
    }
    *reinterpret_cast<unsigned short*>(sparse_tile_metadata(packedA, p.packed) + q * 64 + b * 8 + a * 2) = (unsigned short) meta;
}

// Grid-stride over the tiles; block b writes partials[4b .. 4b+3] = its positive and kept counts
// (uint32 bit patterns) and its two masses (floats), so the host adds gridDim.x quadruples.
template <bool ExpertMajor>
__device__ inline void sparse_relu2_top_two(unsigned char* packedA, unsigned short* denseA, unsigned short* keptRelu,
                                            unsigned char* nibbles, float* partials, const unsigned short* z,
                                            const int* rowOffsets, int experts, int rowsTotal, int f) {
    __shared__ __align__(16) float staged[ExpertMajor ? SPARSE_TILE_COLS * SPARSE_STAGE_STRIDE : 1];
    __shared__ float floatScratch[SPARSE_TILE_THREADS / 32];
    __shared__ unsigned int countScratch[SPARSE_TILE_THREADS / 32];
    long long tiles = (long long) (rowsTotal / SPARSE_TILE_ROWS) * (f / SPARSE_TILE_COLS);
    SparseActivationSums sums = {0u, 0u, 0.0f, 0.0f};
    for (long long tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        SparseActivationTile p = sparse_activation_tile_at(tile, rowOffsets, experts, f, ExpertMajor);
        if (ExpertMajor) {
            sparse_stage_tile(staged, z + p.sourceOffset, p.sourceStride, threadIdx.x);
            __syncthreads();
        }
        sparse_relu2_top_two_thread(p, threadIdx.x, packedA, denseA, keptRelu, nibbles, z, ExpertMajor ? staged : nullptr, sums);
        if (ExpertMajor) __syncthreads();
    }
    unsigned int positive = sparse_block_sum(sums.positive, countScratch), kept = sparse_block_sum(sums.kept, countScratch);
    float mass = sparse_block_sum(sums.mass, floatScratch), keptMass = sparse_block_sum(sums.keptMass, floatScratch);
    if (threadIdx.x == 0) {
        partials[4 * blockIdx.x] = sparse_bits_float(positive);
        partials[4 * blockIdx.x + 1] = sparse_bits_float(kept);
        partials[4 * blockIdx.x + 2] = mass;
        partials[4 * blockIdx.x + 3] = keptMass;
    }
}

// z row-major [P, f].
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS)
sparse_relu2_top_two_rows(unsigned char* packedA, unsigned short* denseA, unsigned short* keptRelu, unsigned char* nibbles,
                          float* partials, const unsigned short* z, const int* rowOffsets, int experts, int rowsTotal, int f) {
    sparse_relu2_top_two<false>(packedA, denseA, keptRelu, nibbles, partials, z, rowOffsets, experts, rowsTotal, f);
}

// z expert-major: expert e's block row-major [f, P_e].
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS)
sparse_relu2_top_two_expert_major(unsigned char* packedA, unsigned short* denseA, unsigned short* keptRelu, unsigned char* nibbles,
                                  float* partials, const unsigned short* z, const int* rowOffsets, int experts, int rowsTotal, int f) {
    sparse_relu2_top_two<true>(packedA, denseA, keptRelu, nibbles, partials, z, rowOffsets, experts, rowsTotal, f);
}

// ---- activation gradient --------------------------------------------------------------------------------

// v[i] for an index known only at run time, by selects, so that v stays in registers.
__host__ __device__ inline float sparse_pick(const float v[4], unsigned int i) { return i == 0 ? v[0] : i == 1 ? v[1] : i == 2 ? v[2] : v[3]; }

// Thread t's four groups of a tile: on A's pattern (the stored nibbles), dZ = dA * 2 relu(z) with
// relu(z) from keptRelu, written packed (same metadata as A) and dense (zeros off the pattern). The
// product of two bf16 values and 2 is exact in float, so dZ is rounded once, to bf16.
__host__ __device__ inline void sparse_activation_gradient_thread(const SparseActivationTile& p, int t, unsigned char* packedDz,
                                                                  unsigned short* denseDz, const unsigned short* dA, const float* staged,
                                                                  const unsigned short* keptRelu, const unsigned char* nibbles) {
    int a = t & 3, b = (t >> 2) & 7, q = t >> 5;
    unsigned short* values = sparse_tile_values(packedDz, p.packed);
    long long f = p.packed.k;
    float in[2][2][4];
    unsigned int relus[2][2], pairs[2][2];
    #pragma unroll
    for (int h = 0; h < 2; h++) {
        long long row = p.packed.row0 + 16 * q + b + 8 * h;
        #pragma unroll
        for (int s = 0; s < 2; s++) {
            int g = a + 4 * s;
            sparse_tile_group(dA + p.sourceOffset, p.sourceStride, staged, 16 * q + b + 8 * h, g, in[h][s]);
            relus[h][s] = *reinterpret_cast<const unsigned int*>(keptRelu + row * (f / 2) + p.packed.col0 / 2 + 2 * g);
            pairs[h][s] = nibbles[row * (f / 4) + p.packed.col0 / 4 + g] & 0xFu;
        }
    }
    unsigned int meta = 0;
    #pragma unroll
    for (int h = 0; h < 2; h++) {
        int r = 16 * q + b + 8 * h;
        long long row = p.packed.row0 + r;
        #pragma unroll
        for (int s = 0; s < 2; s++) {
            int g = a + 4 * s;
            unsigned int nibble = pairs[h][s], i0 = nibble & 3u, i1 = nibble >> 2;
            unsigned short dz0 = bf16_bits_round_nearest_even(sparse_pick(in[h][s], i0) * 2.0f * sparse_bf16_to_float(relus[h][s] & 0xFFFFu));
            unsigned short dz1 = bf16_bits_round_nearest_even(sparse_pick(in[h][s], i1) * 2.0f * sparse_bf16_to_float(relus[h][s] >> 16));
            *reinterpret_cast<unsigned int*>(values + r * (f / 2) + 2 * g) = dz0 | ((unsigned int) dz1 << 16);
            unsigned short dense[4];
            for (unsigned int i = 0; i < 4; i++) dense[i] = i == i0 ? dz0 : i == i1 ? dz1 : (unsigned short) 0;
            uint2 quad;
            quad.x = dense[0] | ((unsigned int) dense[1] << 16);
            quad.y = dense[2] | ((unsigned int) dense[3] << 16);
            *reinterpret_cast<uint2*>(denseDz + row * f + p.packed.col0 + 4 * g) = quad;
            meta |= nibble << (4 * h + 8 * s);
        }
    }
    *reinterpret_cast<unsigned short*>(sparse_tile_metadata(packedDz, p.packed) + q * 64 + b * 8 + a * 2) = (unsigned short) meta;
}

template <bool ExpertMajor>
__device__ inline void sparse_activation_gradient(unsigned char* packedDz, unsigned short* denseDz, const unsigned short* dA,
                                                  const unsigned short* keptRelu, const unsigned char* nibbles,
                                                  const int* rowOffsets, int experts, int rowsTotal, int f) {
    __shared__ __align__(16) float staged[ExpertMajor ? SPARSE_TILE_COLS * SPARSE_STAGE_STRIDE : 1];
    long long tiles = (long long) (rowsTotal / SPARSE_TILE_ROWS) * (f / SPARSE_TILE_COLS);
    for (long long tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        SparseActivationTile p = sparse_activation_tile_at(tile, rowOffsets, experts, f, ExpertMajor);
        if (ExpertMajor) {
            sparse_stage_tile(staged, dA + p.sourceOffset, p.sourceStride, threadIdx.x);
            __syncthreads();
        }
        sparse_activation_gradient_thread(p, threadIdx.x, packedDz, denseDz, dA, ExpertMajor ? staged : nullptr, keptRelu, nibbles);
        if (ExpertMajor) __syncthreads();
    }
}

// dA row-major [P, f].
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS)
sparse_activation_gradient_rows(unsigned char* packedDz, unsigned short* denseDz, const unsigned short* dA, const unsigned short* keptRelu,
                                const unsigned char* nibbles, const int* rowOffsets, int experts, int rowsTotal, int f) {
    sparse_activation_gradient<false>(packedDz, denseDz, dA, keptRelu, nibbles, rowOffsets, experts, rowsTotal, f);
}

// dA expert-major: expert e's block row-major [f, P_e].
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS)
sparse_activation_gradient_expert_major(unsigned char* packedDz, unsigned short* denseDz, const unsigned short* dA,
                                        const unsigned short* keptRelu, const unsigned char* nibbles, const int* rowOffsets,
                                        int experts, int rowsTotal, int f) {
    sparse_activation_gradient<true>(packedDz, denseDz, dA, keptRelu, nibbles, rowOffsets, experts, rowsTotal, f);
}
