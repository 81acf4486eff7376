package dev.sparsetrain.cli;

import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.cuda.CudaBackend;
import dev.sparsetrain.tensor.Backend;

/** Maps --device names to backends. */
final class Devices {
    private Devices() {}

    static Backend open(String device) {
        return switch (device) {
            case "cpu" -> new CpuBackend();
            case "reference" -> new ReferenceBackend();
            case String cuda when cuda.equals("cuda") || cuda.startsWith("cuda:") -> CudaBackend.open(cuda);
            default -> throw new UserError("unknown --device '" + device + "'; this build runs on: cpu, reference, cuda, cuda:N");
        };
    }
}
