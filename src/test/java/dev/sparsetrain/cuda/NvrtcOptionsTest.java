package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class NvrtcOptionsTest {

    @Test
    void hopperGetsTheArchitectureSpecificTarget() {
        assertEquals("sm_90a", NvrtcOptions.architecture(9, 0));
        assertEquals(List.of("--gpu-architecture=sm_90a", "-default-device", "--std=c++17"), NvrtcOptions.forDevice(9, 0));
    }

    @Test
    void otherDevicesGetThePlainRealArchitecture() {
        assertEquals("sm_80", NvrtcOptions.architecture(8, 0));
        assertEquals("sm_89", NvrtcOptions.architecture(8, 9));
        assertEquals("sm_100", NvrtcOptions.architecture(10, 0));
        assertEquals("sm_120", NvrtcOptions.architecture(12, 0));
        assertEquals("--gpu-architecture=sm_86", NvrtcOptions.forDevice(8, 6).getFirst());
    }

    @Test
    void anImpossibleComputeCapabilityIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> NvrtcOptions.architecture(0, 0));
        assertThrows(IllegalArgumentException.class, () -> NvrtcOptions.architecture(9, -1));
    }
}
