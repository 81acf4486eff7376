package dev.sparsetrain.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** SparseMatmul's rules that need no GPU: which shapes it takes, the search setting, and what a plan is cached by. */
class SparseMatmulRulesTest {

    @Test
    void shapesNeed64RowBlocks32ColumnBlocksAnd16ByteRows() {
        assertTrue(SparseMatmul.supports(64, 8, 32));
        assertTrue(SparseMatmul.supports(8192, 16384, 2048));
        assertFalse(SparseMatmul.supports(96, 64, 256), "m not a multiple of 64");
        assertFalse(SparseMatmul.supports(128, 64, 48), "k not a multiple of 32");
        assertFalse(SparseMatmul.supports(128, 12, 256), "n not a multiple of 8");
        assertFalse(SparseMatmul.supports(0, 64, 256), "empty m");
        assertFalse(SparseMatmul.supports(128, 0, 256), "empty n");
        assertFalse(SparseMatmul.supports(128, 64, -32), "negative k");
    }

    @Test
    void theSearchIsOnUnlessTheVariableTurnsItOff() {
        assertTrue(SparseMatmul.searchEnabled(Map.of()));
        assertTrue(SparseMatmul.searchEnabled(Map.of(SparseMatmul.SEARCH_VARIABLE, " ")));
        for (String on : new String[] {"1", "true", "ON", " 1 "}) {
            assertTrue(SparseMatmul.searchEnabled(Map.of(SparseMatmul.SEARCH_VARIABLE, on)), on);
        }
        for (String off : new String[] {"0", "false", "Off", "0\n"}) {
            assertFalse(SparseMatmul.searchEnabled(Map.of(SparseMatmul.SEARCH_VARIABLE, off)), off);
        }
    }

    @Test
    void anUnknownSearchSettingIsRejectedWithTheVariableAndTheValidValues() {
        var e = assertThrows(IllegalArgumentException.class, () -> SparseMatmul.searchEnabled(Map.of(SparseMatmul.SEARCH_VARIABLE, "yes please")));
        String m = e.getMessage();
        assertTrue(m.contains("SPARSETRAIN_SPMMA_SEARCH") && m.contains("'yes please'") && m.contains("1 to search") && m.contains("0 to keep"), m);
    }

    @Test
    void plansAreCachedByShapeOrdersAndStride() {
        var base = new SparseMatmul.PlanKey(128, 64, 256, false, 64, false);
        Map<SparseMatmul.PlanKey, String> cache = new HashMap<>();
        cache.put(base, "base");
        assertEquals("base", cache.get(new SparseMatmul.PlanKey(128, 64, 256, false, 64, false)));
        var others = new SparseMatmul.PlanKey[] {
            new SparseMatmul.PlanKey(192, 64, 256, false, 64, false), new SparseMatmul.PlanKey(128, 72, 256, false, 72, false),
            new SparseMatmul.PlanKey(128, 64, 288, false, 64, false), new SparseMatmul.PlanKey(128, 64, 256, true, 64, false),
            new SparseMatmul.PlanKey(128, 64, 256, false, 72, false), new SparseMatmul.PlanKey(128, 64, 256, false, 64, true)};
        for (var other : others) {
            assertNotEquals(base, other);
            assertFalse(cache.containsKey(other), other.describe());
        }
    }

    @Test
    void aKeyDescribesItselfForErrorMessages() {
        assertEquals("m=128 n=64 k=256, B column-major ld 264, D row-major",
                new SparseMatmul.PlanKey(128, 64, 256, true, 264, false).describe());
    }

    @Test
    void shapesShareASearchedAlgorithmOnlyWithinTheirRowBandAndEverythingElseEqual() {
        int band = SparseMatmul.FAMILY_ROWS;
        var first = SparseMatmul.FamilyKey.of(new SparseMatmul.PlanKey(2048, 1, 2048, true, 2048, true));
        assertEquals(first, SparseMatmul.FamilyKey.of(new SparseMatmul.PlanKey(2048, band, 2048, true, 2048, true)), "n = 1 and n = band");
        assertNotEquals(first, SparseMatmul.FamilyKey.of(new SparseMatmul.PlanKey(2048, band + 1, 2048, true, 2048, true)), "next band");
        assertEquals(SparseMatmul.FamilyKey.of(new SparseMatmul.PlanKey(2048, band + 1, 2048, true, 2048, true)),
                SparseMatmul.FamilyKey.of(new SparseMatmul.PlanKey(2048, 2 * band, 2048, true, 2048, true)));
        assertEquals(SparseMatmul.FamilyKey.of(new SparseMatmul.PlanKey(band + 64, 2048, 2048, false, 2048, false)),
                SparseMatmul.FamilyKey.of(new SparseMatmul.PlanKey(2 * band, 2048, 2048, false, 2048, false)), "m is banded too");
        for (var other : new SparseMatmul.PlanKey[] {new SparseMatmul.PlanKey(1024, 64, 2048, true, 2048, true),
                new SparseMatmul.PlanKey(2048, 64, 1024, true, 2048, true), new SparseMatmul.PlanKey(2048, 64, 2048, false, 2048, true),
                new SparseMatmul.PlanKey(2048, 64, 2048, true, 4096, true), new SparseMatmul.PlanKey(2048, 64, 2048, true, 2048, false)}) {
            assertNotEquals(first, SparseMatmul.FamilyKey.of(other), other.describe());
        }
    }
}
