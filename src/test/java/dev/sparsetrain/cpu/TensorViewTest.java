package dev.sparsetrain.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.sparsetrain.tensor.DType;
import dev.sparsetrain.tensor.Tensor;
import org.junit.jupiter.api.Test;

class TensorViewTest {
    @Test
    void viewsShareStorageAndStayInBounds() {
        CpuBackend b = new CpuBackend();
        Tensor t = b.zeros(DType.F32, 4, 3);
        Tensor row2 = t.rows(2, 3);
        b.upload(row2, new float[] {7, 8, 9}, 0);
        float[] all = b.toHost(t);
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 0, 7, 8, 9, 0, 0, 0}, all);
        assertThrows(IllegalArgumentException.class, () -> t.view(10, 3));
        assertThrows(IllegalArgumentException.class, () -> t.reshape(5, 3));
    }
}
