// The sparse FFN's `nearest` routing on the device (SPEC §3.2), so that the host never waits for the
// router scores: each token goes to its lowest-score expert, tokens are stable-sorted by expert and
// every expert's rows are padded to a multiple of blockRows. Bit-identical to the host's
// Router.route(..., NEAREST, blockRows) + Routing.of. Host side: dev.sparsetrain.cuda.RoutingKernels.
//
// Three launches, no atomics, so the result does not depend on timing:
//   sparse_route_count    a block per tile of ROUTE_TILE tokens: how many of the tile's tokens each
//                         expert gets, into tileRows [experts][tiles];
//   sparse_route_offsets  one block: per expert the total and the padded offsets (countsAndOffsets),
//                         tileRows rewritten in place to each tile's first row per expert (an
//                         exclusive prefix over the tiles, plus the expert's offset), and -1 in the
//                         padding rows of perm;
//   sparse_route_scatter  a block per tile again: each token's row is its tile's first row for its
//                         expert plus the tokens of that expert before it in the tile (earlier rounds,
//                         earlier warps, lower lanes), so tokens keep their order: a stable sort.
// A tile is ROUTE_ROUNDS rounds of ROUTE_THREADS consecutive tokens, a token per thread per round.
// Lane e of a warp counts expert e and warp e scans expert e, hence at most 32 experts.

constexpr int ROUTE_THREADS = 1024;
constexpr int ROUTE_WARPS = ROUTE_THREADS / 32;
constexpr int ROUTE_ROUNDS = 4;
constexpr int ROUTE_TILE = ROUTE_THREADS * ROUTE_ROUNDS;
constexpr int ROUTE_MAX_EXPERTS = 32;
constexpr unsigned int ROUTE_ALL_LANES = 0xFFFFFFFFu;

// Router.nearest exactly: scanning upward, an expert replaces the best only with a strictly lower
// score. So ties keep the lower expert, a NaN score never wins, and a NaN for expert 0 keeps
// expert 0 (nothing compares below NaN); -0 and +0 tie. No fast-math: the comparison is IEEE.
__host__ __device__ inline int sparse_route_nearest(const float* row, int experts) {
    int best = 0;
    float bestScore = row[0];
    for (int e = 1; e < experts; e++) {
        float s = row[e];
        if (s < bestScore) {
            best = e;
            bestScore = s;
        }
    }
    return best;
}

// The expert of token t, or -1 past the last token (a thread of the last tile with no token).
__host__ __device__ inline int sparse_route_expert_of(const float* scores, long long t, int tokens, int experts) {
    return t < tokens ? sparse_route_nearest(scores + t * experts, experts) : -1;
}

// A warp's vote on its 32 tokens' experts (-1: no token). Returns the lanes whose token has this
// lane's expert (0 without a token); laneCount becomes the warp's tokens of expert `lane`.
__device__ inline unsigned int sparse_route_vote(int expert, int experts, int lane, int& laneCount) {
    unsigned int peers = 0;
    laneCount = 0;
    for (int e = 0; e < experts; e++) {
        unsigned int voters = __ballot_sync(ROUTE_ALL_LANES, expert == e);
        if (expert == e) peers = voters;
        if (lane == e) laneCount = __popc(voters);
    }
    return peers;
}

__device__ inline int sparse_route_warp_sum(int x) {
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(ROUTE_ALL_LANES, x, o);
    return x;
}

// The inclusive prefix sum over the warp's lanes.
__device__ inline int sparse_route_warp_inclusive(int x, int lane) {
    for (int o = 1; o < 32; o <<= 1) {
        int below = __shfl_up_sync(ROUTE_ALL_LANES, x, o);
        if (lane >= o) x += below;
    }
    return x;
}

// The experts of this thread's tokens in every round of tile `tile`. All rounds' scores are loaded
// before any vote, so their latencies overlap.
__device__ inline void sparse_route_tile_experts(int expertOf[ROUTE_ROUNDS], const float* scores, int tile, int tokens, int experts) {
    long long t0 = (long long) tile * ROUTE_TILE + threadIdx.x;
#pragma unroll
    for (int r = 0; r < ROUTE_ROUNDS; r++) expertOf[r] = sparse_route_expert_of(scores, t0 + (long long) r * ROUTE_THREADS, tokens, experts);
}

// tileRows[e * tiles + tile] = the tile's tokens of expert e, for the tile = blockIdx.x of tiles = gridDim.x.
extern "C" __global__ void __launch_bounds__(ROUTE_THREADS)
sparse_route_count(int* tileRows, const float* scores, int tokens, int experts) {
    // +1: the column reads below (warp e reads expert e of every warp) hit distinct banks.
    __shared__ int warpCounts[ROUTE_WARPS][ROUTE_MAX_EXPERTS + 1];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int expertOf[ROUTE_ROUNDS];
    sparse_route_tile_experts(expertOf, scores, blockIdx.x, tokens, experts);
    int count = 0;  // lane e: this warp's tokens of expert e over all rounds
#pragma unroll
    for (int r = 0; r < ROUTE_ROUNDS; r++) {
        int roundCount;
        sparse_route_vote(expertOf[r], experts, lane, roundCount);
        count += roundCount;
    }
    if (lane < experts) warpCounts[warp][lane] = count;
    __syncthreads();
    if (warp < experts) {
        int total = sparse_route_warp_sum(warpCounts[lane][warp]);
        if (lane == 0) tileRows[(long long) warp * gridDim.x + blockIdx.x] = total;
    }
}

// One block. In: tileRows [experts][tiles] the tiles' counts. Out: countsAndOffsets = counts[experts]
// then offsets[experts + 1] with offsets[e + 1] = offsets[e] + roundUp(counts[e], blockRows);
// tileRows[e][tile] = offsets[e] + the tokens of expert e in earlier tiles; perm = -1 at the padding
// rows offsets[e] + counts[e] .. offsets[e + 1] - 1 (the scatter writes every other row).
extern "C" __global__ void __launch_bounds__(ROUTE_THREADS)
sparse_route_offsets(int* perm, int* countsAndOffsets, int* tileRows, int tiles, int experts, int blockRows) {
    __shared__ int counts[ROUTE_MAX_EXPERTS];
    __shared__ int offsets[ROUTE_MAX_EXPERTS + 1];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (warp < experts) {  // warp e sums expert e's tiles
        const int* rows = tileRows + (long long) warp * tiles;
        int sum = 0;
        for (int i = lane; i < tiles; i += 32) sum += rows[i];
        sum = sparse_route_warp_sum(sum);
        if (lane == 0) counts[warp] = sum;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        // The host bounds tokens + experts * (blockRows - 1), so no sum here overflows an int.
        int offset = 0;
        offsets[0] = 0;
        for (int e = 0; e < experts; e++) {
            offset += (counts[e] + blockRows - 1) / blockRows * blockRows;
            offsets[e + 1] = offset;
        }
    }
    __syncthreads();
    if (threadIdx.x < experts) countsAndOffsets[threadIdx.x] = counts[threadIdx.x];
    if (threadIdx.x <= experts) countsAndOffsets[experts + threadIdx.x] = offsets[threadIdx.x];
    if (warp < experts) {
        int* rows = tileRows + (long long) warp * tiles;
        int next = offsets[warp];
        for (int i0 = 0; i0 < tiles; i0 += 32) {
            int i = i0 + lane;
            int count = i < tiles ? rows[i] : 0;
            int inclusive = sparse_route_warp_inclusive(count, lane);
            if (i < tiles) rows[i] = next + inclusive - count;
            next += __shfl_sync(ROUTE_ALL_LANES, inclusive, 31);
        }
    }
    for (int e = 0; e < experts; e++) {
        for (int row = offsets[e] + counts[e] + threadIdx.x; row < offsets[e + 1]; row += ROUTE_THREADS) perm[row] = -1;
    }
}

// perm[row] = t for every token t of the tile blockIdx.x (of tiles = gridDim.x), tileRows as
// sparse_route_offsets left it. Round by round: the warps' counts per expert, their exclusive prefix
// over the warps (warp e for expert e, carrying the expert's next row across rounds), then each token
// at its warp's first row for its expert plus its rank among the lower lanes of that expert.
extern "C" __global__ void __launch_bounds__(ROUTE_THREADS)
sparse_route_scatter(int* perm, const float* scores, const int* tileRows, int tokens, int experts) {
    // Expert e's first row for each warp's tokens in this round; +1 as in sparse_route_count.
    __shared__ int warpRows[ROUTE_WARPS][ROUTE_MAX_EXPERTS + 1];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int next = warp < experts ? tileRows[(long long) warp * gridDim.x + blockIdx.x] : 0;
    int expertOf[ROUTE_ROUNDS];
    sparse_route_tile_experts(expertOf, scores, blockIdx.x, tokens, experts);
#pragma unroll  // expertOf stays in registers only if every index is a constant
    for (int r = 0; r < ROUTE_ROUNDS; r++) {
        int count;
        unsigned int peers = sparse_route_vote(expertOf[r], experts, lane, count);
        if (lane < experts) warpRows[warp][lane] = count;
        __syncthreads();
        if (warp < experts) {
            int c = warpRows[lane][warp];  // lane w: warp w's tokens of expert `warp`
            int inclusive = sparse_route_warp_inclusive(c, lane);
            warpRows[lane][warp] = next + inclusive - c;
            next += __shfl_sync(ROUTE_ALL_LANES, inclusive, 31);
        }
        __syncthreads();
        if (expertOf[r] >= 0) {
            long long t = (long long) blockIdx.x * ROUTE_TILE + (long long) r * ROUTE_THREADS + threadIdx.x;
            perm[warpRows[warp][expertOf[r]] + __popc(peers & ((1u << lane) - 1u))] = (int) t;
        }
        // warpRows is rewritten by the next round. Only a warp's own lanes still read its row here, and
        // the next round's ballots come first, but CUDA promises memory ordering at __syncwarp and
        // __syncthreads, not at a ballot.
        __syncthreads();
    }
}
