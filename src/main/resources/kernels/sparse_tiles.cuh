// Tiles of the packed 2:4 layout shared by sparse_weights.cu and sparse_activations.cu: the tile and
// thread map, the group helpers and the metadata writer. Included by NVRTC from the headers the backend
// passes, by nvcc from this folder.
#pragma once

#include "bf16.cuh"

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
