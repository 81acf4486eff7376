package dev.sparsetrain.cuda;

import java.util.SplittableRandom;

/**
 * Router scores [tokens, experts] that exercise every rule of the nearest router (test support for
 * the {@link RoutingKernels} tests): scores drawn from a few small integers, so most tokens tie
 * between experts; a per-expert bias, so loads are uneven; optionally one expert that is never
 * nearest (an empty expert); and a sprinkling of NaN, −0 and +0 scores, in expert 0 as elsewhere.
 */
final class RoutingScores {
    private RoutingScores() {}

    /** Scores for {@code tokens} tokens; {@code emptyExpert} is −1 or the expert (not 0) no token may pick. */
    static float[] of(SplittableRandom rng, int tokens, int experts, int emptyExpert) {
        if (emptyExpert == 0 || emptyExpert >= experts) throw new IllegalArgumentException("no expert " + emptyExpert + " to leave empty");
        float[] s = new float[tokens * experts];
        for (int t = 0; t < tokens; t++) {
            for (int e = 0; e < experts; e++) {
                // Higher experts score higher on average, so the lower ones take most tokens.
                float v = rng.nextInt(4) + (rng.nextInt(experts) < e ? 1 : 0);
                int special = rng.nextInt(64);
                if (special == 0) v = Float.NaN;
                else if (special == 1) v = -0.0f;
                else if (special == 2) v = 0.0f;
                s[t * experts + e] = v;
            }
            // +∞ is never strictly below the best so far; expert 0 is always picked first, so it cannot be the empty one.
            if (emptyExpert > 0) s[t * experts + emptyExpert] = Float.POSITIVE_INFINITY;
        }
        return s;
    }
}
