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

// ---- shared by sparse_weights.cu and sparse_activations.cu: identical copies, kept so by a test ----

// A block of SPARSE_TILE_THREADS threads handles a tile of one 64-row band of the packed layout times
// a kernel-specific width of whole 32-column metadata blocks (consecutive metadata blocks of a band are
// consecutive 256-byte chunks). Warp w owns tile rows w, w + 8, ..., w + 56, and on each row its lanes
// take 16 consecutive source bytes each: every warp-wide load and store covers one contiguous stretch
// of a row, and each thread has SPARSE_ROWS_PER_THREAD loads in flight before it computes anything.
// The metadata pairs rows r and r + 8 in a byte and interleaves the groups, so it goes through a
// shared nibble table instead: each thread drops its groups' nibbles there, and after a barrier each
// thread writes 8 whole consecutive metadata bytes (no byte is shared between threads).
constexpr int SPARSE_TILE_THREADS = 256;
// Blocks per SM that the launch bounds ask for: 3 caps the registers at 80, which the row-major
// kernels meet without spilling (24 warps, 96 KB of loads in flight per SM); the kernels that stage
// a transposed source need more registers and get 2.
constexpr int SPARSE_TILE_MIN_BLOCKS = 3;
constexpr int SPARSE_STAGED_MIN_BLOCKS = 2;
constexpr int SPARSE_TILE_WARPS = SPARSE_TILE_THREADS / 32;
constexpr int SPARSE_TILE_ROWS = 64;
constexpr int SPARSE_ROWS_PER_THREAD = SPARSE_TILE_ROWS / SPARSE_TILE_WARPS;
constexpr int SPARSE_METADATA_COLS = 32;
// A 64 x C tile has 8C metadata bytes, so one 8-byte chunk per thread covers C = SPARSE_TILE_THREADS
// columns: the widest tile.
constexpr int SPARSE_MAX_TILE_COLS = SPARSE_TILE_THREADS;
// Nibble table: one byte per (tile row, group). The metadata writers of a warp read 8 bytes each from
// rows 16q + b (q < 4, b < 8) at one column; 80-byte rows plus 8 more bytes per 16 rows put the
// 16 reads of each half-warp on distinct bank pairs (8-byte word 10b + q mod 16).
constexpr int SPARSE_NIBBLE_ROW_BYTES = 80;
constexpr int SPARSE_NIBBLE_TABLE_BYTES = SPARSE_TILE_ROWS * SPARSE_NIBBLE_ROW_BYTES + SPARSE_TILE_ROWS / 16 * 8;

static_assert(SPARSE_TILE_ROWS == 64 && SPARSE_ROWS_PER_THREAD * SPARSE_TILE_WARPS == SPARSE_TILE_ROWS,
              "a tile is one 64-row band of the packed layout, split evenly over the warps");
static_assert(SPARSE_MAX_TILE_COLS == 256 && SPARSE_NIBBLE_ROW_BYTES >= SPARSE_MAX_TILE_COLS / 4,
              "the nibble table holds every group of the widest tile");

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

// The bf16 bits of two floats, a's in the low half, rounded as bf16_bits_round_nearest_even. The GPU
// does both in one cvt.rn.bf16x2.f32: the same for every non-NaN (round to nearest even, subnormals
// kept), and every float rounded here is a product, whose NaNs the GPU makes the canonical 0x7FFFFFFF,
// which both turn into 0x7FFF.
__host__ __device__ inline unsigned int sparse_bf16x2_round_products(float a, float b) {
#ifdef __CUDA_ARCH__
    unsigned int out;
    asm("cvt.rn.bf16x2.f32 %0, %2, %1;" : "=r"(out) : "f"(a), "f"(b));  // the first source goes to the high half
    return out;
#else
    return bf16_bits_round_nearest_even(a) | (unsigned int) bf16_bits_round_nearest_even(b) << 16;
#endif
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

// __byte_perm(x, y, s) (the GPU's PRMT) for selectors whose nibbles are all below 8: byte i of the
// result is byte (s >> 4i) & 7 of the 8 bytes y:x (x first); bits 16-31 of s are ignored.
__host__ __device__ inline unsigned int sparse_byte_perm(unsigned int x, unsigned int y, unsigned int s) {
#ifdef __CUDA_ARCH__
    unsigned int out;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(out) : "r"(x), "r"(y), "r"(s));  // __byte_perm would mask s first
    return out;
#else
    unsigned long long bytes = (unsigned long long) y << 32 | x;
    unsigned int out = 0;
    for (int i = 0; i < 4; i++) out |= (unsigned int) (bytes >> (8 * ((s >> (4 * i)) & 7)) & 0xFFu) << (8 * i);
    return out;
#endif
}

// Stores two words (low first) with one 8-byte access at p, which must be 8-byte aligned; a uint2 whose
// halves are computed apart can otherwise come out as two 4-byte stores, i.e. half sectors per warp.
__host__ __device__ inline void sparse_store_pair(void* p, unsigned int low, unsigned int high) {
    *reinterpret_cast<unsigned long long*>(p) = (unsigned long long) high << 32 | low;
}

// The byte-perm selector that gathers 16-bit elements i0 (low half) and i1 (high half) of a group of
// four held in two words: element i is bytes 2i and 2i + 1.
__host__ __device__ inline unsigned int sparse_pair_selector(unsigned int i0, unsigned int i1) { return 0x1010u + 0x22u * i0 + 0x2200u * i1; }

// The dense group of four bf16 (two words) with a pair's values (i0's in the low half) at elements
// i0 < i1 and zeros elsewhere. Two selector lookups (themselves byte-perms of constant tables, indexed
// by which of elements 0-1 and 2-3 are kept) then one byte-perm per word, without branches.
__host__ __device__ inline uint2 sparse_place_pair(unsigned int pair, unsigned int i0, unsigned int i1) {
    unsigned int kept = (1u << i0) | (1u << i1), low = kept & 3u, high = kept >> 2;
    // Per kept pattern c of two elements, the selector bytes: 0x10 = the pair's low value, 0x32 = its
    // high value, 0x54 = zero (bytes 4-5 of the zero word). Low bytes in the first table, high in the second.
    unsigned int lowSelector = sparse_byte_perm(0x10541054u, 0x32105454u, 0x40u + 0x11u * low);
    unsigned int highSelector = sparse_byte_perm(0x10543254u, 0x32325454u, 0x40u + 0x11u * high);
    return make_uint2(sparse_byte_perm(pair, 0u, lowSelector), sparse_byte_perm(pair, 0u, highSelector));
}

// CusparseLtLayout.metadataByteOffset: the byte, inside the metadata part of an m x k packed buffer,
// that holds the nibble of (row, group); low half when row % 16 < 8, else high half.
__host__ __device__ inline long long sparse_metadata_byte_offset(long long row, long long group, long long k) {
    return (row / 64) * (64 * k / 8) + (group / 8) * 256 + ((row % 64) / 16) * 64 + (row % 8) * 8
            + (group % 4) * 2 + (group % 8) / 4;
}

// Where a tile of a packed matrix lives: row0/col0 in the full matrix, its width, and localRow0 inside
// the packed buffer (of m rows and k columns) that starts packedOffset bytes into the packed allocation.
struct SparsePackedTile {
    long long row0;
    int col0;
    int cols;  // a multiple of 32, at most the kernel's tile width (less in the last tile of a row)
    long long packedOffset;
    long long localRow0;
    long long m;
    int k;
};

// The tile's values: element (localRow0, col0/2) of the buffer's m x k/2 values.
__host__ __device__ inline unsigned short* sparse_tile_values(unsigned char* packed, const SparsePackedTile& t) {
    return reinterpret_cast<unsigned short*>(packed + t.packedOffset) + t.localRow0 * (t.k / 2) + t.col0 / 2;
}

// The tile's metadata: cols/32 consecutive 256-byte metadata blocks.
__host__ __device__ inline unsigned char* sparse_tile_metadata(unsigned char* packed, const SparsePackedTile& t) {
    return packed + t.packedOffset + t.m * t.k + sparse_metadata_byte_offset(t.localRow0, t.col0 / 4, t.k);
}

// The nibble table byte of (tile row, tile group).
__host__ __device__ inline int sparse_nibble_slot(int row, int group) {
    return row * SPARSE_NIBBLE_ROW_BYTES + row / 16 * 8 + group;
}

// Metadata byte j of a row pair holds group (j % 2) * 4 + j / 2 of its block. Given the table's bytes
// of groups 0-3 (x) and 4-7 (y), the metadata bytes 0-3 (half 0) or 4-7 (half 1).
__host__ __device__ inline unsigned int sparse_interleave_groups(unsigned int x, unsigned int y, int half) {
    int s = 16 * half;
    return ((x >> s) & 0xFFu) | ((y >> s) & 0xFFu) << 8 | ((x >> (s + 8)) & 0xFFu) << 16 | ((y >> (s + 8)) & 0xFFu) << 24;
}

// Thread t's 8 metadata bytes of a tile, after the tile's nibbles are in the table: chunk t is
// metadata block t / 32, rows 16q + b (low nibbles) and 16q + b + 8 (high nibbles) with q = t / 8 % 4
// and b = t % 8, all 8 groups of the block; the layout puts it 8t bytes into the tile's metadata.
__host__ __device__ inline void sparse_write_metadata_chunk(unsigned char* packed, const SparsePackedTile& p, const unsigned char* table,
                                                            int t) {
    int block = t / 32, row = 16 * (t / 8 % 4) + t % 8;
    if (block >= p.cols / SPARSE_METADATA_COLS) return;
    uint2 low = *reinterpret_cast<const uint2*>(table + sparse_nibble_slot(row, 8 * block));
    uint2 high = *reinterpret_cast<const uint2*>(table + sparse_nibble_slot(row + 8, 8 * block));
    sparse_store_pair(sparse_tile_metadata(packed, p) + 8 * t,
                      sparse_interleave_groups(low.x, low.y, 0) | sparse_interleave_groups(high.x, high.y, 0) << 4,
                      sparse_interleave_groups(low.x, low.y, 1) | sparse_interleave_groups(high.x, high.y, 1) << 4);
}

// Each of the N sums of v over the block's threads, into thread 0's v, in a fixed order (so partials
// come out the same every run); scratch holds N values per warp.
template <typename T, int N>
__device__ inline void sparse_block_sums(T (&v)[N], T* scratch) {
    for (int n = 0; n < N; n++) {
        for (int o = 16; o > 0; o >>= 1) v[n] += __shfl_xor_sync(0xFFFFFFFFu, v[n], o);
    }
    if ((threadIdx.x & 31) == 0) {
        for (int n = 0; n < N; n++) scratch[(threadIdx.x >> 5) * N + n] = v[n];
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        for (int n = 0; n < N; n++) {
            T total = 0;
            for (int w = 0; w < SPARSE_TILE_WARPS; w++) total += scratch[w * N + n];
            v[n] = total;
        }
    }
}

// ---- end of the shared part ----------------------------------------------------------------------

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
