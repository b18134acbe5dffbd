/* core/plot_ticks.c - nice tick positions for linear and log axes (declared in core/plot.h).
 *
 * Linear ticks are k * m * 10^e with m in {1, 2, 5}. The value is formed as (k * m) / 10^-e
 * for negative e, one correctly rounded division of exact integers, so a tick is the double
 * nearest its decimal (0.6, not 0.6000000000000001) and prints cleanly with %g.
 * Tested by tests/test_plot.c.
 */
#include "core/plot.h"

#include <math.h>

/* 10^n for n >= 0; exact up to 10^22. */
static double gb_pow10_int(int n) {
    double v = 1;
    for (int i = 0; i < n; i++) v *= 10;
    return v;
}

static double gb_decimal(long long k, int e) {
    return e >= 0 ? (double)k * gb_pow10_int(e) : (double)k / gb_pow10_int(-e);
}

int gb_plot_ticks(double lo, double hi, int max_ticks, double *ticks) {
    GB_ASSERT(ticks && max_ticks >= 2, "need room for at least two ticks");
    if (!isfinite(lo) || !isfinite(hi) || lo > hi) return 0;
    if (lo == hi) {
        ticks[0] = lo;
        return 1;
    }
    static const int mult[3] = {1, 2, 5};
    int e = (int)floor(log10((hi - lo) / (max_ticks - 1)));
    /* Ranges far from zero relative to their width would need k beyond exact integers. */
    if (fmax(fabs(lo), fabs(hi)) / gb_decimal(1, e) > 1e15) {
        ticks[0] = lo;
        ticks[1] = hi;
        return 2;
    }
    for (;; e++) {
        for (int i = 0; i < 3; i++) {
            double step = gb_decimal(mult[i], e);
            /* The slack admits ends that are multiples of the step up to rounding (1e-3 ..). */
            long long k0 = (long long)ceil(lo / step - 1e-9), k1 = (long long)floor(hi / step + 1e-9);
            if (k1 - k0 + 1 > max_ticks) continue;
            int n = 0;
            for (long long k = k0; k <= k1; k++) ticks[n++] = gb_decimal(k * mult[i], e);
            return n;
        }
    }
}

int gb_plot_ticks_log(double lo, double hi, int max_ticks, double *ticks) {
    GB_ASSERT(ticks && max_ticks >= 2, "need room for at least two ticks");
    if (!isfinite(lo) || !isfinite(hi) || !(lo > 0) || lo > hi) return 0;
    int d0 = (int)ceil(log10(lo) - 1e-9), d1 = (int)floor(log10(hi) + 1e-9);
    int decades = d1 - d0 + 1;
    if (decades >= 2) {
        int stride = (decades + max_ticks - 1) / max_ticks;
        /* Prefer decades on a multiple of the stride, so 1 = 10^0 is a tick when in range;
         * if that leaves fewer than two, start at the first decade instead. */
        int first = d0;
        while (((first % stride) + stride) % stride != 0) first++;
        if (first + stride > d1) first = d0;
        int n = 0;
        for (int d = first; d <= d1 && n < max_ticks; d += stride) ticks[n++] = gb_decimal(1, d);
        return n;
    }
    static const int mult[3] = {1, 2, 5};
    int n = 0, too_many = 0;
    for (int d = d0 - 1; d <= d1 && !too_many; d++)
        for (int i = 0; i < 3 && !too_many; i++) {
            double v = gb_decimal(mult[i], d);
            if (v < lo * (1 - 1e-12) || v > hi * (1 + 1e-12)) continue;
            if (n == max_ticks) too_many = 1;
            else ticks[n++] = v;
        }
    if (n >= 2 && !too_many) return n;
    return gb_plot_ticks(lo, hi, max_ticks, ticks);
}
