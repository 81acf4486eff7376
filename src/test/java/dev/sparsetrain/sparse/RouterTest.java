package dev.sparsetrain.sparse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RouterTest {

    @Test
    void scoresAreSquaredDistanceMinusTheTokenNorm() {
        long seed = 91;
        var rng = new SplittableRandom(seed);
        int tokens = 7, d = 5, experts = 3;
        float[] x = TestData.uniform(rng, tokens * d), c = TestData.uniform(rng, experts * d);
        float[] scores = TestData.poisoned(tokens * experts);
        Router.scores(x, tokens, d, c, experts, scores);
        for (int t = 0; t < tokens; t++) {
            for (int e = 0; e < experts; e++) {
                double dist = 0, norm = 0;
                for (int j = 0; j < d; j++) {
                    dist += Math.pow(x[t * d + j] - c[e * d + j], 2);
                    norm += Math.pow(x[t * d + j], 2);
                }
                assertEquals(dist - norm, scores[t * experts + e], 1e-6, "token " + t + ", expert " + e + ", seed " + seed);
            }
        }
    }

    @Test
    void nearestTakesTheLowestScoreWithTiesToTheLowerExpert() {
        float[] scores = {3, 1, 2, /* */ 0.5f, 0.5f, 0.5f, /* */ 2, 4, -1, /* */ 1, 0, 0};
        Routing r = Router.route(scores, 4, 3, Router.Mode.NEAREST, 1);
        assertArrayEquals(new int[] {1, 0, 2, 1}, r.expertOf());
    }

    @Test
    void balancedGivesEveryExpertItsShare() {
        long seed = 92;
        var rng = new SplittableRandom(seed);
        for (int tokens : new int[] {12, 10}) {
            float[] scores = TestData.uniform(rng, tokens * 3);
            for (int i = 0; i < tokens; i++) scores[i * 3] -= 5; // everyone prefers expert 0
            Routing r = Router.route(scores, tokens, 3, Router.Mode.BALANCED, 1);
            int[] expected = tokens == 12 ? new int[] {4, 4, 4} : new int[] {4, 3, 3};
            int[] counts = {r.count(0), r.count(1), r.count(2)};
            assertArrayEquals(expected, counts, tokens + " tokens, seed " + seed);
        }
    }

    @Test
    void balancedWithTwoExpertsSortsByScoreDifferenceAndSplits() {
        long seed = 93;
        var rng = new SplittableRandom(seed);
        int tokens = 21;
        float[] scores = TestData.uniform(rng, tokens * 2);
        Routing r = Router.route(scores, tokens, 2, Router.Mode.BALANCED, 1);
        Integer[] byDifference = new Integer[tokens];
        for (int t = 0; t < tokens; t++) byDifference[t] = t;
        Arrays.sort(byDifference, Comparator.comparingDouble(t -> scores[2 * t] - scores[2 * t + 1]));
        int[] expected = new int[tokens];
        for (int i = 11; i < tokens; i++) expected[byDifference[i]] = 1; // the first ⌈21/2⌉ = 11 to expert 0
        assertArrayEquals(expected, r.expertOf(), "seed " + seed);
    }

    @Test
    void nearestRoutingFollowsTheTokensWhenTheyArePermuted() {
        long seed = 94;
        var rng = new SplittableRandom(seed);
        int tokens = 30, experts = 4;
        float[] scores = TestData.uniform(rng, tokens * experts);
        int[] order = TestData.permutation(rng, tokens);
        float[] permuted = new float[scores.length];
        for (int t = 0; t < tokens; t++) System.arraycopy(scores, order[t] * experts, permuted, t * experts, experts);
        int[] base = Router.route(scores, tokens, experts, Router.Mode.NEAREST, 4).expertOf();
        int[] moved = Router.route(permuted, tokens, experts, Router.Mode.NEAREST, 4).expertOf();
        for (int t = 0; t < tokens; t++) assertEquals(base[order[t]], moved[t], "token " + t + ", seed " + seed);
    }

    @Test
    void paddedLayoutIsStableSortedAndGatherScatterIsTheIdentity() {
        long seed = 95;
        var rng = new SplittableRandom(seed);
        int tokens = 23, experts = 3, v = 4, d = 6;
        int[] expertOf = new int[tokens];
        for (int t = 0; t < tokens; t++) expertOf[t] = rng.nextInt(experts);
        Routing r = Routing.of(expertOf, experts, v);
        int[] perm = r.perm(), inv = r.inv();
        for (int e = 0; e < experts; e++) {
            assertEquals(0, r.paddedCount(e) % v, "expert " + e + " padded to a multiple of V");
            assertTrue(r.paddedCount(e) - r.count(e) < v && r.paddedCount(e) >= r.count(e), "expert " + e);
            int previous = -1;
            for (int row = r.offset(e); row < r.offset(e + 1); row++) {
                if (row - r.offset(e) < r.count(e)) {
                    assertEquals(e, expertOf[perm[row]], "row " + row);
                    assertTrue(perm[row] > previous, "stable: tokens in increasing order, row " + row);
                    previous = perm[row];
                } else {
                    assertEquals(-1, perm[row], "padding row " + row);
                }
            }
        }
        for (int t = 0; t < tokens; t++) assertEquals(t, perm[inv[t]], "inv undoes perm at token " + t);

        float[] x = TestData.uniform(rng, tokens * d);
        float[] gathered = TestData.poisoned(r.paddedRows() * d);
        r.gather(x, d, gathered);
        for (int row = 0; row < r.paddedRows(); row++) {
            for (int j = 0; j < d; j++) {
                float expected = perm[row] < 0 ? 0f : x[perm[row] * d + j];
                assertEquals(expected, gathered[row * d + j], "row " + row + ", seed " + seed);
            }
        }
        float[] back = TestData.poisoned(x.length);
        r.scatter(gathered, d, back);
        assertArrayEquals(x, back, "gather then scatter, seed " + seed);
    }

    @Test
    void loadIsTheShareOfTokensPerExpert() {
        Routing r = Routing.of(new int[] {0, 2, 2, 2}, 3, 8);
        assertArrayEquals(new double[] {0.25, 0, 0.75}, r.load());
        assertEquals(16, r.paddedRows(), "an expert with no tokens gets no rows");
    }

    @Test
    void centresAreTheMeansOfEachExpertsRows() {
        long seed = 96;
        int f = 12, d = 5, experts = 3;
        float[] w1 = TestData.uniform(new SplittableRandom(seed), f * d);
        float[] c = TestData.poisoned(experts * d);
        ExpertCentres.compute(w1, f, d, experts, c);
        for (int e = 0; e < experts; e++) {
            for (int j = 0; j < d; j++) {
                double sum = 0;
                for (int i = e * 4; i < e * 4 + 4; i++) sum += w1[i * d + j];
                assertEquals(sum / 4, c[e * d + j], 1e-7, "expert " + e + ", dim " + j + ", seed " + seed);
            }
        }
    }
}
