// Runs the kernels of attention_fa2.cu on the CPU, for AttentionFa2EmulationTest (no GPU needed).
//
// The kernel source is compiled here as plain host C++ with ATTENTION_FA2_HOST_EMULATION defined, so
// its inline-PTX primitives are left out and the definitions below take their place. Every CUDA
// thread of a block is a fiber (ucontext) on one OS thread; a fiber runs until it reaches a barrier
// (__syncthreads, or the warp-wide exchange inside ldmatrix, mma.sync and shuffles) and the
// scheduler then runs the others, so the 32 lanes of a warp meet at every collective as on the GPU.
// Blocks run one after another. What it checks besides the results: every shared memory address
// (ldmatrix, cp.async, ld/st.shared) is inside the launch's dynamic shared memory and aligned to
// its access, every global cp.async
// source and reduction address is inside a buffer the test made, no write lands past the shared
// memory a launch asked for or past a buffer's ends, nothing waits at barriers that never fill, and
// no thread ends with cp.async copies it never waited for. Shared memory starts each block as NaN
// bytes, so reading what no one wrote shows up in the results.
//
// Two knobs expose ordering mistakes: "late" performs each cp.async at the wait that covers it (data
// read before its wait is stale), "early" at issue (a prefetch that overwrites a buffer still in use
// corrupts it); "reverse" runs the fibers in reverse order between barriers.
//
// Usage: emulator INPUT OUTPUT early|late forward|reverse. INPUT (little-endian): "FA2E"; int32 buffer
// count, per buffer int64 device address, int64 bytes, the bytes; int32 launch count, per launch
// int32 name length, name, int32 grid x, y, z, block x, y, shared bytes, int32 argument count, per
// argument int32 tag (0 pointer or 64-bit integer, 1 int, 2 float bits) and int64 value. OUTPUT: every
// buffer's bytes after the launches, in input order.

#include <ucontext.h>

#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__
#define __launch_bounds__(...)
#define ATTENTION_FA2_HOST_EMULATION 1

struct uint3 {
    unsigned int x, y, z;
};
struct alignas(16) uint4 {
    unsigned int x, y, z, w;
};
static uint3 threadIdx, blockIdx, blockDim, gridDim;
extern uint4 fa2_smem[];

static inline int min(int a, int b) { return a < b ? a : b; }
static inline float __int_as_float(int bits) {
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

namespace emu {

[[noreturn]] void fail(const char* format, ...) {
    va_list args;
    va_start(args, format);
    std::fprintf(stderr, "emulator: block (%u,%u,%u) thread %u: ", blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x);
    std::vfprintf(stderr, format, args);
    std::fprintf(stderr, "\n");
    va_end(args);
    std::exit(3);
}

constexpr size_t GUARD = 256;                 // bytes checked on each side of a buffer, after shared memory
constexpr size_t SHARED_CAPACITY = 232448;    // 227 KiB, Hopper's largest block allocation
constexpr unsigned char GUARD_BYTE = 0xA5;

struct Buffer {
    uint64_t device;
    size_t bytes;
    unsigned char* host;  // GUARD bytes after the start of its allocation, 256-byte aligned like the device's
};
std::vector<Buffer> buffers;
size_t sharedBytes;

bool inGlobal(const void* p, size_t n) {
    auto c = static_cast<const unsigned char*>(p);
    for (const Buffer& b : buffers) {
        if (c >= b.host && c + n <= b.host + b.bytes) return true;
    }
    return false;
}

unsigned char* shared() { return reinterpret_cast<unsigned char*>(fa2_smem); }

// A shared-window address (the kernels' 32-bit addresses are byte offsets from the start of
// fa2_smem here) checked to lie inside the launch's shared memory with `bytes` bytes, aligned to them.
unsigned char* sharedAt(unsigned int address, size_t bytes, const char* what) {
    if (address + bytes > sharedBytes || address % bytes != 0) {
        fail("%s of %zu bytes at shared offset %u: outside the launch's %zu bytes or not aligned", what, bytes, address, sharedBytes);
    }
    return shared() + address;
}

// ---- fibers and barriers ----

struct Copy {
    unsigned char* dst;
    const unsigned char* src;  // null: zero-fill
    size_t bytes;
    int group;                 // -1 until committed
};

struct Fiber {
    ucontext_t context;
    int waitingOn;
    bool done;
    std::vector<Copy> pending;
    int committed;
};

bool lateCopies, reverseOrder;
std::vector<Fiber> fibers;
std::vector<std::vector<char>> stacks;
ucontext_t scheduler;
int current;
constexpr size_t STACK_BYTES = 256 * 1024;

struct Barrier {
    int expected, arrived;
};
Barrier barriers[1 + 32];  // 0: the block; 1 + w: warp w

int warp() { return threadIdx.x / 32; }
int lane() { return threadIdx.x % 32; }

// Waits until every participant of barrier `id` has arrived.
void arrive(int id) {
    Barrier& b = barriers[id];
    if (++b.arrived == b.expected) {
        b.arrived = 0;
        for (Fiber& f : fibers) {
            if (f.waitingOn == id) f.waitingOn = -1;
        }
        return;
    }
    int me = current;
    fibers[me].waitingOn = id;
    swapcontext(&fibers[me].context, &scheduler);
}

void warpSync() { arrive(1 + warp()); }

// Per lane: what it contributes to the warp's current collective.
struct Lane {
    uint32_t words[8];
    const unsigned char* address;
};
Lane exchange[32][32];

void copy(const Copy& c) {
    if (c.src == nullptr) std::memset(c.dst, 0, c.bytes);
    else std::memcpy(c.dst, c.src, c.bytes);
}

void asyncCopy(unsigned int dst, const void* src, size_t bytes, bool valid) {
    unsigned char* to = sharedAt(dst, bytes, "cp.async destination");
    if (valid && (!inGlobal(src, bytes) || reinterpret_cast<uintptr_t>(src) % bytes != 0)) {
        fail("%zu-byte cp.async source %p is outside every buffer or not aligned", bytes, src);
    }
    Copy c{to, valid ? static_cast<const unsigned char*>(src) : nullptr, bytes, -1};
    if (lateCopies) fibers[current].pending.push_back(c);
    else copy(c);
}

void commit() {
    Fiber& f = fibers[current];
    for (Copy& c : f.pending) {
        if (c.group < 0) c.group = f.committed;
    }
    f.committed++;
}

void waitGroups(int n) {
    Fiber& f = fibers[current];
    std::vector<Copy> still;
    for (const Copy& c : f.pending) {
        if (c.group >= 0 && c.group < f.committed - n) copy(c);
        else still.push_back(c);
    }
    f.pending.swap(still);
}

void ldmatrix(unsigned int (&r)[4], unsigned int address, bool trans) {
    const unsigned char* row = sharedAt(address, 16, "ldmatrix row");
    const int w = warp(), l = lane();
    exchange[w][l].address = row;
    warpSync();
    unsigned int result[4];
    for (int j = 0; j < 4; j++) {
        if (!trans) {
            std::memcpy(&result[j], exchange[w][8 * j + l / 4].address + 4 * (l % 4), 4);
        } else {
            uint16_t lo, hi;
            std::memcpy(&lo, exchange[w][8 * j + 2 * (l % 4)].address + 2 * (l / 4), 2);
            std::memcpy(&hi, exchange[w][8 * j + 2 * (l % 4) + 1].address + 2 * (l / 4), 2);
            result[j] = lo | static_cast<unsigned int>(hi) << 16;
        }
    }
    warpSync();
    for (int j = 0; j < 4; j++) r[j] = result[j];
}

float bf16(uint32_t word, int upper) {
    uint32_t bits = upper ? word & 0xFFFF0000u : word << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

// The m16n8k16 fragment maps of the PTX ISA, read back from the lanes' registers.
float fragmentA(int w, int row, int k) {  // a0 = A[g][2t..], a1 = A[g+8][2t..], a2 = A[g][2t+8..], a3 = A[g+8][2t+8..]
    const int g = row % 8, t = (k % 8) / 2, reg = (row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0);
    return bf16(exchange[w][4 * g + t].words[reg], k % 2);
}

float fragmentB(int w, int k, int n) {  // b0 = B[2t..2t+1][g], b1 = B[2t+8..2t+9][g]
    const int t = (k % 8) / 2, reg = 4 + (k >= 8 ? 1 : 0);
    return bf16(exchange[w][4 * n + t].words[reg], k % 2);
}

void mma(float (&d)[4], const unsigned int (&a)[4], unsigned int b0, unsigned int b1) {
    const int w = warp(), l = lane(), g = l / 4, t = l % 4;
    for (int i = 0; i < 4; i++) exchange[w][l].words[i] = a[i];
    exchange[w][l].words[4] = b0;
    exchange[w][l].words[5] = b1;
    warpSync();
    float result[4];
    for (int e = 0; e < 4; e++) {  // c0, c1 = C[g][2t..2t+1]; c2, c3 = C[g+8][2t..2t+1]
        const int row = g + (e >= 2 ? 8 : 0), col = 2 * t + (e & 1);
        float sum = d[e];
        for (int k = 0; k < 16; k++) sum += fragmentA(w, row, k) * fragmentB(w, k, col);
        result[e] = sum;
    }
    warpSync();
    for (int e = 0; e < 4; e++) d[e] = result[e];
}

uint32_t bf16Bits(float f) {  // nearest, ties to even; a NaN stays a quiet NaN
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return (bits >> 16) | 0x0040u;
    return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
}

}  // namespace emu

// ---- the primitives the kernel source leaves to its host ----

static inline void __syncthreads() { emu::arrive(0); }

static inline float __shfl_xor_sync(unsigned int mask, float v, int laneMask) {
    if (mask != 0xffffffffu) emu::fail("__shfl_xor_sync with a partial mask 0x%x", mask);
    const int w = emu::warp(), l = emu::lane();
    std::memcpy(&emu::exchange[w][l].words[0], &v, 4);
    emu::warpSync();
    float r;
    std::memcpy(&r, &emu::exchange[w][l ^ laneMask].words[0], 4);
    emu::warpSync();
    return r;
}

static inline unsigned int fa2_shared_address(const void* p) {
    return static_cast<unsigned int>(static_cast<const unsigned char*>(p) - emu::shared());
}
static inline void fa2_cp_async_16(unsigned int dst, const void* src, bool valid) { emu::asyncCopy(dst, src, 16, valid); }
static inline void fa2_cp_async_4(unsigned int dst, const void* src, bool valid) { emu::asyncCopy(dst, src, 4, valid); }
static inline void fa2_cp_async_commit() { emu::commit(); }
template <int N>
static inline void fa2_cp_async_wait() { emu::waitGroups(N); }
static inline void fa2_ldmatrix_x4(unsigned int (&r)[4], unsigned int rowAddress) { emu::ldmatrix(r, rowAddress, false); }
static inline void fa2_ldmatrix_x4_trans(unsigned int (&r)[4], unsigned int rowAddress) { emu::ldmatrix(r, rowAddress, true); }
static inline void fa2_store_shared(unsigned int address, unsigned int value) {
    std::memcpy(emu::sharedAt(address, 4, "st.shared"), &value, 4);
}
static inline float fa2_load_shared(unsigned int address) {
    float value;
    std::memcpy(&value, emu::sharedAt(address, 4, "ld.shared"), 4);
    return value;
}
static inline void fa2_mma(float (&d)[4], const unsigned int (&a)[4], unsigned int b0, unsigned int b1) { emu::mma(d, a, b0, b1); }
static inline unsigned int fa2_pack_bf16(float lo, float hi) { return emu::bf16Bits(lo) | emu::bf16Bits(hi) << 16; }
static inline void fa2_red_add_v2(float* address, float a, float b) {
    if (!emu::inGlobal(address, 8) || reinterpret_cast<uintptr_t>(address) % 8 != 0) {
        emu::fail("red.global.add.v2.f32 at %p: outside every buffer or not 8-byte aligned", static_cast<void*>(address));
    }
    address[0] += a;
    address[1] += b;
}

#include "attention_fa2.cu"

alignas(128) uint4 fa2_smem[(emu::SHARED_CAPACITY + emu::GUARD) / 16];

namespace emu {

struct Arg {
    int32_t tag;
    int64_t value;
};

void* pointer(const Arg& a) {
    if (a.tag != 0) fail("a pointer parameter got an argument of tag %d", a.tag);
    const uint64_t v = static_cast<uint64_t>(a.value);
    for (const Buffer& b : buffers) {
        if (v >= b.device && v < b.device + b.bytes) return b.host + (v - b.device);
    }
    fail("pointer argument 0x%llx is in no buffer", static_cast<unsigned long long>(v));
}

long long int64(const Arg& a) {
    if (a.tag != 0) fail("a long long parameter got an argument of tag %d", a.tag);
    return a.value;
}

int int32(const Arg& a) {
    if (a.tag != 1) fail("an int parameter got an argument of tag %d", a.tag);
    return static_cast<int>(a.value);
}

float float32(const Arg& a) {
    if (a.tag != 2) fail("a float parameter got an argument of tag %d", a.tag);
    const uint32_t bits = static_cast<uint32_t>(a.value);
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

void expectArguments(const std::string& name, const std::vector<Arg>& args, size_t count) {
    if (args.size() != count) fail("kernel %s takes %zu arguments, the launch passed %zu", name.c_str(), count, args.size());
}

}  // namespace emu

// dispatch(name, args): generated by the test from the kernels' declared parameter lists.
#include "attention_fa2_dispatch.inc"

namespace emu {

std::string launchName;
std::vector<Arg> launchArgs;

void fiberMain() {
    dispatch(launchName, launchArgs);
    Fiber& f = fibers[current];
    if (!f.pending.empty()) fail("the thread ended with %zu cp.async copies it never waited for", f.pending.size());
    f.done = true;
}

void runBlock() {
    const int threads = static_cast<int>(blockDim.x);
    std::memset(shared(), 0xFF, sharedBytes);
    std::memset(shared() + sharedBytes, GUARD_BYTE, GUARD);
    barriers[0] = Barrier{threads, 0};
    for (int w = 0; w < threads / 32; w++) barriers[1 + w] = Barrier{32, 0};
    fibers.assign(threads, Fiber{});
    if (stacks.size() < fibers.size()) stacks.resize(fibers.size(), std::vector<char>(STACK_BYTES));
    for (int i = 0; i < threads; i++) {
        Fiber& f = fibers[i];
        f.waitingOn = -1;
        f.done = false;
        f.committed = 0;
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = stacks[i].data();
        f.context.uc_stack.ss_size = STACK_BYTES;
        f.context.uc_link = &scheduler;
        makecontext(&f.context, fiberMain, 0);
    }
    int remaining = threads;
    while (remaining > 0) {
        bool progressed = false;
        for (int k = 0; k < threads; k++) {
            const int i = reverseOrder ? threads - 1 - k : k;
            Fiber& f = fibers[i];
            if (f.done || f.waitingOn != -1) continue;
            current = i;
            threadIdx = uint3{static_cast<unsigned int>(i), 0, 0};
            swapcontext(&scheduler, &f.context);
            progressed = true;
            if (f.done) remaining--;
        }
        if (!progressed) {
            threadIdx = uint3{0, 0, 0};
            fail("deadlock: %d threads wait at barriers that cannot fill (a barrier some threads skip?)", remaining);
        }
    }
    for (size_t i = 0; i < GUARD; i++) {
        if (shared()[sharedBytes + i] != GUARD_BYTE) fail("a write landed %zu bytes past the %zu bytes of shared memory", i, sharedBytes);
    }
}

void runLaunch(const std::string& name, const int (&shape)[6], const std::vector<Arg>& args) {
    gridDim = uint3{static_cast<unsigned int>(shape[0]), static_cast<unsigned int>(shape[1]), static_cast<unsigned int>(shape[2])};
    blockDim = uint3{static_cast<unsigned int>(shape[3]), static_cast<unsigned int>(shape[4]), 1};
    sharedBytes = static_cast<size_t>(shape[5]);
    if (shape[4] != 1 || shape[3] % 32 != 0 || shape[3] > 1024) fail("%s: block %dx%d is not whole warps in x", name.c_str(), shape[3], shape[4]);
    if (sharedBytes > SHARED_CAPACITY) fail("%s asks for %zu bytes of shared memory", name.c_str(), sharedBytes);
    launchName = name;
    launchArgs = args;
    for (unsigned int z = 0; z < gridDim.z; z++) {
        for (unsigned int y = 0; y < gridDim.y; y++) {
            for (unsigned int x = 0; x < gridDim.x; x++) {
                blockIdx = uint3{x, y, z};
                runBlock();
            }
        }
    }
}

template <typename T>
T read(FILE* in) {
    T v;
    if (std::fread(&v, sizeof v, 1, in) != 1) fail("truncated input");
    return v;
}

}  // namespace emu

int main(int argc, char** argv) {
    using namespace emu;
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s INPUT OUTPUT early|late forward|reverse\n", argv[0]);
        return 2;
    }
    lateCopies = std::strcmp(argv[3], "late") == 0;
    reverseOrder = std::strcmp(argv[4], "reverse") == 0;
    FILE* in = std::fopen(argv[1], "rb");
    if (in == nullptr) fail("cannot open %s", argv[1]);
    char magic[4];
    if (std::fread(magic, 1, 4, in) != 4 || std::memcmp(magic, "FA2E", 4) != 0) fail("%s is not an emulator input", argv[1]);
    const int32_t bufferCount = read<int32_t>(in);
    for (int32_t i = 0; i < bufferCount; i++) {
        Buffer b;
        b.device = static_cast<uint64_t>(read<int64_t>(in));
        b.bytes = static_cast<size_t>(read<int64_t>(in));
        if (b.device % 256 != 0) fail("buffer %d: device address 0x%llx is not 256-byte aligned", i, static_cast<unsigned long long>(b.device));
        auto* block = static_cast<unsigned char*>(std::aligned_alloc(256, GUARD + ((b.bytes + 255) / 256) * 256 + GUARD));
        std::memset(block, GUARD_BYTE, GUARD + ((b.bytes + 255) / 256) * 256 + GUARD);
        b.host = block + GUARD;
        if (std::fread(b.host, 1, b.bytes, in) != b.bytes) fail("truncated buffer %d", i);
        buffers.push_back(b);
    }
    const int32_t launchCount = read<int32_t>(in);
    for (int32_t i = 0; i < launchCount; i++) {
        const int32_t nameLength = read<int32_t>(in);
        std::string name(static_cast<size_t>(nameLength), ' ');
        if (std::fread(&name[0], 1, name.size(), in) != name.size()) fail("truncated launch %d", i);
        int shape[6];
        for (int& s : shape) s = read<int32_t>(in);
        const int32_t argCount = read<int32_t>(in);
        std::vector<Arg> args;
        for (int32_t a = 0; a < argCount; a++) {
            Arg arg;
            arg.tag = read<int32_t>(in);
            arg.value = read<int64_t>(in);
            args.push_back(arg);
        }
        runLaunch(name, shape, args);
    }
    std::fclose(in);
    for (const Buffer& b : buffers) {
        const size_t after = ((b.bytes + 255) / 256) * 256 - b.bytes + GUARD;
        for (size_t i = 0; i < GUARD; i++) {
            if (b.host[-1 - static_cast<long>(i)] != GUARD_BYTE) fail("a write landed before the buffer at device 0x%llx", static_cast<unsigned long long>(b.device));
        }
        for (size_t i = 0; i < after; i++) {
            if (b.host[b.bytes + i] != GUARD_BYTE) {
                fail("a write landed %zu bytes past the buffer at device 0x%llx (%zu bytes)", i, static_cast<unsigned long long>(b.device), b.bytes);
            }
        }
    }
    FILE* out = std::fopen(argv[2], "wb");
    if (out == nullptr) fail("cannot open %s", argv[2]);
    for (const Buffer& b : buffers) {
        if (std::fwrite(b.host, 1, b.bytes, out) != b.bytes) fail("cannot write %s", argv[2]);
    }
    std::fclose(out);
    return 0;
}
