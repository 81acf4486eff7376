package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A kernel source compiled by nvcc together with a host {@code main()} into a CPU program (test
 * support): the kernels' {@code __host__ __device__} thread bodies run on the host, so their index and
 * selection logic can be compared byte for byte with the Java oracles without a GPU. Buffers travel
 * through little-endian binary files in the program's directory.
 */
final class KernelHostProgram {
    /** What every harness needs before and after the kernel source: file I/O on byte vectors. */
    private static final String PRELUDE = """
            #include <cstdio>
            #include <cstdlib>
            #include <cstring>
            #include <string>
            #include <vector>
            """;
    private static final String IO = """

            static std::vector<unsigned char> load(const std::string& path) {
                FILE* f = std::fopen(path.c_str(), "rb");
                if (!f) { std::perror(path.c_str()); std::exit(3); }
                std::vector<unsigned char> data;
                unsigned char chunk[65536];
                size_t n;
                while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) data.insert(data.end(), chunk, chunk + n);
                std::fclose(f);
                return data;
            }

            static void save(const std::string& path, const std::vector<unsigned char>& data) {
                FILE* f = std::fopen(path.c_str(), "wb");
                if (!f || std::fwrite(data.data(), 1, data.size(), f) != data.size()) { std::perror(path.c_str()); std::exit(3); }
                std::fclose(f);
            }

            template <typename T> static T* as(std::vector<unsigned char>& v) { return reinterpret_cast<T*>(v.data()); }

            """;

    private final Path program;
    private final Path dir;

    private KernelHostProgram(Path program, Path dir) {
        this.program = program;
        this.dir = dir;
    }

    /** nvcc on the PATH, or null. */
    static Path nvcc() {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String d : path.split(File.pathSeparator)) {
            Path candidate = Path.of(d, "nvcc");
            if (Files.isExecutable(candidate)) return candidate;
        }
        return null;
    }

    /** Compiles kernel resource {@code source} followed by {@code main} (which may use load, save and as) in {@code dir}. */
    static KernelHostProgram compile(Path nvcc, Path dir, String source, String main) throws IOException, InterruptedException {
        Path file = dir.resolve("host_" + source);
        Files.writeString(file, PRELUDE + KernelSignatures.text(source) + IO + main);
        Path program = dir.resolve("host_" + source.replace(".cu", ""));
        run(List.of(nvcc.toString(), "-std=c++17", "-arch=sm_90a", "-o", program.toString(), file.toString()));
        return new KernelHostProgram(program, dir);
    }

    /** Runs the program with {@code args}, then the directory it reads and writes as the last argument. */
    void run(Object... args) {
        var command = new ArrayList<String>();
        command.add(program.toString());
        for (Object a : args) command.add(String.valueOf(a));
        command.add(dir.toString());
        try {
            run(command);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A file of the program's directory. */
    Path file(String name) { return dir.resolve(name); }

    void write(String name, byte[] data) {
        try {
            Files.write(file(name), data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    byte[] read(String name) {
        try {
            return Files.readAllBytes(file(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish within 120 s");
        }
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + output);
    }
}
