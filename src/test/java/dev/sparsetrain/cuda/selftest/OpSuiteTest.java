package dev.sparsetrain.cuda.selftest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparsetrain.cpu.CpuBackend;
import dev.sparsetrain.tensor.Backend;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The op suite's comparison logic, on two CPU backends: agreement passes, a deliberate error fails. */
class OpSuiteTest {
    private static final long SEED = 77L;

    private static List<CheckRow> run(Backend candidate) {
        List<CheckRow> rows = new ArrayList<>();
        try (Backend reference = new CpuBackend()) {
            OpSuite.run(candidate, reference, SEED, rows::add);
        }
        return rows;
    }

    @Test
    void twoCpuBackendsAgreeOnEveryRow() {
        try (Backend candidate = new CpuBackend()) {
            for (CheckRow r : run(candidate)) {
                assertTrue(r.passed(), "seed " + SEED + ": " + r);
                assertTrue(r.maxRelError() <= OpSuite.TOLERANCE, "seed " + SEED + ": " + r);
            }
        }
    }

    @Test
    void aPerturbedOpFailsAndOnlyItsRow() {
        try (Backend candidate = new PerturbedBackend(PerturbedBackend.Op.RELU2_FORWARD)) {
            for (CheckRow r : run(candidate)) {
                if (r.op().equals("relu2Forward")) {
                    assertFalse(r.passed(), "seed " + SEED + ": the perturbed op must fail: " + r);
                    assertEquals(PerturbedBackend.ERROR, r.maxAbsError(), 1e-4, "seed " + SEED + ": " + r);
                } else {
                    assertTrue(r.passed(), "seed " + SEED + ": only relu2Forward is perturbed: " + r);
                }
            }
        }
    }

    @Test
    void aPerturbedMatmulFailsEveryMatmulRow() {
        try (Backend candidate = new PerturbedBackend(PerturbedBackend.Op.MATMUL)) {
            List<CheckRow> matmuls = run(candidate).stream().filter(r -> r.op().startsWith("matmul")).toList();
            assertEquals(MatmulChecks.all().size(), matmuls.size());
            for (CheckRow r : matmuls) assertFalse(r.passed(), "seed " + SEED + ": " + r);
        }
    }

    @Test
    void anOpThatThrowsBecomesAFailedRowAndTheSuiteGoesOn() {
        try (Backend candidate = new PerturbedBackend(PerturbedBackend.Op.SCALE_THROWS)) {
            List<CheckRow> rows = run(candidate);
            CheckRow scale = rows.stream().filter(r -> r.op().equals("scale")).findFirst().orElseThrow();
            assertFalse(scale.passed());
            assertEquals("no scale kernel", scale.error());
            assertTrue(rows.stream().anyMatch(r -> r.op().equals("adamw param") && r.passed()), "checks after the failure still run");
        }
    }

    @Test
    void everyOpOfTheBackendInterfaceIsChecked() {
        Set<String> notOps = Set.of("name", "zeros", "toHost", "sparse", "synchronize", "close");
        List<String> ops = new ArrayList<>();
        for (Method m : Backend.class.getDeclaredMethods()) {
            if (!Modifier.isStatic(m.getModifiers()) && !notOps.contains(m.getName())) ops.add(m.getName());
        }
        List<String> checked = new ArrayList<>();
        try (Backend candidate = new CpuBackend()) {
            for (CheckRow r : run(candidate)) checked.add(r.op());
        }
        for (String op : ops) {
            String lookFor = switch (op) {
                case "upload", "download" -> "upload/download";
                case "uploadInts" -> "embeddingForward"; // token ids are uploaded as ints
                default -> op;
            };
            assertTrue(checked.stream().anyMatch(c -> c.startsWith(lookFor)), "no selftest row checks Backend." + op + " (rows: " + checked + ")");
        }
    }
}
