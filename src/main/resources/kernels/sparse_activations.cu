// The sparse FFN's activation step (SPEC §3.3) after GEMM 1, and its backward after GEMM 3, on routed
// rows grouped by expert. Host side: dev.sparsetrain.cuda.SparseFfnKernels.
//
// Routed rows [rowOffsets[e], rowOffsets[e+1]) belong to expert e (offsets are multiples of 64, an
// expert may own none); each row holds that expert's f neurons. The GEMM outputs z and dA are bf16,
// either row-major [P, f] over all routed rows, or expert-major: expert e's block row-major [f, P_e]
// at element offset rowOffsets[e]*f. Expert e's packed buffer (m = P_e, k = f, cuSPARSELt sm_90 2:4
// layout) starts rowOffsets[e]*f*9/8 bytes into the packed allocation.
//
// These kernels are memory-bound (about 7 bytes moved per element), so the tiles are laid out for
// bandwidth (see the shared part): a block handles 64 routed rows x 256 neurons inside one expert, a
// lane 8 consecutive neurons (two groups) of 8 rows, so that every row-major input and output, down to
// the nibbles, is read and written in whole contiguous stretches by each warp instruction.
// Expert-major sources are staged through shared memory so that they are read along their rows. The
// selection and index logic is __host__ __device__ so that the tests run every thread's work on the
// host against the Java oracles (ActivationTopK, CusparseLtLayout).

#include "sparse_tiles.cuh"


// ---- routed rows and tiles ---------------------------------------------------------------------------

// Columns of an activation tile: a warp's 32 lanes times 8 bf16 (16 bytes) each.
constexpr int SPARSE_ACTIVATION_TILE_COLS = 256;
static_assert(SPARSE_ACTIVATION_TILE_COLS == 32 * 8 && SPARSE_ACTIVATION_TILE_COLS <= SPARSE_MAX_TILE_COLS,
              "a lane owns 8 neurons of a row and the metadata chunks cover the tile");

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

// Tiles of the routed [P, f] activations: 64-row bands times 256-column strips (the last one narrower).
__host__ __device__ inline long long sparse_activation_tiles(int rowsTotal, int f) {
    return (long long) (rowsTotal / SPARSE_TILE_ROWS) * ((f + SPARSE_ACTIVATION_TILE_COLS - 1) / SPARSE_ACTIVATION_TILE_COLS);
}

// Tile `tile` of the routed [P, f] activations (tiles run along f first).
__host__ __device__ inline SparseActivationTile sparse_activation_tile_at(long long tile, const int* rowOffsets, int experts, int f,
                                                                         bool expertMajor) {
    long long colTiles = (f + SPARSE_ACTIVATION_TILE_COLS - 1) / SPARSE_ACTIVATION_TILE_COLS;
    SparseActivationTile p;
    p.packed.row0 = tile / colTiles * SPARSE_TILE_ROWS;
    p.packed.col0 = (int) (tile % colTiles) * SPARSE_ACTIVATION_TILE_COLS;
    p.packed.cols = f - p.packed.col0 < SPARSE_ACTIVATION_TILE_COLS ? f - p.packed.col0 : SPARSE_ACTIVATION_TILE_COLS;
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

// ---- staging of expert-major sources ---------------------------------------------------------------

// Element (row, col) of a staged tile, [64][256] bf16 in 16-byte chunks whose column index is XORed
// with row / 8 % 8: the row-wise 16-byte reads of a warp hit 32 distinct chunks, and the staging
// stores below (8 lanes per source row, 8 tile rows each) fall on distinct banks.
__host__ __device__ inline int sparse_staged_activation_index(int row, int col) {
    return row * SPARSE_ACTIVATION_TILE_COLS + 8 * ((col / 8) ^ (row / 8 % 8)) + col % 8;
}

// Thread t's share of staging a tile whose source runs along the tile's rows: source points at the
// tile's (row 0, column 0) of a [f][stride] row-major array. Each warp instruction reads 4 source rows
// (neurons) of 64 bf16, a lane 8 of them (16 bytes), all loads before any store.
__host__ __device__ inline void sparse_stage_activation_tile(unsigned short* staged, const unsigned short* source, long long stride, int cols,
                                                             int t) {
    constexpr int passes = SPARSE_ACTIVATION_TILE_COLS / (4 * SPARSE_TILE_WARPS);
    int lane = t % 32, warp = t / 32, row0 = 8 * (lane % 8);
    uint4 v[passes];
    #pragma unroll
    for (int i = 0; i < passes; i++) {
        int col = 4 * (SPARSE_TILE_WARPS * i + warp) + lane / 8;
        if (col < cols) v[i] = *reinterpret_cast<const uint4*>(source + col * stride + row0);
    }
    #pragma unroll
    for (int i = 0; i < passes; i++) {
        int col = 4 * (SPARSE_TILE_WARPS * i + warp) + lane / 8;
        if (col >= cols) continue;
        // Rows row0 .. row0 + 7 share their swizzle (row0 is a multiple of 8).
        unsigned short* to = staged + sparse_staged_activation_index(row0, col);
        unsigned int words[4] = {v[i].x, v[i].y, v[i].z, v[i].w};
        for (int j = 0; j < 8; j++) to[j * SPARSE_ACTIVATION_TILE_COLS] = (unsigned short) (words[j / 2] >> (16 * (j % 2)));
    }
}

// The 8 bf16 of tile row `row`, columns col..col+7: from the staged tile, or straight from a row-major source.
template <bool Staged>
__host__ __device__ inline uint4 sparse_activation_octet(const unsigned short* source, const SparseActivationTile& p, const unsigned short* staged,
                                                         int row, int col) {
    if (Staged) return *reinterpret_cast<const uint4*>(staged + sparse_staged_activation_index(row, col));
    return *reinterpret_cast<const uint4*>(source + p.sourceOffset + row * p.sourceStride + col);
}

// ---- relu^2 -> top-2-of-4 -> pack ---------------------------------------------------------------------

// What a block adds to the ActivationStats: positive z, kept with relu != 0, sum relu^2, sum kept relu^2.
struct SparseActivationSums {
    unsigned int positive;
    unsigned int kept;
    float mass;
    float keptMass;
};

// Counts kept per 16-bit half of a word (a thread's tile adds at most 32 to a half), added up at the
// end of the thread's tile.
struct SparseHalfCounts {
    unsigned int positive;
    unsigned int kept;
};

// One group's outputs: the packed pair (bf16 x2, the lower column's in the low half), relu(z) of the
// pair, the dense quad (bf16 x4) and the nibble.
struct SparseRelu2Group {
    unsigned int values;
    unsigned int relus;
    uint2 dense;
    unsigned int nibble;
};

// One group of 4 bf16 z (two words, low half first): a = relu(z)^2 (relu = Math.max(z, 0f)), keep the
// two largest by ActivationTopK's rule (ranked on relu(z), so distinct z never tie through a rounded
// square; ties to the higher index); adds the group's stats. Works on both bf16 of a word at once, with
// bit tricks that never carry between the halves, and without branches.
__host__ __device__ inline SparseRelu2Group sparse_relu2_group(unsigned int low, unsigned int high, SparseHalfCounts& counts,
                                                              SparseActivationSums& sums) {
    unsigned int words[2] = {low, high}, keys[2], relus[2];
    for (int h = 0; h < 2; h++) {
        unsigned int w = words[h], magnitude = w & 0x7FFF7FFFu;
        // Bit 15 of each half: the half is a NaN (magnitude above 0x7F80), resp. is not +-0.
        unsigned int nan = (magnitude + 0x007F007Fu) & 0x80008000u, nonzero = (magnitude + 0x7FFF7FFFu) & 0x80008000u;
        // relu: negative halves other than NaNs become +0; a NaN stays, quieted as bf16 rounding does.
        unsigned int cleared = ((w & ~nan & 0x80008000u) >> 15) * 0xFFFFu;
        keys[h] = magnitude & ~cleared;  // relu's magnitude: integer order = numeric order, NaN above infinity
        relus[h] = (w & ~cleared) | nan >> 9;
        counts.positive += (nonzero & ~nan & ~w) >> 15;  // z > 0
        float r0 = sparse_bits_float(relus[h] << 16), r1 = sparse_bits_float(relus[h] & 0xFFFF0000u);
        sums.mass += r0 * r0;
        sums.mass += r1 * r1;
    }
    // Ties go to the higher index: key * 65536 + index makes the four ranks distinct (keys have 15
    // bits), then a tournament finds the two largest.
    unsigned int k0 = keys[0] << 16, k1 = (keys[0] & 0xFFFF0000u) | 1u, k2 = keys[1] << 16 | 2u, k3 = (keys[1] & 0xFFFF0000u) | 3u;
    unsigned int a = k0 > k1 ? k0 : k1, b = k0 > k1 ? k1 : k0, c = k2 > k3 ? k2 : k3, d = k2 > k3 ? k3 : k2;
    unsigned int first = a > c ? a : c, lost = a > c ? c : a, next = b > d ? b : d, second = lost > next ? lost : next;
    unsigned int j0 = first & 3u, j1 = second & 3u, i0 = j0 < j1 ? j0 : j1, i1 = j0 < j1 ? j1 : j0;
    unsigned int selector = sparse_pair_selector(i0, i1), keptKeys = sparse_byte_perm(keys[0], keys[1], selector);
    SparseRelu2Group out;
    out.relus = sparse_byte_perm(relus[0], relus[1], selector);
    counts.kept += ((keptKeys + 0x7FFF7FFFu) & 0x80008000u) >> 15;  // kept with relu != 0
    float s0 = sparse_bits_float(out.relus << 16), s1 = sparse_bits_float(out.relus & 0xFFFF0000u);
    s0 *= s0;
    s1 *= s1;
    sums.keptMass += s0;
    sums.keptMass += s1;
    out.values = sparse_bf16x2_round_products(s0, s1);
    out.dense = sparse_place_pair(out.values, i0, i1);
    out.nibble = i0 | i1 << 2;
    return out;
}

// Thread t's rows of a tile (warp + 8i) at its lane's 8 columns (groups 2 lane, 2 lane + 1): writes the
// packed values, dense A, relu(z) of the kept pairs, the pairs' nibbles and the nibble table entries,
// and adds the stats into sums. Staged: z comes from the staged tile. Lanes past the tile's width have
// nothing to do.
template <bool Staged>
__host__ __device__ inline void sparse_relu2_top_two_thread(const SparseActivationTile& p, int t, unsigned char* packedA,
                                                            unsigned short* denseA, unsigned short* keptRelu, unsigned char* nibbles,
                                                            unsigned char* nibbleTable, const unsigned short* z, const unsigned short* staged,
                                                            SparseActivationSums& sums) {
    int lane = t % 32, warp = t / 32, col = 8 * lane;
    if (col >= p.packed.cols) return;
    // Loads first: the outputs may alias z as far as the compiler knows.
    uint4 in[SPARSE_ROWS_PER_THREAD];
    #pragma unroll
    for (int i = 0; i < SPARSE_ROWS_PER_THREAD; i++) in[i] = sparse_activation_octet<Staged>(z, p, staged, warp + SPARSE_TILE_WARPS * i, col);
    // The thread's first row in each output; later rows are SPARSE_TILE_WARPS rows further.
    long long f = p.packed.k, row = p.packed.row0 + warp;
    int c = p.packed.col0 + col;
    unsigned short* values = sparse_tile_values(packedA, p.packed) + warp * (f / 2) + col / 2;
    unsigned short* dense = denseA + row * f + c;
    unsigned short* relus = keptRelu + row * (f / 2) + c / 2;
    unsigned char* pairs = nibbles + row * (f / 4) + c / 4;
    SparseHalfCounts counts = {0u, 0u};
    #pragma unroll
    for (int i = 0; i < SPARSE_ROWS_PER_THREAD; i++) {
        long long step = (long long) SPARSE_TILE_WARPS * i;
        SparseRelu2Group g0 = sparse_relu2_group(in[i].x, in[i].y, counts, sums), g1 = sparse_relu2_group(in[i].z, in[i].w, counts, sums);
        *reinterpret_cast<uint4*>(dense + step * f) = make_uint4(g0.dense.x, g0.dense.y, g1.dense.x, g1.dense.y);
        sparse_store_pair(values + step * (f / 2), g0.values, g1.values);
        sparse_store_pair(relus + step * (f / 2), g0.relus, g1.relus);
        unsigned short pair = (unsigned short) (g0.nibble | g1.nibble << 8);
        *reinterpret_cast<unsigned short*>(pairs + step * (f / 4)) = pair;
        *reinterpret_cast<unsigned short*>(nibbleTable + sparse_nibble_slot(warp + SPARSE_TILE_WARPS * i, col / 4)) = pair;
    }
    sums.positive += (counts.positive & 0xFFFFu) + (counts.positive >> 16);
    sums.kept += (counts.kept & 0xFFFFu) + (counts.kept >> 16);
}

// Grid-stride over the tiles; block b writes partials[4b .. 4b+3] = its positive and kept counts
// (uint32 bit patterns) and its two masses (floats), so the host adds gridDim.x quadruples.
template <bool ExpertMajor>
__device__ inline void sparse_relu2_top_two(unsigned char* packedA, unsigned short* denseA, unsigned short* keptRelu,
                                            unsigned char* nibbles, float* partials, const unsigned short* z,
                                            const int* rowOffsets, int experts, int rowsTotal, int f) {
    __shared__ __align__(16) unsigned short staged[ExpertMajor ? SPARSE_TILE_ROWS * SPARSE_ACTIVATION_TILE_COLS : 8];
    __shared__ __align__(16) unsigned char nibbleTable[SPARSE_NIBBLE_TABLE_BYTES];
    __shared__ unsigned int countScratch[2 * SPARSE_TILE_WARPS];
    __shared__ float massScratch[2 * SPARSE_TILE_WARPS];
    long long tiles = sparse_activation_tiles(rowsTotal, f);
    SparseActivationSums sums = {0u, 0u, 0.0f, 0.0f};
    for (long long tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        SparseActivationTile p = sparse_activation_tile_at(tile, rowOffsets, experts, f, ExpertMajor);
        if (ExpertMajor) {
            sparse_stage_activation_tile(staged, z + p.sourceOffset, p.sourceStride, p.packed.cols, threadIdx.x);
            __syncthreads();
        }
        sparse_relu2_top_two_thread<ExpertMajor>(p, threadIdx.x, packedA, denseA, keptRelu, nibbles, nibbleTable, z, staged, sums);
        __syncthreads();
        sparse_write_metadata_chunk(packedA, p.packed, nibbleTable, threadIdx.x);
        __syncthreads();  // the next tile overwrites the table and the staged tile
    }
    unsigned int counts[2] = {sums.positive, sums.kept};
    float masses[2] = {sums.mass, sums.keptMass};
    sparse_block_sums(counts, countScratch);
    sparse_block_sums(masses, massScratch);
    if (threadIdx.x == 0) {
        partials[4 * blockIdx.x] = sparse_bits_float(counts[0]);
        partials[4 * blockIdx.x + 1] = sparse_bits_float(counts[1]);
        partials[4 * blockIdx.x + 2] = masses[0];
        partials[4 * blockIdx.x + 3] = masses[1];
    }
}

// z row-major [P, f].
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS, SPARSE_TILE_MIN_BLOCKS)
sparse_relu2_top_two_rows(unsigned char* packedA, unsigned short* denseA, unsigned short* keptRelu, unsigned char* nibbles,
                          float* partials, const unsigned short* z, const int* rowOffsets, int experts, int rowsTotal, int f) {
    sparse_relu2_top_two<false>(packedA, denseA, keptRelu, nibbles, partials, z, rowOffsets, experts, rowsTotal, f);
}

// z expert-major: expert e's block row-major [f, P_e].
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS, SPARSE_STAGED_MIN_BLOCKS)
sparse_relu2_top_two_expert_major(unsigned char* packedA, unsigned short* denseA, unsigned short* keptRelu, unsigned char* nibbles,
                                  float* partials, const unsigned short* z, const int* rowOffsets, int experts, int rowsTotal, int f) {
    sparse_relu2_top_two<true>(packedA, denseA, keptRelu, nibbles, partials, z, rowOffsets, experts, rowsTotal, f);
}

// ---- activation gradient --------------------------------------------------------------------------------

// One group's dZ on A's pattern: dA (4 bf16 in two words, low half first), relu(z) of the kept pair
// (2 bf16) and the pair's nibble (a valid one, as relu2 writes them). dZ = dA * 2 relu(z); the product
// of two bf16 values and 2 is exact in float, so dZ is rounded once, to bf16. Returns the packed pair;
// dense gets the quad (zeros off the pair).
__host__ __device__ inline unsigned int sparse_gradient_group(unsigned int low, unsigned int high, unsigned int relus, unsigned int nibble,
                                                              uint2& dense) {
    unsigned int i0 = nibble & 3u, i1 = nibble >> 2, kept = sparse_byte_perm(low, high, sparse_pair_selector(i0, i1));
    float dz0 = sparse_bits_float(kept << 16) * 2.0f * sparse_bits_float(relus << 16);
    float dz1 = sparse_bits_float(kept & 0xFFFF0000u) * 2.0f * sparse_bits_float(relus & 0xFFFF0000u);
    unsigned int values = sparse_bf16x2_round_products(dz0, dz1);
    dense = sparse_place_pair(values, i0, i1);
    return values;
}

// Thread t's rows of a tile (warp + 8i) at its lane's 8 columns: on A's pattern (the stored nibbles),
// dZ from dA and keptRelu, written packed and dense, and the nibbles into the table for dZ's metadata
// (the same as A's). Staged: dA comes from the staged tile.
template <bool Staged>
__host__ __device__ inline void sparse_activation_gradient_thread(const SparseActivationTile& p, int t, unsigned char* packedDz,
                                                                  unsigned short* denseDz, unsigned char* nibbleTable,
                                                                  const unsigned short* dA, const unsigned short* staged,
                                                                  const unsigned short* keptRelu, const unsigned char* nibbles) {
    int lane = t % 32, warp = t / 32, col = 8 * lane;
    if (col >= p.packed.cols) return;
    long long f = p.packed.k, row = p.packed.row0 + warp;
    int c = p.packed.col0 + col;
    const unsigned short* relus = keptRelu + row * (f / 2) + c / 2;
    const unsigned char* pairs = nibbles + row * (f / 4) + c / 4;
    uint4 in[SPARSE_ROWS_PER_THREAD];
    uint2 kept[SPARSE_ROWS_PER_THREAD];
    unsigned int nibblePairs[SPARSE_ROWS_PER_THREAD];
    #pragma unroll
    for (int i = 0; i < SPARSE_ROWS_PER_THREAD; i++) {
        long long step = (long long) SPARSE_TILE_WARPS * i;
        in[i] = sparse_activation_octet<Staged>(dA, p, staged, warp + SPARSE_TILE_WARPS * i, col);
        kept[i] = *reinterpret_cast<const uint2*>(relus + step * (f / 2));
        nibblePairs[i] = *reinterpret_cast<const unsigned short*>(pairs + step * (f / 4)) & 0x0F0Fu;
    }
    unsigned short* values = sparse_tile_values(packedDz, p.packed) + warp * (f / 2) + col / 2;
    unsigned short* dense = denseDz + row * f + c;
    #pragma unroll
    for (int i = 0; i < SPARSE_ROWS_PER_THREAD; i++) {
        long long step = (long long) SPARSE_TILE_WARPS * i;
        uint2 dense0, dense1;
        unsigned int v0 = sparse_gradient_group(in[i].x, in[i].y, kept[i].x, nibblePairs[i] & 0xFu, dense0);
        unsigned int v1 = sparse_gradient_group(in[i].z, in[i].w, kept[i].y, nibblePairs[i] >> 8, dense1);
        *reinterpret_cast<uint4*>(dense + step * f) = make_uint4(dense0.x, dense0.y, dense1.x, dense1.y);
        sparse_store_pair(values + step * (f / 2), v0, v1);
        *reinterpret_cast<unsigned short*>(nibbleTable + sparse_nibble_slot(warp + SPARSE_TILE_WARPS * i, col / 4)) = (unsigned short) nibblePairs[i];
    }
}

template <bool ExpertMajor>
__device__ inline void sparse_activation_gradient(unsigned char* packedDz, unsigned short* denseDz, const unsigned short* dA,
                                                  const unsigned short* keptRelu, const unsigned char* nibbles,
                                                  const int* rowOffsets, int experts, int rowsTotal, int f) {
    __shared__ __align__(16) unsigned short staged[ExpertMajor ? SPARSE_TILE_ROWS * SPARSE_ACTIVATION_TILE_COLS : 8];
    __shared__ __align__(16) unsigned char nibbleTable[SPARSE_NIBBLE_TABLE_BYTES];
    long long tiles = sparse_activation_tiles(rowsTotal, f);
    for (long long tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        SparseActivationTile p = sparse_activation_tile_at(tile, rowOffsets, experts, f, ExpertMajor);
        if (ExpertMajor) {
            sparse_stage_activation_tile(staged, dA + p.sourceOffset, p.sourceStride, p.packed.cols, threadIdx.x);
            __syncthreads();
        }
        sparse_activation_gradient_thread<ExpertMajor>(p, threadIdx.x, packedDz, denseDz, nibbleTable, dA, staged, keptRelu, nibbles);
        __syncthreads();
        sparse_write_metadata_chunk(packedDz, p.packed, nibbleTable, threadIdx.x);
        __syncthreads();  // the next tile overwrites the table and the staged tile
    }
}

// dA row-major [P, f].
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS, SPARSE_TILE_MIN_BLOCKS)
sparse_activation_gradient_rows(unsigned char* packedDz, unsigned short* denseDz, const unsigned short* dA, const unsigned short* keptRelu,
                                const unsigned char* nibbles, const int* rowOffsets, int experts, int rowsTotal, int f) {
    sparse_activation_gradient<false>(packedDz, denseDz, dA, keptRelu, nibbles, rowOffsets, experts, rowsTotal, f);
}

// dA expert-major: expert e's block row-major [f, P_e].
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS, SPARSE_STAGED_MIN_BLOCKS)
sparse_activation_gradient_expert_major(unsigned char* packedDz, unsigned short* denseDz, const unsigned short* dA,
                                        const unsigned short* keptRelu, const unsigned char* nibbles, const int* rowOffsets,
                                        int experts, int rowsTotal, int f) {
    sparse_activation_gradient<true>(packedDz, denseDz, dA, keptRelu, nibbles, rowOffsets, experts, rowsTotal, f);
}
