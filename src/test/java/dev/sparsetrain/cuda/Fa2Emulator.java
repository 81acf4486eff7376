package dev.sparsetrain.cuda;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The kernels of {@code attention_fa2.cu} run on the CPU (test support, no GPU): a
 * {@link KernelLauncher} that records launches, with tensors at made-up device addresses whose
 * contents live here; {@link #run} replays the launches in the host emulator
 * ({@code attention_fa2_emulator.cpp}, built by {@link #compile} together with the kernel source and
 * a dispatch table generated from the kernels' declared parameters) and returns every buffer's
 * contents afterwards. So what runs is the kernel source itself, launched with the grids, shared
 * memory sizes and arguments {@link CudaKernels} chose.
 */
final class Fa2Emulator implements KernelLauncher {
    private static final String KERNEL_SOURCE = "attention_fa2.cu";
    private static final String HARNESS = "attention_fa2_emulator.cpp";

    /** How the emulator performs cp.async copies: at the covering wait ("late") or at issue ("early"). */
    enum CopyTiming { EARLY, LATE }

    /** The order in which the emulator runs a block's threads between barriers. */
    enum ThreadOrder { FORWARD, REVERSE }

    private record Launch(String kernel, int[] shape, List<Object> args) {}

    /** Buffer contents after a run, by storage. */
    record Contents(Map<CudaStorage, byte[]> bytes) {
        /** The elements of an F32 tensor. */
        float[] floats(Tensor t) {
            if (t.dtype() != DType.F32) throw new IllegalArgumentException("not an F32 tensor: " + t);
            ByteBuffer b = ByteBuffer.wrap(bytes.get((CudaStorage) t.storage())).order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[Math.toIntExact(t.numel())];
            for (int i = 0; i < out.length; i++) out[i] = b.getFloat((int) (t.offset() + i) * 4);
            return out;
        }
    }

    private final List<Launch> launches = new ArrayList<>();
    private final Map<CudaStorage, byte[]> contents = new IdentityHashMap<>();
    private final List<CudaStorage> order = new ArrayList<>();
    private long nextAddress = 0x7e00_0000_0000L;
    private int allocations;

    /**
     * Builds the emulator in {@code dir} with {@code nvcc} (as a host C++ compiler) and returns the
     * program. The kernel source is read from the class path, as the backend reads it.
     */
    static Path compile(Path nvcc, Path dir) throws IOException, InterruptedException {
        Files.writeString(dir.resolve(KERNEL_SOURCE), KernelSignatures.text(KERNEL_SOURCE));
        Files.writeString(dir.resolve("attention_fa2_dispatch.inc"), dispatch(KernelSignatures.parse(KERNEL_SOURCE, KernelSignatures.text(KERNEL_SOURCE))));
        Path harness = dir.resolve(HARNESS);
        try (InputStream in = Fa2Emulator.class.getResourceAsStream(HARNESS)) {
            if (in == null) throw new IllegalStateException(HARNESS + " is not on the test class path");
            Files.write(harness, in.readAllBytes());
        }
        Path program = dir.resolve("attention_fa2_emulator");
        run(List.of(nvcc.toString(), "-x", "c++", "-std=c++17", "-O2", "-o", program.toString(), harness.toString()), 300);
        return program;
    }

    /** C++ that calls each kernel with its launch arguments converted to the declared parameter types. */
    static String dispatch(List<KernelSignatures.Kernel> kernels) {
        var s = new StringBuilder("static void dispatch(const std::string& name, const std::vector<emu::Arg>& args) {\n");
        for (var k : kernels) {
            s.append("    if (name == \"").append(k.name()).append("\") {\n");
            s.append("        emu::expectArguments(name, args, ").append(k.params().size()).append(");\n");
            s.append("        ").append(k.name()).append('(');
            for (int i = 0; i < k.params().size(); i++) {
                var p = k.params().get(i);
                if (i > 0) s.append(", ");
                String arg = "args[" + i + "]";
                s.append(p.type().endsWith("*") ? "static_cast<" + p.type() + ">(emu::pointer(" + arg + "))" : switch (p.type()) {
                    case "long long" -> "emu::int64(" + arg + ")";
                    case "int" -> "emu::int32(" + arg + ")";
                    case "float" -> "emu::float32(" + arg + ")";
                    default -> throw new IllegalArgumentException(k.name() + ": parameter type " + p.type() + " has no emulator conversion");
                });
            }
            s.append(");\n        return;\n    }\n");
        }
        return s.append("    emu::fail(\"no kernel named %s in ").append(KERNEL_SOURCE).append("\", name.c_str());\n}\n").toString();
    }

    /** An F32 tensor holding {@code data}, viewed 3 floats into its storage as views into a larger buffer are (so not 16-byte aligned). */
    Tensor input(float[] data, long... shape) {
        Tensor t = storage(DType.F32, data.length + 3L, 3, shape);
        ByteBuffer b = ByteBuffer.wrap(contents.get((CudaStorage) t.storage())).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 3; i++) b.putFloat(i * 4, Float.NaN);
        for (int i = 0; i < data.length; i++) b.putFloat((3 + i) * 4, data[i]);
        return t;
    }

    /** An F32 tensor of NaNs (an output the code under test must overwrite), viewed 3 floats in like {@link #input}. */
    Tensor poisoned(long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        float[] nan = new float[Math.toIntExact(n)];
        Arrays.fill(nan, Float.NaN);
        return input(nan, shape);
    }

    /** An {@link AttentionScratch.Allocator}: a fresh 256-byte-aligned tensor whose bytes are all 0xFF (NaN as F32 and as BF16). */
    Tensor allocate(DType dtype, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        allocations++;
        return storage(dtype, n, 0, shape);
    }

    /** How many times {@link #allocate} has run. */
    int allocations() { return allocations; }

    private Tensor storage(DType dtype, long capacity, long offset, long... shape) {
        var storage = new CudaStorage(nextAddress, capacity, dtype);
        byte[] bytes = new byte[Math.toIntExact(capacity * dtype.bytes())];
        Arrays.fill(bytes, (byte) 0xFF);
        contents.put(storage, bytes);
        order.add(storage);
        nextAddress += (bytes.length + 4095L) / 4096 * 4096 + (1 << 20);
        return new Tensor(storage, dtype, offset, shape);
    }

    @Override
    public void launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int blockY, int sharedBytes, Object... args) {
        launches.add(new Launch(kernel, new int[] {gridX, gridY, gridZ, blockX, blockY, sharedBytes}, List.of(args)));
    }

    /** The names of the kernels launched so far, in order. */
    List<String> kernels() { return launches.stream().map(Launch::kernel).toList(); }

    /** Replays every launch so far on the initial contents in the emulator at {@code program}; {@code dir} holds its files. */
    Contents run(Path program, Path dir, CopyTiming timing, ThreadOrder threads) throws IOException, InterruptedException {
        Path input = dir.resolve("input.bin"), output = dir.resolve("output.bin");
        Files.write(input, encode());
        run(List.of(program.toString(), input.toString(), output.toString(), timing.name().toLowerCase(), threads.name().toLowerCase()), 600);
        ByteBuffer out = ByteBuffer.wrap(Files.readAllBytes(output));
        var result = new LinkedHashMap<CudaStorage, byte[]>();
        for (CudaStorage s : order) {
            byte[] bytes = new byte[contents.get(s).length];
            out.get(bytes);
            result.put(s, bytes);
        }
        if (out.hasRemaining()) throw new IllegalStateException("the emulator wrote " + out.remaining() + " bytes more than the buffers hold");
        return new Contents(result);
    }

    private byte[] encode() {
        long size = 12;
        for (CudaStorage s : order) size += 16 + contents.get(s).length;
        for (Launch l : launches) size += 4 + l.kernel().length() + 28 + 12L * l.args().size();
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(size)).order(ByteOrder.LITTLE_ENDIAN);
        b.put("FA2E".getBytes(StandardCharsets.US_ASCII)).putInt(order.size());
        for (CudaStorage s : order) b.putLong(s.address()).putLong(contents.get(s).length).put(contents.get(s));
        b.putInt(launches.size());
        for (Launch l : launches) {
            b.putInt(l.kernel().length()).put(l.kernel().getBytes(StandardCharsets.US_ASCII));
            for (int v : l.shape()) b.putInt(v);
            b.putInt(l.args().size());
            for (Object a : l.args()) {
                switch (a) {
                    case Long v -> b.putInt(0).putLong(v);
                    case Integer v -> b.putInt(1).putLong(v);
                    case Float v -> b.putInt(2).putLong(Integer.toUnsignedLong(Float.floatToRawIntBits(v)));
                    default -> throw new IllegalArgumentException(l.kernel() + ": argument " + a + " is not a Long, Integer or Float");
                }
            }
        }
        return b.array();
    }

    private static void run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " did not finish within " + timeoutSeconds + " s");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited with " + p.exitValue() + ":\n"
                    + new String(output, StandardCharsets.UTF_8));
        }
    }
}
