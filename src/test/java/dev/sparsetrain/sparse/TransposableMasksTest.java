package dev.sparsetrain.sparse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class TransposableMasksTest {

    private static int transpose(int mask) {
        int t = 0;
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 4; c++) {
                if ((mask >> (4 * r + c) & 1) == 1) t |= 1 << (4 * c + r);
            }
        }
        return t;
    }

    @Test
    void thereAreExactly90() {
        assertEquals(90, TransposableMasks.all().length);
    }

    @Test
    void everyMaskIsTwoFourBothWaysAndTheSetIsClosedUnderTranspose() {
        int[] all = TransposableMasks.all();
        for (int i = 0; i < all.length; i++) {
            int mask = all[i];
            if (i > 0) assertTrue(mask > all[i - 1], "increasing and distinct at " + i);
            for (int k = 0; k < 4; k++) {
                int row = 0, col = 0;
                for (int j = 0; j < 4; j++) {
                    row += mask >> (4 * k + j) & 1;
                    col += mask >> (4 * j + k) & 1;
                }
                assertEquals(2, row, "row " + k + " of mask 0x" + Integer.toHexString(mask));
                assertEquals(2, col, "column " + k + " of mask 0x" + Integer.toHexString(mask));
            }
            assertTrue(Arrays.binarySearch(all, transpose(mask)) >= 0, "transpose of 0x" + Integer.toHexString(mask));
        }
    }
}
