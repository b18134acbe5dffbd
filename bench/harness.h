/* bench/harness.h - the benchmark harness: cases, the sampling method, results, output.
 *
 * A case is one (kernel, direction, implementation, shape) row. Each family file
 * (bench/cases_*.c) appends its cases to a list; the harness then, for every case
 * that passes --filter: sets it up, CHECKS its output against the reference on that
 * shape (a mismatch is reported and the row is not timed), warms it up, and takes
 * samples until the relative spread is under the target or the time budget is
 * spent. FLOP and byte counts come from formulas declared next to each kernel's
 * cases, so GFLOP/s, GB/s and the percentage of the measured ceilings
 * (bench/ceilings.h) follow.
 *
 * Method (after NVBench): a sample times `inner` back-to-back calls, with inner
 * chosen in warm-up so one sample lasts at least ~2 ms (the clock's noise is then
 * negligible); at least min_samples samples; stop when the robust relative spread
 * 1.4826 * MAD / median is below target_spread, or after budget_s seconds.
 */
#ifndef GB_BENCH_HARNESS_H
#define GB_BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/status.h"
#include "../kernels/kernels.h"

typedef struct gb_bench_case gb_bench_case;

/* Where a row's work runs, set by its family (zero: GB_BENCH_ON_DEVICE). */
typedef enum {
    GB_BENCH_ON_DEVICE, /* through the backend table on the bench's device; an "ours-cpu" row is
                         * relabelled "ours-<device>" (bench_main.c) */
    GB_BENCH_CPU_ONLY,  /* CPU code or libraries on its buffers (OpenBLAS, FFTW, the CPU backend's
                         * own routes): left out on any other device, whose buffers it cannot read */
    GB_BENCH_HOST,      /* on the host whatever the device (data loading, the host Frechet distance,
                         * scipy): kept, and its label names the CPU */
} gb_bench_where;

struct gb_bench_case {
    char kernel[32];    /* "conv2d", "sgemm", "linear", "toy2d_step" */
    char direction[16]; /* "fwd", "bwd_data", "bwd_weight", "bwd", "step" */
    char impl[24];      /* "ours-cpu", "openblas", "fftw", "pytorch", ... */
    char shape[96];     /* where the shape comes from and its sizes */
    double flops;       /* per call (0: not a FLOP-bound kernel) */
    double bytes;       /* compulsory traffic per call: every operand read or written once */
    gb_bench_where where;
    void *ctx;          /* the family's state, freed by teardown */
    /* Allocate and fill inputs on dev. */
    gb_status (*setup)(gb_bench_case *c, gb_device *dev);
    /* One call of the timed operation (synchronised on return). */
    void (*run)(gb_bench_case *c, gb_device *dev);
    /* Compare the output of one run with the reference; *error = the normalised max
     * error; return 1 when within the case's tolerance. NULL: nothing to check
     * (reference implementations themselves). */
    int (*check)(gb_bench_case *c, gb_device *dev, double *error);
    /* External timings (a peer process): fill samples[0..*n) in seconds per call and
     * return GB_OK; used instead of run when non-NULL. */
    gb_status (*external)(gb_bench_case *c, int threads, int quick, double *samples, size_t *n,
                          size_t cap, char *note, size_t note_cap);
    void (*teardown)(gb_bench_case *c, gb_device *dev);
};

typedef struct {
    gb_bench_case *items;
    size_t count, cap;
} gb_bench_list;

/* Append a zeroed case and return it for the caller to fill. */
gb_bench_case *gb_bench_list_add(gb_bench_list *list);
void gb_bench_list_free(gb_bench_list *list);

typedef struct {
    double min_s, median_s, max_s; /* per call */
    double rel_spread;             /* 1.4826 * MAD / median */
    size_t samples;
    int timed;                     /* 0: check failed or setup failed: no timing */
    char check[16];                /* "ok", "MISMATCH", "n/a", "error" */
    double check_error;
    char note[160];
} gb_bench_result;

typedef struct {
    int quick;            /* seconds-long smoke run: tiny budget, few samples */
    double budget_s;      /* per case */
    double target_spread; /* 0.01 */
    size_t min_samples, max_samples;
} gb_bench_method;

gb_bench_method gb_bench_method_default(int quick);

/* Set up, check, time and tear down one case. */
void gb_bench_run_case(gb_bench_case *c, gb_device *dev, int threads, const gb_bench_method *m,
                       gb_bench_result *r);

/* Rows of ours ("ours-cpu", "ours-fast", ...) against the other rows (a reference library or
 * a PyTorch peer): 1 when c is ours. gb_bench_compared(peer, ours): the two rows are compared
 * (peer is not ours, ours is, and their kernel, direction and shape are the same). */
int gb_bench_is_ours(const gb_bench_case *c);
int gb_bench_compared(const gb_bench_case *peer, const gb_bench_case *ours);

/* Ascending sort of n doubles in place; the median of n sorted values (n >= 1). */
void gb_bench_sort(double *values, size_t n);
double gb_bench_median_sorted(const double *sorted, size_t n);

/* Summary statistics of samples (seconds): min, median, max, robust relative spread. */
void gb_bench_summarise_samples(const double *samples, size_t n, gb_bench_result *r);

/* Operands for the cases: n floats uniform in [lo, hi) from the philox stream (seed, stream),
 * uploaded to dev (gb_dev_alloc'd); and a malloc'd host copy of n device floats. */
float *gb_bench_random_floats(gb_device *dev, size_t n, uint64_t seed, const char *stream, float lo, float hi);
float *gb_bench_download_floats(gb_device *dev, const float *src, size_t n);

#endif
