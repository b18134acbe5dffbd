/* bench/harness.c - run one benchmark case: set up, check against the reference, warm up,
 * sample until the spread is small or the budget is spent (method in bench/harness.h).
 *
 * Exercised by tests/smoke.sh (`genbench bench --quick`), which checks the CSV it writes.
 */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/philox.h"
#include "../core/progress.h"

enum { GB_BENCH_MAX_SAMPLES = 1000 };

gb_bench_case *gb_bench_list_add(gb_bench_list *list) {
    if (list->count == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 64;
        gb_bench_case *items = realloc(list->items, cap * sizeof *items);
        GB_ASSERT(items, "out of memory growing the benchmark list to %zu cases", cap);
        list->items = items;
        list->cap = cap;
    }
    gb_bench_case *c = &list->items[list->count++];
    memset(c, 0, sizeof *c);
    return c;
}

void gb_bench_list_free(gb_bench_list *list) {
    free(list->items);
    memset(list, 0, sizeof *list);
}

gb_bench_method gb_bench_method_default(int quick) {
    gb_bench_method m = {.quick = quick, .target_spread = 0.01};
    m.budget_s = quick ? 0.05 : 2.0;
    m.min_samples = quick ? 3 : 10;
    m.max_samples = quick ? 20 : GB_BENCH_MAX_SAMPLES;
    return m;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void gb_bench_sort(double *values, size_t n) { qsort(values, n, sizeof *values, cmp_double); }

double gb_bench_median_sorted(const double *s, size_t n) {
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

void gb_bench_summarise_samples(const double *samples, size_t n, gb_bench_result *r) {
    r->samples = n;
    if (n == 0) {
        r->min_s = r->median_s = r->max_s = NAN;
        r->rel_spread = NAN;
        return;
    }
    double *s = malloc(n * sizeof *s), *dev = malloc(n * sizeof *dev);
    GB_ASSERT(s && dev, "out of memory summarising %zu samples", n);
    memcpy(s, samples, n * sizeof *s);
    gb_bench_sort(s, n);
    r->min_s = s[0];
    r->max_s = s[n - 1];
    r->median_s = gb_bench_median_sorted(s, n);
    for (size_t i = 0; i < n; i++) dev[i] = fabs(s[i] - r->median_s);
    gb_bench_sort(dev, n);
    /* 1.4826 * MAD estimates the standard deviation of normal noise while ignoring the
     * occasional sample an interrupt or another process stretched. */
    r->rel_spread = r->median_s > 0 ? 1.4826 * gb_bench_median_sorted(dev, n) / r->median_s : NAN;
    free(s);
    free(dev);
}

/* Calls per sample so that one sample lasts at least ~2 ms (timer noise ~1 us). */
static size_t choose_inner(gb_bench_case *c, gb_device *dev, const gb_bench_method *m) {
    double warm_until = gb_now_seconds() + (m->quick ? 0.01 : 0.1);
    size_t calls = 0;
    double t0 = gb_now_seconds();
    do {
        c->run(c, dev);
        calls++;
    } while (gb_now_seconds() < warm_until || calls < 2);
    double per_call = (gb_now_seconds() - t0) / (double)calls;
    size_t inner = per_call > 0 ? (size_t)ceil(0.002 / per_call) : 1;
    return inner < 1 ? 1 : inner;
}

static void time_internal(gb_bench_case *c, gb_device *dev, const gb_bench_method *m, gb_bench_result *r) {
    size_t inner = choose_inner(c, dev, m);
    double *samples = malloc(m->max_samples * sizeof *samples);
    GB_ASSERT(samples, "out of memory for %zu samples", m->max_samples);
    size_t n = 0;
    double deadline = gb_now_seconds() + m->budget_s;
    while (n < m->max_samples) {
        double t0 = gb_now_seconds();
        for (size_t k = 0; k < inner; k++) c->run(c, dev);
        samples[n++] = (gb_now_seconds() - t0) / (double)inner;
        if (n < m->min_samples) continue;
        if (gb_now_seconds() > deadline) break;
        gb_bench_summarise_samples(samples, n, r);
        if (r->rel_spread < m->target_spread) break;
    }
    gb_bench_summarise_samples(samples, n, r);
    if (r->rel_spread >= m->target_spread)
        snprintf(r->note, sizeof r->note, "spread %.1f%% after the %.2g s budget", 100 * r->rel_spread,
                 m->budget_s);
    free(samples);
}

void gb_bench_run_case(gb_bench_case *c, gb_device *dev, int threads, const gb_bench_method *m,
                       gb_bench_result *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->check, sizeof r->check, "n/a");
    if (c->external) {
        double *samples = malloc(GB_BENCH_MAX_SAMPLES * sizeof *samples);
        GB_ASSERT(samples, "out of memory for samples");
        size_t n = 0;
        gb_status s = c->external(c, threads, m->quick, samples, &n, GB_BENCH_MAX_SAMPLES, r->note,
                                  sizeof r->note);
        if (s == GB_OK && n > 0) {
            gb_bench_summarise_samples(samples, n, r);
            r->timed = 1;
        } else {
            snprintf(r->check, sizeof r->check, "error");
            if (!r->note[0]) snprintf(r->note, sizeof r->note, "%s", gb_last_error());
        }
        free(samples);
        return;
    }
    gb_status s = c->setup ? c->setup(c, dev) : GB_OK;
    if (s != GB_OK) {
        snprintf(r->check, sizeof r->check, "error");
        snprintf(r->note, sizeof r->note, "setup: %s", gb_last_error());
        return;
    }
    if (c->check) {
        c->run(c, dev);
        int ok = c->check(c, dev, &r->check_error);
        snprintf(r->check, sizeof r->check, "%s", ok ? "ok" : "MISMATCH");
        if (!ok) {
            snprintf(r->note, sizeof r->note, "output differs from the reference (error %.3g): not timed",
                     r->check_error);
            if (c->teardown) c->teardown(c, dev);
            return;
        }
    }
    time_internal(c, dev, m, r);
    r->timed = 1;
    if (c->teardown) c->teardown(c, dev);
}

int gb_bench_is_ours(const gb_bench_case *c) { return strncmp(c->impl, "ours", 4) == 0; }

int gb_bench_compared(const gb_bench_case *peer, const gb_bench_case *ours) {
    return !gb_bench_is_ours(peer) && gb_bench_is_ours(ours) && !strcmp(peer->kernel, ours->kernel) &&
           !strcmp(peer->direction, ours->direction) && !strcmp(peer->shape, ours->shape);
}

float *gb_bench_random_floats(gb_device *dev, size_t n, uint64_t seed, const char *stream, float lo, float hi) {
    float *host = malloc((n ? n : 1) * sizeof *host);
    GB_ASSERT(host, "out of memory for %zu floats", n);
    gb_stream st = gb_stream_open(seed, stream);
    gb_stream_uniform(&st, host, n);
    for (size_t i = 0; i < n; i++) host[i] = lo + (hi - lo) * host[i];
    float *d = gb_dev_alloc(dev, n * sizeof *d);
    gb_upload(dev, d, host, n * sizeof *d);
    free(host);
    return d;
}

float *gb_bench_download_floats(gb_device *dev, const float *src, size_t n) {
    float *host = malloc((n ? n : 1) * sizeof *host);
    GB_ASSERT(host, "out of memory for %zu floats", n);
    gb_download(dev, host, src, n * sizeof *host);
    return host;
}
