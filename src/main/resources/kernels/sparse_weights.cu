// S-STE weight pruning (SPEC §3.1) into cuSPARSELt's sm_90 packed 2:4 layout (SPEC §4), and the
// unpacking of such a buffer for tests. Host side: dev.sparsetrain.cuda.SparseFfnKernels.
//
// The effective matrix E [rows, cols] has its groups of 4 along cols. The prune is memory-bound (a
// 4-byte weight read, 2 + 1 + 1/8 bytes written per element), so its tiles are laid out for
// bandwidth (see the shared part): a block handles 64 rows x 128 columns, a lane one group (16 bytes
// of fp32) of 8 rows, so every warp instruction reads or writes one contiguous stretch of a row.
//
// The selection and index logic is written as __host__ __device__ functions so that the tests compile
// this file into a host program that runs every thread's work and compares the buffers byte for byte
// with the Java oracles (SoftThreshold, CusparseLtLayout). sparse_activations.cu carries identical
// copies of the shared helpers (NVRTC compiles each file alone); a test keeps the copies equal.

constexpr int SPARSE_UNPACK_THREADS = 256;

#include "sparse_tiles.cuh"


// ---- S-STE prune and pack ---------------------------------------------------------------------------

// Columns of a weight tile: a warp's 32 lanes times one group of 4 floats (16 bytes) each.
constexpr int SPARSE_WEIGHT_TILE_COLS = 128;
static_assert(SPARSE_WEIGHT_TILE_COLS == 32 * 4 && SPARSE_WEIGHT_TILE_COLS <= SPARSE_MAX_TILE_COLS,
              "a lane owns one group of a row and the metadata chunks cover the tile");

// One weight tile: the packed location plus where its source and dense output are.
struct SparsePruneTile {
    SparsePackedTile packed;
    long long sourceOffset;  // element offset of the tile's (0,0) in W
    long long sourceStride;  // W's row stride
};

// Tiles of E [rows, cols]: 64-row bands times 128-column strips (the last one narrower).
__host__ __device__ inline long long sparse_prune_tiles(int rows, int cols) {
    return (long long) (rows / SPARSE_TILE_ROWS) * ((cols + SPARSE_WEIGHT_TILE_COLS - 1) / SPARSE_WEIGHT_TILE_COLS);
}

// Tile `tile` of E [rows, cols] (tiles run along cols first): E's row blocks of blockRows rows are
// independent packed buffers blockStrideBytes apart. W is [rows, cols], or [cols, rows] when transposed.
__host__ __device__ inline SparsePruneTile sparse_prune_tile_at(long long tile, long long blockStrideBytes, int blockRows,
                                                               bool transposed, int rows, int cols) {
    long long colTiles = (cols + SPARSE_WEIGHT_TILE_COLS - 1) / SPARSE_WEIGHT_TILE_COLS;
    SparsePruneTile p;
    p.packed.row0 = tile / colTiles * SPARSE_TILE_ROWS;
    p.packed.col0 = (int) (tile % colTiles) * SPARSE_WEIGHT_TILE_COLS;
    p.packed.cols = cols - p.packed.col0 < SPARSE_WEIGHT_TILE_COLS ? cols - p.packed.col0 : SPARSE_WEIGHT_TILE_COLS;
    long long block = p.packed.row0 / blockRows;
    p.packed.packedOffset = block * blockStrideBytes;
    p.packed.localRow0 = p.packed.row0 - block * blockRows;
    p.packed.m = blockRows;
    p.packed.k = cols;
    p.sourceOffset = transposed ? (long long) p.packed.col0 * rows + p.packed.row0 : p.packed.row0 * cols + p.packed.col0;
    p.sourceStride = transposed ? rows : cols;
    return p;
}

// Element (row, col) of a staged tile, [64][128] fp32 in 16-byte chunks whose column index is XORed
// with row / 4 % 8: the row-wise 16-byte reads of a warp hit 32 distinct chunks, and the staging
// stores below (8 lanes per source row, 4 tile rows each) fall on 32 distinct banks.
__host__ __device__ inline int sparse_staged_weight_index(int row, int col) {
    return row * SPARSE_WEIGHT_TILE_COLS + 4 * ((col / 4) ^ (row / 4 % 8)) + col % 4;
}

// Thread t's share of staging a tile of E from W^T: source points at the tile's (row 0, column 0) of
// W [cols][stride] row-major, whose rows are E's columns. A warp instruction reads half (32 floats,
// 128 bytes) of 4 source rows, a lane 4 floats, all loads before any store.
__host__ __device__ inline void sparse_stage_weight_tile(float* staged, const float* source, long long stride, int cols, int t) {
    constexpr int passes = SPARSE_WEIGHT_TILE_COLS * 2 / (4 * SPARSE_TILE_WARPS);
    int lane = t % 32, warp = t / 32, row0 = 32 * (warp % 2) + 4 * (lane % 8);
    float4 v[passes];
    #pragma unroll
    for (int i = 0; i < passes; i++) {
        int col = 4 * (SPARSE_TILE_WARPS / 2 * i + warp / 2) + lane / 8;
        if (col < cols) v[i] = *reinterpret_cast<const float4*>(source + col * stride + row0);
    }
    #pragma unroll
    for (int i = 0; i < passes; i++) {
        int col = 4 * (SPARSE_TILE_WARPS / 2 * i + warp / 2) + lane / 8;
        if (col >= cols) continue;
        // Rows row0 .. row0 + 3 share their swizzle (row0 is a multiple of 4).
        float* to = staged + sparse_staged_weight_index(row0, col);
        to[0] = v[i].x;
        to[SPARSE_WEIGHT_TILE_COLS] = v[i].y;
        to[2 * SPARSE_WEIGHT_TILE_COLS] = v[i].z;
        to[3 * SPARSE_WEIGHT_TILE_COLS] = v[i].w;
    }
}

// One group of 4 fp32 weights: soft-threshold exactly as SoftThreshold (keep the two largest
// magnitudes, ties to the higher index; t = the larger dropped magnitude; kept values sign(w)(|w| - t)),
// scale by beta and round to bf16. Returns the packed pair, sets the dense quad and the nibble, and
// adds |W| and |S(W)| (scale 1) into the sums.
__host__ __device__ inline unsigned int sparse_prune_group(float4 w, float beta, uint2& dense, unsigned int& nibble, float& absSum,
                                                           float& keptSum) {
    unsigned int bits[4] = {sparse_float_bits(w.x), sparse_float_bits(w.y), sparse_float_bits(w.z), sparse_float_bits(w.w)};
    unsigned int key[4];
    for (int i = 0; i < 4; i++) {
        key[i] = bits[i] & 0x7FFFFFFFu;  // the magnitude: integer order = numeric order, NaN above infinity
        absSum += sparse_bits_float(key[i]);
    }
    // A tournament on (key, index), where the higher index wins equal keys: the winners a, c and losers
    // b, d of 0-1 and 2-3, then the overall first, and the second from the first's loser and the better
    // of b and d. Each contender carries its index and bits, by selects (no runtime-indexed arrays).
    bool oneBeatsZero = key[1] >= key[0], threeBeatsTwo = key[3] >= key[2];
    unsigned int a = oneBeatsZero ? 1u : 0u, aBits = oneBeatsZero ? bits[1] : bits[0], bBits = oneBeatsZero ? bits[0] : bits[1];
    unsigned int c = threeBeatsTwo ? 3u : 2u, cBits = threeBeatsTwo ? bits[3] : bits[2], dBits = threeBeatsTwo ? bits[2] : bits[3];
    unsigned int ka = aBits & 0x7FFFFFFFu, kb = bBits & 0x7FFFFFFFu, kc = cBits & 0x7FFFFFFFu, kd = dBits & 0x7FFFFFFFu;
    bool cFirst = kc >= ka, dNext = kd >= kb;
    unsigned int first = cFirst ? c : a, firstBits = cFirst ? cBits : aBits;
    unsigned int lost = cFirst ? a : c, lostBits = cFirst ? aBits : cBits, kLost = cFirst ? ka : kc;
    unsigned int next = dNext ? 5u - c : 1u - a, nextBits = dNext ? dBits : bBits, kNext = dNext ? kd : kb;
    bool lostSecond = kLost > kNext || (kLost == kNext && lost > next);
    unsigned int second = lostSecond ? lost : next, secondBits = lostSecond ? lostBits : nextBits;
    // The dropped pair is the loser of lost/next and the worse of b and d, so the larger dropped
    // magnitude is the loser of lost/next.
    float threshold = sparse_bits_float(lostSecond ? kNext : kLost);
    bool inOrder = first < second;
    unsigned int i0 = inOrder ? first : second, i1 = inOrder ? second : first;
    unsigned int kept[2] = {inOrder ? firstBits : secondBits, inOrder ? secondBits : firstBits};
    float scaled[2];
    for (int j = 0; j < 2; j++) {
        float shrunk = sparse_bits_float(kept[j] & 0x7FFFFFFFu) - threshold;
        keptSum += shrunk;
        scaled[j] = beta * sparse_bits_float(sparse_float_bits(shrunk) | (kept[j] & 0x80000000u));
    }
    unsigned int values = sparse_bf16x2_round_products(scaled[0], scaled[1]);
    dense = sparse_place_pair(values, i0, i1);
    nibble = i0 | i1 << 2;
    return values;
}

// Thread t's rows of a tile (warp + 8i) at its lane's group (columns 4 lane .. 4 lane + 3): writes the
// packed values, the dense effective weight and the nibble table entries; adds |W| and |S(W)| (scale
// 1) into the sums. Staged: W comes from the staged tile. Lanes past the tile's width have nothing to do.
template <bool Staged>
__host__ __device__ inline void sparse_prune_thread(const SparsePruneTile& p, int t, unsigned char* packed, unsigned short* dense,
                                                    unsigned char* nibbleTable, const float* w, const float* staged, float beta,
                                                    float& absSum, float& keptSum) {
    int lane = t % 32, warp = t / 32, col = 4 * lane;
    if (col >= p.packed.cols) return;
    // All loads before anything is stored: the outputs may alias W as far as the compiler knows, so a
    // load after a store could not be issued early.
    float4 in[SPARSE_ROWS_PER_THREAD];
    #pragma unroll
    for (int i = 0; i < SPARSE_ROWS_PER_THREAD; i++) {
        int r = warp + SPARSE_TILE_WARPS * i;
        in[i] = Staged ? *reinterpret_cast<const float4*>(staged + sparse_staged_weight_index(r, col))
                       : *reinterpret_cast<const float4*>(w + p.sourceOffset + r * p.sourceStride + col);
    }
    // The thread's first row in each output; later rows are SPARSE_TILE_WARPS rows further.
    long long cols = p.packed.k;
    unsigned short* values = sparse_tile_values(packed, p.packed) + warp * (cols / 2) + col / 2;
    unsigned short* quads = dense + (p.packed.row0 + warp) * cols + p.packed.col0 + col;
    #pragma unroll
    for (int i = 0; i < SPARSE_ROWS_PER_THREAD; i++) {
        long long step = (long long) SPARSE_TILE_WARPS * i;
        uint2 quad;
        unsigned int nibble;
        *reinterpret_cast<unsigned int*>(values + step * (cols / 2)) = sparse_prune_group(in[i], beta, quad, nibble, absSum, keptSum);
        sparse_store_pair(quads + step * cols, quad.x, quad.y);
        nibbleTable[sparse_nibble_slot(warp + SPARSE_TILE_WARPS * i, lane)] = (unsigned char) nibble;
    }
}

// Grid-stride over the tiles; block b writes partials[2b] = its sum of |W| and partials[2b+1] = its sum
// of |S(W)|, so the host adds gridDim.x pairs.
template <bool Transposed>
__device__ inline void sparse_prune_weight(unsigned char* packed, long long blockStrideBytes, int blockRows, unsigned short* dense,
                                           float* partials, const float* w, int rows, int cols, float beta) {
    __shared__ __align__(16) float staged[Transposed ? SPARSE_TILE_ROWS * SPARSE_WEIGHT_TILE_COLS : 4];
    __shared__ __align__(16) unsigned char nibbleTable[SPARSE_NIBBLE_TABLE_BYTES];
    __shared__ float scratch[2 * SPARSE_TILE_WARPS];
    long long tiles = sparse_prune_tiles(rows, cols);
    float sums[2] = {0.0f, 0.0f};
    for (long long tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        SparsePruneTile p = sparse_prune_tile_at(tile, blockStrideBytes, blockRows, Transposed, rows, cols);
        if (Transposed) {
            sparse_stage_weight_tile(staged, w + p.sourceOffset, p.sourceStride, p.packed.cols, threadIdx.x);
            __syncthreads();
        }
        sparse_prune_thread<Transposed>(p, threadIdx.x, packed, dense, nibbleTable, w, staged, beta, sums[0], sums[1]);
        __syncthreads();
        sparse_write_metadata_chunk(packed, p.packed, nibbleTable, threadIdx.x);
        __syncthreads();  // the next tile overwrites the table and the staged tile
    }
    sparse_block_sums(sums, scratch);
    if (threadIdx.x == 0) {
        partials[2 * blockIdx.x] = sums[0];
        partials[2 * blockIdx.x + 1] = sums[1];
    }
}

// E = beta * S(W) for W [rows, cols] row-major (groups of 4 consecutive elements of a row).
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS, SPARSE_TILE_MIN_BLOCKS)
sparse_prune_weight_rows(unsigned char* packed, long long blockStrideBytes, int blockRows, unsigned short* dense,
                         float* partials, const float* w, int rows, int cols, float beta) {
    sparse_prune_weight<false>(packed, blockStrideBytes, blockRows, dense, partials, w, rows, cols, beta);
}

// E = beta * S(W^T) for W [cols, rows] row-major (a group is 4 consecutive rows of W at one column);
// tiles are staged through shared memory so that W is read along its rows.
extern "C" __global__ void __launch_bounds__(SPARSE_TILE_THREADS, SPARSE_STAGED_MIN_BLOCKS)
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
