package dev.sparsetrain.cli;

import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.cpu.ReferenceBackend;
import dev.sparsetrain.tensor.Backend;

/** Maps --device names to backends. */
final class Devices {
    private Devices() {}

    static Backend open(String device) {
        return switch (device) {
            case "cpu" -> new CpuBackend();
            case "reference" -> new ReferenceBackend();
            default -> throw new UserError("unknown --device '" + device + "'; this build runs on: cpu, reference");
        };
    }
}
