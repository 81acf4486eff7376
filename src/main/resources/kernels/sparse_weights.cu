// S-STE weight pruning (SPEC §3.1) into cuSPARSELt's sm_90 packed 2:4 layout (SPEC §4), and the
// unpacking of such a buffer for tests. Host side: dev.sparsetrain.cuda.SparseFfnKernels.
//
// The effective matrix E [rows, cols] has its groups of 4 along cols. One block of 128 threads
// handles a tile of 64 rows x 32 columns, which is exactly one 256-byte metadata block of the packed
// layout: thread t owns rows 16q+b and 16q+b+8 (q = t/32, b = (t/4)%8) and groups a and a+4
// (a = t%4) of the tile, i.e. the four nibbles of the two adjacent metadata bytes at
// q*64 + b*8 + a*2, which it writes whole with one 16-bit store (a byte pairs rows r and r+8, so no
// byte is shared between threads and nothing is read-modified-written).
//
// The selection and index logic is written as __host__ __device__ functions so that the tests compile
// this file into a host program that runs every thread's work and compares the buffers byte for byte
// with the Java oracles (SoftThreshold, CusparseLtLayout). sparse_activations.cu carries identical
// copies of the shared helpers (NVRTC compiles each file alone); a test keeps the copies equal.

constexpr int SPARSE_UNPACK_THREADS = 256;

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

// ---- S-STE prune and pack ---------------------------------------------------------------------------

// One weight tile: the packed location plus where its source and dense output are.
struct SparsePruneTile {
    SparsePackedTile packed;
    long long sourceOffset;  // element offset of the tile's (0,0) in W
    long long sourceStride;  // W's row stride
};

// Tile `tile` of E [rows, cols] (tiles run along cols first): E's row blocks of blockRows rows are
// independent packed buffers blockStrideBytes apart. W is [rows, cols], or [cols, rows] when transposed.
__host__ __device__ inline SparsePruneTile sparse_prune_tile_at(long long tile, long long blockStrideBytes, int blockRows,
                                                               bool transposed, int rows, int cols) {
    long long colTiles = cols / SPARSE_TILE_COLS;
    SparsePruneTile p;
    p.packed.row0 = tile / colTiles * SPARSE_TILE_ROWS;
    p.packed.col0 = (int) (tile % colTiles) * SPARSE_TILE_COLS;
    long long block = p.packed.row0 / blockRows;
    p.packed.packedOffset = block * blockStrideBytes;
    p.packed.localRow0 = p.packed.row0 - block * blockRows;
    p.packed.m = blockRows;
    p.packed.k = cols;
    p.sourceOffset = transposed ? (long long) p.packed.col0 * rows + p.packed.row0 : p.packed.row0 * cols + p.packed.col0;
    p.sourceStride = transposed ? rows : cols;
    return p;
}

// Thread t's four groups of a tile: soft-threshold exactly as SoftThreshold (t = the larger dropped
// magnitude; kept values sign(w)(|w| - t)), scale by beta, round to bf16, write the packed values,
// the metadata bytes and the dense effective weight; adds |W| and |S(W)| (scale 1) into the sums.
__host__ __device__ inline void sparse_prune_thread(const SparsePruneTile& p, int t, unsigned char* packed, unsigned short* dense,
                                                    const float* w, const float* staged, float beta, float& absSum, float& keptSum) {
    int a = t & 3, b = (t >> 2) & 7, q = t >> 5;
    unsigned short* values = sparse_tile_values(packed, p.packed);
    long long cols = p.packed.k;
    // All four groups are loaded before anything is stored: the outputs may alias W as far as the
    // compiler knows, so a load after a store could not be issued early.
    float in[2][2][4];
    #pragma unroll
    for (int h = 0; h < 2; h++) {
        for (int s = 0; s < 2; s++) sparse_tile_group(w + p.sourceOffset, p.sourceStride, staged, 16 * q + b + 8 * h, a + 4 * s, in[h][s]);
    }
    unsigned int meta = 0;
    #pragma unroll
    for (int h = 0; h < 2; h++) {
        int r = 16 * q + b + 8 * h;
        #pragma unroll
        for (int s = 0; s < 2; s++) {
            int g = a + 4 * s;
            const float* v = in[h][s];
            unsigned int key[4];
            for (int i = 0; i < 4; i++) key[i] = sparse_float_bits(v[i]) & 0x7FFFFFFFu;
            int mask = sparse_keep_mask(key[0], key[1], key[2], key[3]);
            // The largest dropped key is the threshold; integer max ranks NaN highest, like the oracle.
            unsigned int thresholdKey = 0;
            for (int i = 0; i < 4; i++) {
                if (!(mask & (1 << i)) && key[i] > thresholdKey) thresholdKey = key[i];
            }
            float threshold = sparse_bits_float(thresholdKey);
            unsigned short out[4];
            unsigned int kept = 0, slot = 0;
            for (int i = 0; i < 4; i++) {
                float magnitude = sparse_bits_float(key[i]);
                absSum += magnitude;
                out[i] = 0;
                if (mask & (1 << i)) {
                    float shrunk = magnitude - threshold;
                    keptSum += shrunk;
                    float signedShrunk = sparse_bits_float(sparse_float_bits(shrunk) | (sparse_float_bits(v[i]) & 0x80000000u));
                    out[i] = bf16_bits_round_nearest_even(beta * signedShrunk);
                    kept |= (unsigned int) out[i] << (16 * slot++);
                }
            }
            *reinterpret_cast<unsigned int*>(values + r * (cols / 2) + 2 * g) = kept;
            uint2 quad;
            quad.x = out[0] | ((unsigned int) out[1] << 16);
            quad.y = out[2] | ((unsigned int) out[3] << 16);
            *reinterpret_cast<uint2*>(dense + (p.packed.row0 + r) * cols + p.packed.col0 + 4 * g) = quad;
            meta |= sparse_nibble_of_mask(mask) << (4 * h + 8 * s);
        }
    }
    *reinterpret_cast<unsigned short*>(sparse_tile_metadata(packed, p.packed) + q * 64 + b * 8 + a * 2) = (unsigned short) meta;
}

// Grid-stride over the tiles; block b writes partials[2b] = its sum of |W| and partials[2b+1] = its sum
// of |S(W)|, so the host adds gridDim.x pairs.
template <bool Transposed>
__device__ inline void sparse_prune_weight(unsigned char* packed, long long blockStrideBytes, int blockRows, unsigned short* dense,
                                           float* partials, const float* w, int rows, int cols, float beta) {
    __shared__ __align__(16) float staged[Transposed ? SPARSE_TILE_COLS * SPARSE_STAGE_STRIDE : 1];
    __shared__ float scratch[SPARSE_TILE_THREADS / 32];
    long long tiles = (long long) (rows / SPARSE_TILE_ROWS) * (cols / SPARSE_TILE_COLS);
    float absSum = 0, keptSum = 0;
    for (long long tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        SparsePruneTile p = sparse_prune_tile_at(tile, blockStrideBytes, blockRows, Transposed, rows, cols);
        if (Transposed) {
            sparse_stage_tile(staged, w + p.sourceOffset, p.sourceStride, threadIdx.x);
            __syncthreads();
        }
        sparse_prune_thread(p, threadIdx.x, packed, dense, w, Transposed ? staged : nullptr, beta, absSum, keptSum);
        if (Transposed) __syncthreads();
    }
    absSum = sparse_block_sum(absSum, scratch);
    keptSum = sparse_block_sum(keptSum, scratch);
    if (threadIdx.x == 0) {
        partials[2 * blockIdx.x] = absSum;
        partials[2 * blockIdx.x + 1] = keptSum;
    }
}

// E = beta * S(W) for W [rows, cols] row-major (groups of 4 consecutive elements of a row).
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS)
sparse_prune_weight_rows(unsigned char* packed, long long blockStrideBytes, int blockRows, unsigned short* dense,
                         float* partials, const float* w, int rows, int cols, float beta) {
    sparse_prune_weight<false>(packed, blockStrideBytes, blockRows, dense, partials, w, rows, cols, beta);
}

// E = beta * S(W^T) for W [cols, rows] row-major (a group is 4 consecutive rows of W at one column);
// tiles are staged through shared memory so that W is read along its rows.
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS)
sparse_prune_weight_transposed(unsigned char* packed, long long blockStrideBytes, int blockRows, unsigned short* dense,
                               float* partials, const float* w, int rows, int cols, float beta) {
    sparse_prune_weight<true>(packed, blockStrideBytes, blockRows, dense, partials, w, rows, cols, beta);
}

// ---- unpacking (tests and inspection) ---------------------------------------------------------------

// Group `group` (row-major over m x k/4) of a packed buffer, as 4 floats; a nibble that is not an
// ordered pair of distinct indices gives NaNs, so a corrupt buffer cannot pass for a valid one.
__host__ __device__ inline void sparse_unpack_group(float* dense, const unsigned char* packed, long long m, long long k, long long group) {
    long long groups = k / 4, r = group / groups, g = group % groups;
    const unsigned short* values = reinterpret_cast<const unsigned short*>(packed);
    unsigned int byte = packed[m * k + sparse_metadata_byte_offset(r, g, k)];
    unsigned int nibble = (r % 16 < 8 ? byte : byte >> 4) & 0xFu;
    unsigned int i0 = nibble & 3u, i1 = nibble >> 2;
    float v0 = sparse_bf16_to_float(values[r * (k / 2) + 2 * g]), v1 = sparse_bf16_to_float(values[r * (k / 2) + 2 * g + 1]);
    for (unsigned int i = 0; i < 4; i++) {
        dense[r * k + 4 * g + i] = i0 >= i1 ? sparse_bits_float(0x7FC00000u) : i == i0 ? v0 : i == i1 ? v1 : 0.0f;
    }
}

// dense [m, k] fp32 = the meaning of one m x k packed buffer.
extern "C" __global__ void __launch_bounds__(SPARSE_UNPACK_THREADS)
sparse_unpack_packed(float* dense, const unsigned char* packed, int m, int k) {
    long long groups = (long long) m * (k / 4);
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < groups; i += (long long) gridDim.x * blockDim.x) {
        sparse_unpack_group(dense, packed, m, k, i);
    }
}
