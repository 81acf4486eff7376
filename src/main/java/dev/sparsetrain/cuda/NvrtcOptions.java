package dev.sparsetrain.cuda;

import java.util.List;

/**
 * The NVRTC options every kernel resource is compiled with, for one device.
 *
 * <p>Why these: a real architecture ({@code sm_XY}) makes NVRTC emit a cubin, so the driver never
 * JIT-compiles PTX (and never rejects a PTX newer than itself); on compute capability 9.0 the
 * {@code sm_90a} variant unlocks Hopper's wgmma and TMA instructions. {@code -default-device}
 * lets helpers omit {@code __device__}; C++17 for {@code if constexpr}. No fast-math: the CUDA
 * backend must agree with the CPU backend within fp32 tolerance. The spellings are those of NVRTC's
 * documented option list ({@code --gpu-architecture} is the long form of {@code -arch}).
 */
public final class NvrtcOptions {
    private NvrtcOptions() {}

    /** {@code sm_90a} on compute capability 9.0 (Hopper), else {@code sm_<major><minor>}. */
    public static String architecture(int major, int minor) {
        if (major <= 0 || minor < 0) throw new IllegalArgumentException("invalid compute capability " + major + "." + minor);
        return major == 9 && minor == 0 ? "sm_90a" : "sm_" + major + minor;
    }

    /** The full option list for a device of compute capability {@code major.minor}. */
    public static List<String> forDevice(int major, int minor) {
        return List.of("--gpu-architecture=" + architecture(major, minor), "-default-device", "--std=c++17");
    }
}
