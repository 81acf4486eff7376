package dev.sparsetrain.io.plot;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Axis ticks at "nice" values (1, 2 or 5 times a power of ten) and their labels. */
final class Ticks {
    private Ticks() {}

    /** A tick: its value and the text printed beside it. */
    record Tick(double value, String label) {}

    /** About {@code target} ticks covering {@code [min, max]}, labelled consistently. */
    static List<Tick> of(double min, double max, int target) {
        double step = niceStep((max - min) / Math.max(1, target));
        long first = (long) Math.ceil(min / step - 1e-9);
        long last = (long) Math.floor(max / step + 1e-9);
        double largest = Math.max(Math.abs(first * step), Math.abs(last * step));
        var ticks = new ArrayList<Tick>();
        for (long i = first; i <= last; i++) {
            double v = i * step;
            ticks.add(new Tick(v, label(v, step, largest)));
        }
        return ticks;
    }

    static double niceStep(double raw) {
        double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
        double norm = raw / magnitude;
        double nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
        return nice * magnitude;
    }

    /**
     * Prints {@code v} with just enough decimals to tell ticks {@code step} apart; values of ten thousand
     * and more get a k or M suffix so step counts stay short (250k, 1.5M).
     */
    static String label(double v, double step, double largest) {
        double unit = largest >= 1e6 ? 1e6 : largest >= 1e4 ? 1e3 : 1;
        String suffix = unit == 1e6 ? "M" : unit == 1e3 ? "k" : "";
        int decimals = (int) Math.max(0, Math.ceil(-Math.log10(step / unit) - 1e-9));
        double scaled = v / unit;
        // A tick that is zero up to rounding prints as "0", never "-0" or "0k".
        if (Math.abs(scaled) < step / unit * 1e-6) return "0";
        return String.format(Locale.ROOT, "%." + decimals + "f", scaled) + suffix;
    }
}
