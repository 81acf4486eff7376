package dev.sparsetrain.cuda;

/**
 * Launches a kernel of the project's .cu resources by its {@code extern "C"} name on the backend's
 * stream. Arguments are passed by value in order: {@code Long} for device pointers (and 64-bit
 * integers), {@code Integer} for int, {@code Float} for float, matching the kernel's parameter list.
 */
public interface KernelLauncher {
    void launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int blockY, int sharedBytes, Object... args);
}
