// Runs the kernels of sparse_routing.cu on the CPU, for RoutingKernelsEmulationTest (no GPU needed).
//
// The kernel source is compiled here as plain host C++: the CUDA keywords become nothing (__shared__
// becomes static, one copy for the block that runs), and the intrinsics it uses are defined below.
// Every CUDA thread of a block is a fiber (ucontext) on one OS thread. A fiber runs until it reaches
// __syncthreads or a warp collective (ballot, shuffle); then the others run. A barrier opens when
// every thread of the block waits at it; a collective when all 32 lanes of the warp reach it, with
// the full mask and the same operation, and each lane's result is computed from every lane's input,
// as on the GPU. Blocks run one after another. Every buffer is surrounded by guard bytes that must
// be intact after each launch, so no write lands outside a buffer. "reverse" runs the fibers in
// reverse order between barriers, to expose a read that relies on which thread happened to run first.
//
// Usage: emulator DIR forward|reverse. DIR/launches.txt holds lines
//   buffer NAME BYTES                         (contents from DIR/NAME.bin, BYTES long)
//   launch KERNEL GX GY GZ BX BY SHARED N ARG...  (ARG: p:NAME+BYTEOFFSET or i:VALUE)
// Afterwards every buffer's bytes go to DIR/NAME.out.

#include <ucontext.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __shared__ static
#define __launch_bounds__(...)

struct uint3 {
    unsigned int x, y, z;
};
static uint3 threadIdx, blockIdx, blockDim, gridDim;

namespace emu {

[[noreturn]] void fail(const char* format, ...) {
    va_list args;
    va_start(args, format);
    std::fprintf(stderr, "emulator: block %u thread %u: ", blockIdx.x, threadIdx.x);
    std::vfprintf(stderr, format, args);
    std::fprintf(stderr, "\n");
    va_end(args);
    std::exit(3);
}

enum Wait { RUNNING, BLOCK_BARRIER, WARP_COLLECTIVE, DONE };

struct Fiber {
    ucontext_t context;
    std::vector<char> stack;
    Wait state;
};

constexpr size_t STACK_BYTES = 64 * 1024;
constexpr int LANES = 32;

std::vector<Fiber> fibers;
ucontext_t scheduler;
int current;
void (*body)();

// A warp collective's inputs, one slot per thread of the block; kind names the operation so that
// lanes meeting at different collectives are caught.
std::vector<int> slotValue, slotKind;

void suspend(Wait why) {
    fibers[current].state = why;
    swapcontext(&fibers[current].context, &scheduler);
}

void entry() {
    body();
    fibers[current].state = DONE;
    swapcontext(&fibers[current].context, &scheduler);
}

// Deposits this lane's input, waits for the whole warp, returns every lane's input (in lane order),
// then waits again, so no lane overwrites its slot before all have read theirs.
std::vector<int> exchange(int kind, unsigned int mask, int value) {
    if (mask != 0xFFFFFFFFu) fail("warp collective with mask 0x%08x; these kernels always use the full warp", mask);
    int me = current, warp0 = me / LANES * LANES;
    slotValue[me] = value;
    slotKind[me] = kind;
    suspend(WARP_COLLECTIVE);
    std::vector<int> values(LANES);
    for (int l = 0; l < LANES; l++) {
        if (slotKind[warp0 + l] != kind) fail("lanes of one warp meet at different collectives (%d vs %d)", slotKind[warp0 + l], kind);
        values[l] = slotValue[warp0 + l];
    }
    suspend(WARP_COLLECTIVE);
    return values;
}

// Runs one block: every fiber until it waits, then opens what can open, until all are done.
void runBlock(void (*kernel)(), bool reverse) {
    int threads = (int) (blockDim.x * blockDim.y);
    if (threads % LANES != 0) fail("a block of %d threads is not whole warps", threads);
    fibers.resize(threads);
    slotValue.assign(threads, 0);
    slotKind.assign(threads, -1);
    body = kernel;
    for (int i = 0; i < threads; i++) {
        Fiber& f = fibers[i];
        f.stack.resize(STACK_BYTES);
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = f.stack.data();
        f.context.uc_stack.ss_size = f.stack.size();
        f.context.uc_link = nullptr;
        makecontext(&f.context, entry, 0);
        f.state = RUNNING;
    }
    for (;;) {
        for (int k = 0; k < threads; k++) {
            int i = reverse ? threads - 1 - k : k;
            if (fibers[i].state != RUNNING) continue;
            current = i;
            threadIdx = {(unsigned int) i, 0, 0};
            swapcontext(&scheduler, &fibers[i].context);
        }
        int done = 0, atBarrier = 0;
        bool opened = false;
        for (int w = 0; w < threads / LANES; w++) {
            int waiting = 0;
            for (int l = 0; l < LANES; l++) waiting += fibers[w * LANES + l].state == WARP_COLLECTIVE;
            if (waiting == LANES) {
                for (int l = 0; l < LANES; l++) fibers[w * LANES + l].state = RUNNING;
                opened = true;
            }
        }
        if (opened) continue;
        for (Fiber& f : fibers) {
            done += f.state == DONE;
            atBarrier += f.state == BLOCK_BARRIER;
        }
        if (done == threads) return;
        if (atBarrier == threads) {
            for (Fiber& f : fibers) f.state = RUNNING;
            continue;
        }
        fail("deadlock: %d threads done, %d at __syncthreads, %d in warp collectives whose warps never fill", done, atBarrier,
             threads - done - atBarrier);
    }
}

}  // namespace emu

static void __syncthreads() { emu::suspend(emu::BLOCK_BARRIER); }

static int __popc(unsigned int x) { return __builtin_popcount(x); }

static unsigned int __ballot_sync(unsigned int mask, int predicate) {
    std::vector<int> votes = emu::exchange(1, mask, predicate != 0);
    unsigned int bits = 0;
    for (int l = 0; l < emu::LANES; l++) bits |= (unsigned int) votes[l] << l;
    return bits;
}

static int __shfl_sync(unsigned int mask, int value, int src) {
    return emu::exchange(2, mask, value)[src & (emu::LANES - 1)];
}

static int __shfl_up_sync(unsigned int mask, int value, unsigned int delta) {
    int lane = emu::current % emu::LANES;
    std::vector<int> values = emu::exchange(3, mask, value);
    return lane >= (int) delta ? values[lane - delta] : value;
}

static int __shfl_xor_sync(unsigned int mask, int value, int laneMask) {
    int lane = emu::current % emu::LANES;
    return emu::exchange(4, mask, value)[(lane ^ laneMask) & (emu::LANES - 1)];
}

#include "sparse_routing.cu"

namespace emu {

constexpr size_t GUARD = 256;
constexpr unsigned char GUARD_BYTE = 0xA5;

struct Buffer {
    std::vector<unsigned char> storage;  // GUARD bytes, the contents, GUARD bytes
    size_t bytes;
    unsigned char* data() { return storage.data() + GUARD; }
};

std::map<std::string, Buffer> buffers;

struct Arg {
    bool pointer;
    long long value;
    void* address;
};

void* pointer(const Arg& a) {
    if (!a.pointer) fail("a pointer parameter got the integer %lld", a.value);
    return a.address;
}

int integer(const Arg& a) {
    if (a.pointer) fail("an int parameter got a pointer");
    return (int) a.value;
}

std::vector<Arg> args;

void countKernel() {
    sparse_route_count((int*) pointer(args[0]), (const float*) pointer(args[1]), integer(args[2]), integer(args[3]));
}

void offsetsKernel() {
    sparse_route_offsets((int*) pointer(args[0]), (int*) pointer(args[1]), (int*) pointer(args[2]), integer(args[3]), integer(args[4]),
                         integer(args[5]));
}

void scatterKernel() {
    sparse_route_scatter((int*) pointer(args[0]), (const float*) pointer(args[1]), (const int*) pointer(args[2]), integer(args[3]),
                         integer(args[4]));
}

struct Kernel {
    const char* name;
    void (*body)();
    int parameters;
};
const Kernel KERNELS[] = {{"sparse_route_count", countKernel, 4}, {"sparse_route_offsets", offsetsKernel, 6}, {"sparse_route_scatter", scatterKernel, 5}};

void checkGuards(const std::string& kernel) {
    for (auto& [name, b] : buffers) {
        for (size_t i = 0; i < GUARD; i++) {
            if (b.storage[i] != GUARD_BYTE || b.storage[GUARD + b.bytes + i] != GUARD_BYTE) {
                std::fprintf(stderr, "emulator: %s wrote outside buffer %s (%zu bytes)\n", kernel.c_str(), name.c_str(), b.bytes);
                std::exit(3);
            }
        }
    }
}

}  // namespace emu

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s DIR forward|reverse\n", argv[0]);
        return 2;
    }
    std::string dir = argv[1];
    bool reverse = std::string(argv[2]) == "reverse";
    std::ifstream in(dir + "/launches.txt");
    if (!in) {
        std::perror("launches.txt");
        return 3;
    }
    std::string word;
    while (in >> word) {
        if (word == "buffer") {
            std::string name;
            size_t bytes;
            in >> name >> bytes;
            emu::Buffer& b = emu::buffers[name];
            b.bytes = bytes;
            b.storage.assign(bytes + 2 * emu::GUARD, emu::GUARD_BYTE);
            std::ifstream data(dir + "/" + name + ".bin", std::ios::binary);
            if (!data.read(reinterpret_cast<char*>(b.data()), (std::streamsize) bytes)) emu::fail("cannot read %zu bytes of %s.bin", bytes, name.c_str());
        } else if (word == "launch") {
            std::string kernel;
            int n;
            in >> kernel >> gridDim.x >> gridDim.y >> gridDim.z >> blockDim.x >> blockDim.y;
            int shared;
            in >> shared >> n;
            blockDim.z = 1;
            if (gridDim.y != 1 || gridDim.z != 1 || blockDim.y != 1 || shared != 0) emu::fail("%s: only 1-D grids without dynamic shared memory", kernel.c_str());
            emu::args.clear();
            for (int i = 0; i < n; i++) {
                std::string a;
                in >> a;
                emu::Arg arg{};
                if (a.rfind("p:", 0) == 0) {
                    size_t plus = a.find('+');
                    std::string name = a.substr(2, plus - 2);
                    auto it = emu::buffers.find(name);
                    if (it == emu::buffers.end()) emu::fail("%s: argument %d names no buffer %s", kernel.c_str(), i, name.c_str());
                    arg.pointer = true;
                    arg.address = it->second.data() + std::stoull(a.substr(plus + 1));
                } else {
                    arg.value = std::stoll(a.substr(2));
                }
                emu::args.push_back(arg);
            }
            const emu::Kernel* k = nullptr;
            for (const emu::Kernel& candidate : emu::KERNELS) {
                if (kernel == candidate.name) k = &candidate;
            }
            if (!k) emu::fail("no kernel %s", kernel.c_str());
            if (n != k->parameters) emu::fail("%s takes %d arguments, the launch passed %d", kernel.c_str(), k->parameters, n);
            for (unsigned int b = 0; b < gridDim.x; b++) {
                blockIdx = {b, 0, 0};
                emu::runBlock(k->body, reverse);
            }
            emu::checkGuards(kernel);
        } else {
            emu::fail("launches.txt: unknown line '%s'", word.c_str());
        }
    }
    for (auto& [name, b] : emu::buffers) {
        std::ofstream out(dir + "/" + name + ".out", std::ios::binary);
        out.write(reinterpret_cast<const char*>(b.data()), (std::streamsize) b.bytes);
    }
    return 0;
}
