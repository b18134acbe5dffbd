/* tests/test_kernels_cpu.c - the CPU backend (kernels/cpu/) against independent references.
 *
 * References: float64 transcriptions of each forward written here, differentiated
 * by central finite differences; closed forms (first Adam step, AdamW decay with a
 * zero gradient); float64 log1p(exp()) around softplus's threshold; PyTorch values
 * written by tests/peers/kernel_fixtures.py into $GB_FIXTURES/kernels/.
 * Every random input comes from a fixed seed, printed with any failure.
 *
 * Tolerances (u = 2^-24 ~ 5.96e-8, float32 unit roundoff). "exact" below means
 * the float64 reference; its own error (FD rounding eps64*|L|/h, truncation
 * h^2/6*|f'''|) is below 1e-9 for the steps chosen, far under every tolerance.
 *
 *   check                          tolerance                why
 *   linear out/grads vs exact      (K+2)*u*S + 1e-9         Higham's bound for a float32 dot
 *                                                            product of K terms, S = sum |terms|
 *                                                            (+ one rounding for bias/accumulate)
 *   linear vs PyTorch              2*(K+2)*u*S + 1e-9       both sides within the bound above
 *   linear grads x2 (accumulate)   2*(K+2)*u*S + 1e-9       beta=1 sgemm may re-block the sum
 *   softplus fwd/bwd vs exact      8u*|ref| + 2e-45         expf/log1pf each < 1 ulp, then <= 3
 *                                                            roundings; 2e-45 covers denormals
 *   softplus vs PyTorch            16u*|ref| + 1e-44        both sides within the line above
 *   loss value vs exact            2u*|ref|                 double sum, one rounding to float
 *   dpred vs exact                 3u*|ref| + 1e-12         float subtraction + division
 *   loss vs PyTorch                value 32u, dpred 6u      torch sums in float (cols + log2 rows
 *                                                            roundings); its dpred multiplies by
 *                                                            float(1/rows): one more rounding
 *   Adam k steps vs float64        k*(4u*|p| + 40u*lr)      per step: p rounds once (u|p|); the
 *                                                            update lr*m_hat/denom carries <= ~20
 *                                                            roundings of lr-sized terms
 *   Adam vs PyTorch (5 steps)      5*(4u*|p| + 80u*lr)      as above, plus torch's fused
 *                                                            multiply-adds and its double (not
 *                                                            float) hyperparameters: 1-0.999f
 *                                                            differs from 0.001 by 1.3e-5
 *                                                            relatively, but that factor cancels
 *                                                            in v/(1-beta2^t) to ~1e-7
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/kernels.h"
#include "tests/blas_probe.h"
#include "tests/copy_rows_case.h"
#include "tests/fd_capture.h"

#define U32 5.9604644775390625e-8 /* 2^-24 */

static gb_device dev;
static uint64_t rng_state;
static uint64_t rng_seed;

static void open_cpu(void) {
    gb_status s = gb_device_open(&dev, "cpu", 2);
    cr_assert_eq(s, GB_OK, "gb_device_open(cpu): %s", gb_last_error());
}
static void close_cpu(void) { gb_device_close(&dev); }

/* splitmix64: tiny, seedable, reproducible; the seed is printed on failure. */
static void seed_rng(uint64_t seed) {
    rng_seed = seed;
    rng_state = seed;
}
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float rng_uniform(float lo, float hi) {
    return lo + (hi - lo) * (float)((double)(rng_next() >> 40) / 16777216.0);
}
static float *rand_floats(size_t n, float lo, float hi) {
    float *a = malloc((n ? n : 1) * sizeof *a);
    cr_assert_not_null(a);
    for (size_t i = 0; i < n; i++) a[i] = rng_uniform(lo, hi);
    return a;
}
static double *dalloc(size_t n) {
    double *a = calloc(n ? n : 1, sizeof *a);
    cr_assert_not_null(a);
    return a;
}
static float *falloc(size_t n) {
    float *a = calloc(n ? n : 1, sizeof *a);
    cr_assert_not_null(a);
    return a;
}

/* Compare got[i] with ref[i] within tol[i] (tol[i] < 0: element not checked).
 * Prints the first mismatches with their indices, then fails the test. */
static void expect_within(const char *label, const float *got, const double *ref, const double *tol,
                          size_t n) {
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (tol[i] < 0) continue;
        double diff = fabs((double)got[i] - ref[i]);
        if (!(diff <= tol[i])) {
            if (bad < 5)
                cr_log_error("%s[%zu]: got %.9g, want %.9g (diff %.3g > tol %.3g), seed %llu", label,
                             i, (double)got[i], ref[i], diff, tol[i], (unsigned long long)rng_seed);
            bad++;
        }
    }
    cr_expect_eq(bad, 0, "%s: %zu of %zu elements out of tolerance (seed %llu)", label, bad, n,
                 (unsigned long long)rng_seed);
}

static void expect_close(const char *label, const float *got, const double *ref, size_t n,
                         double atol, double rtol) {
    double *tol = dalloc(n);
    for (size_t i = 0; i < n; i++) tol[i] = atol + rtol * fabs(ref[i]);
    expect_within(label, got, ref, tol, n);
    free(tol);
}

/* ---- fixtures ------------------------------------------------------------ */

/* Read $GB_FIXTURES/kernels/<name>.f32 (raw little-endian float32) holding
 * exactly n values; fails the test with the fix when it is absent. */
static float *load_fixture(const char *name, size_t n) {
    const char *dir = getenv("GB_FIXTURES");
    if (!dir || !*dir)
        cr_assert_fail("GB_FIXTURES is unset: run `/usr/bin/python3 tests/peers/kernel_fixtures.py DIR` "
                       "and set GB_FIXTURES=DIR (make test does both)");
    char path[4096];
    snprintf(path, sizeof path, "%s/kernels/%s.f32", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        cr_assert_fail("missing fixture %s: run `/usr/bin/python3 tests/peers/kernel_fixtures.py %s`",
                       path, dir);
    float *a = falloc(n);
    size_t got = fread(a, sizeof *a, n, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != n || extra != EOF)
        cr_assert_fail("fixture %s: expected exactly %zu float32 values; regenerate it with "
                       "tests/peers/kernel_fixtures.py", path, n);
    return a;
}

static double *to_double(const float *a, size_t n) {
    double *d = dalloc(n);
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}

/* ---- device and memory --------------------------------------------------- */

Test(device, open_cpu_names_openblas_and_threads) {
    gb_device d;
    cr_assert_eq(gb_device_open(&d, "cpu", 2), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(d.ops->name, "cpu");
    cr_expect_eq(d.threads, 2);
    cr_expect(strstr(d.name, "cpu (OpenBLAS") == d.name, "name: %s", d.name);
    cr_expect(strstr(d.name, "2 threads)") != NULL, "name: %s", d.name);
    gb_device_close(&d);
    cr_expect_null(d.ops, "close clears the device");
}

/* kernels/cpu/blas_threads.c: the first open shortens OpenBLAS's idle spin to 2^16 cycles
 * unless the environment chose one (tests/smoke.sh checks that case through the binary), and
 * the GEMMs still run (and agree with float64) on the restarted OpenBLAS server. */
int openblas_thread_timeout(void) __attribute__((weak));
Test(device, first_open_shortens_the_blas_spin) {
    if (getenv("OPENBLAS_THREAD_TIMEOUT")) cr_skip_test("OPENBLAS_THREAD_TIMEOUT is set in this environment");
    if (!openblas_thread_timeout) cr_skip_test("the BLAS is not OpenBLAS");
    gb_device d;
    cr_assert_eq(gb_device_open(&d, "cpu", 2), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(getenv("OPENBLAS_THREAD_TIMEOUT"), "16");
    cr_expect_eq(openblas_thread_timeout(), 16, "OpenBLAS reads %d", openblas_thread_timeout());
    cr_expect_not_null(strstr(gb_cpu_blas_spin(), "set by genbench"), "%s", gb_cpu_blas_spin());
    enum { N = 192 };
    float *a = gb_dev_alloc(&d, N * N * sizeof *a), *y = gb_dev_alloc(&d, N * N * sizeof *y);
    for (int i = 0; i < N * N; i++) a[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
    gb_linear_shape ls = {N, N, N};
    gb_linear_forward(&d, y, a, a, NULL, &ls); /* y = a a^T: big enough for OpenBLAS's threads */
    double worst = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double ref = 0, mag = 0;
            for (int k = 0; k < N; k++) ref += (double)a[i * N + k] * a[j * N + k], mag += fabs((double)a[i * N + k] * a[j * N + k]);
            worst = fmax(worst, fabs(y[i * N + j] - ref) / (mag + 1e-30));
        }
    /* the GEMM bound (N + 2) u of tests/tolerances.md, relative to the sum of |terms| */
    cr_expect_lt(worst, (N + 2) * 0x1p-24, "a a^T after the restart: relative error %g", worst);
    gb_dev_free(&d, a), gb_dev_free(&d, y);
    gb_device_close(&d);
}

Test(device, bad_names_and_threads_are_usage_errors) {
    gb_device d;
    cr_expect_eq(gb_device_open(&d, "tpu", 2), GB_USAGE);
    cr_expect(strstr(gb_last_error(), "unknown device 'tpu'") != NULL, "%s", gb_last_error());
    cr_expect_eq(gb_device_open(&d, "cpu", 0), GB_USAGE);
    cr_expect(strstr(gb_last_error(), "--threads") != NULL, "%s", gb_last_error());
}

Test(device, cuda_without_gpu_is_env_error_and_auto_falls_back) {
    if (gb_cuda_available()) cr_skip_test("a CUDA device is present: the no-GPU path cannot run here");
    gb_device d;
    cr_expect_eq(gb_device_open(&d, "cuda", 2), GB_ENV);
    cr_expect(strstr(gb_last_error(), "no CUDA device") != NULL, "%s", gb_last_error());
    cr_expect(strstr(gb_last_error(), "--device cpu") != NULL, "%s", gb_last_error());
    cr_assert_eq(gb_device_open(&d, "auto", 1), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(d.ops->name, "cpu");
    gb_device_close(&d);
}

static void open_auto_and_close(void *driver_file) {
    gb_device d;
    cr_assert_eq(gb_device_open_auto(&d, 1, driver_file), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(d.ops->name, "cpu");
    gb_device_close(&d);
}

/* "auto" falls back to the CPU with a warning naming CUDA's error, once, on a machine that has
 * the NVIDIA driver (its file stood in for by a temporary one), and quietly without it. */
Test(device, auto_names_why_cuda_is_unusable_beside_a_driver) {
    if (gb_cuda_available()) cr_skip_test("a CUDA device is present: the fallback cannot run here");
    char driver[] = "/tmp/gb_nvidia_version_XXXXXX";
    int fd = mkstemp(driver);
    cr_assert_geq(fd, 0);
    close(fd);
    char *log = stderr_of(open_auto_and_close, driver);
    cr_expect(strstr(log, "--device auto: this machine has an NVIDIA driver") && strstr(log, driver) &&
                  strstr(log, "runs on the CPU"),
              "%s", log);
    cr_expect(strstr(log, "CUDA said: no CUDA device") != NULL, "the warning names CUDA's error: %s", log);
    free(log);
    log = stderr_of(open_auto_and_close, driver); /* said once per process */
    cr_expect_str_eq(log, "");
    free(log);
    unlink(driver);
    log = stderr_of(open_auto_and_close, driver); /* no driver file: nothing to say */
    cr_expect_str_eq(log, "");
    free(log);
}

Test(memory, alloc_aligned_and_round_trips, .init = open_cpu, .fini = close_cpu) {
    const size_t sizes[] = {0, 1, 63, 64, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        unsigned char *p = gb_dev_alloc(&dev, n), *q = gb_dev_alloc(&dev, n);
        cr_assert_not_null(p);
        cr_expect_eq((uintptr_t)p % 64, 0, "alloc(%zu) not 64-byte aligned", n);
        unsigned char *host = malloc(n + 1), *back = malloc(n + 1);
        for (size_t i = 0; i < n; i++) host[i] = (unsigned char)(i * 7 + 1);
        gb_upload(&dev, p, host, n);
        gb_dev_copy(&dev, q, p, n);
        gb_dev_sync(&dev);
        gb_download(&dev, back, q, n);
        cr_expect(n == 0 || memcmp(host, back, n) == 0, "round trip of %zu bytes", n);
        gb_dev_zero(&dev, q, n);
        gb_download(&dev, back, q, n);
        for (size_t i = 0; i < n; i++) cr_expect_eq(back[i], 0, "zero: byte %zu of %zu", i, n);
        free(host);
        free(back);
        gb_dev_free(&dev, p);
        gb_dev_free(&dev, q);
    }
}

Test(memory, copy_rows_matches_definition, .init = open_cpu, .fini = close_cpu) { copy_rows_case(&dev); }

/* Host blocks for bulk uploads: writable, 64-byte aligned, freed by their device (on the CPU
 * plain malloc behind a header; tests/test_kernels_cuda.c checks the page-locked ones). */
Test(memory, host_blocks_for_uploads, .init = open_cpu, .fini = close_cpu) {
    const size_t sizes[] = {0, 1, 4096, 1 << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        unsigned char *p = gb_device_host_alloc(&dev, sizes[k]);
        cr_assert_not_null(p);
        cr_expect_eq((uintptr_t)p % 64, 0, "host block of %zu bytes not 64-byte aligned", sizes[k]);
        memset(p, 0x5a, sizes[k]);
        gb_device_host_free(&dev, p);
    }
    gb_device_host_free(&dev, NULL);
}

/* ---- linear -------------------------------------------------------------- */

/* float64 reference: out[r,o] = sum_i inp[r,i]*w[o,i] + b[o] */
static void linear_ref(double *out, const double *inp, const double *w, const double *b,
                       const gb_linear_shape *s) {
    for (size_t r = 0; r < s->rows; r++)
        for (size_t o = 0; o < s->out_features; o++) {
            double acc = b ? b[o] : 0.0;
            for (size_t i = 0; i < s->in_features; i++)
                acc += inp[r * s->in_features + i] * w[o * s->in_features + i];
            out[r * s->out_features + o] = acc;
        }
}

/* L = sum(dout * linear_ref(inp, w, b)): its gradients are what backward returns. */
static double linear_objective(const double *inp, const double *w, const double *b,
                               const double *dout, const gb_linear_shape *s, double *scratch) {
    linear_ref(scratch, inp, w, b, s);
    double l = 0.0;
    for (size_t k = 0; k < s->rows * s->out_features; k++) l += dout[k] * scratch[k];
    return l;
}

/* Central finite difference of the objective with respect to x[idx]. */
static double fd_linear(double *x, size_t idx, const double *inp, const double *w, const double *b,
                        const double *dout, const gb_linear_shape *s, double *scratch) {
    const double h = 1e-2; /* L is linear in x: no truncation error, so a large h */
    double keep = x[idx];
    x[idx] = keep + h;
    double lp = linear_objective(inp, w, b, dout, s, scratch);
    x[idx] = keep - h;
    double lm = linear_objective(inp, w, b, dout, s, scratch);
    x[idx] = keep;
    return (lp - lm) / (2 * h);
}

/* Which elements of an n-element tensor to differentiate: all when small,
 * else 40 picked by the seeded generator (each FD costs two full forwards). */
static void pick_checked(double *tol, size_t n) {
    if (n <= 64) {
        for (size_t i = 0; i < n; i++) tol[i] = 0.0;
        return;
    }
    for (size_t i = 0; i < n; i++) tol[i] = -1.0;
    for (int k = 0; k < 40; k++) tol[rng_next() % n] = 0.0;
}

typedef struct {
    gb_linear_shape s;
    float *inp, *w, *b, *dout; /* [rows,in], [out,in], [out], [rows,out] */
    double *dinp, *dw, *db, *ddout;
} linear_case;

static linear_case linear_case_make(size_t rows, size_t in, size_t out) {
    linear_case c = {.s = {rows, in, out}};
    c.inp = rand_floats(rows * in, -1, 1);
    c.w = rand_floats(out * in, -1, 1);
    c.b = rand_floats(out, -1, 1);
    c.dout = rand_floats(rows * out, -1, 1);
    c.dinp = to_double(c.inp, rows * in);
    c.dw = to_double(c.w, out * in);
    c.db = to_double(c.b, out);
    c.ddout = to_double(c.dout, rows * out);
    return c;
}

static void linear_case_free(linear_case *c) {
    free(c->inp), free(c->w), free(c->b), free(c->dout);
    free(c->dinp), free(c->dw), free(c->db), free(c->ddout);
}

/* Rounding-error bounds (K+2)*u*S, S = sum of |terms|, for out, dinp, dweight, dbias. */
static void linear_bounds(const linear_case *c, double factor, double *t_out, double *t_dinp,
                          double *t_dw, double *t_db) {
    const size_t n = c->s.rows, in = c->s.in_features, o = c->s.out_features;
    for (size_t r = 0; r < n && t_out; r++)
        for (size_t j = 0; j < o; j++) {
            double sum = fabs(c->db[j]);
            for (size_t i = 0; i < in; i++) sum += fabs(c->dinp[r * in + i] * c->dw[j * in + i]);
            t_out[r * o + j] = factor * (double)(in + 2) * U32 * sum + 1e-9;
        }
    for (size_t r = 0; r < n && t_dinp; r++)
        for (size_t i = 0; i < in; i++) {
            if (t_dinp[r * in + i] < 0) continue;
            double sum = 0.0;
            for (size_t j = 0; j < o; j++) sum += fabs(c->ddout[r * o + j] * c->dw[j * in + i]);
            t_dinp[r * in + i] = factor * (double)(o + 2) * U32 * sum + 1e-9;
        }
    for (size_t j = 0; j < o && t_dw; j++)
        for (size_t i = 0; i < in; i++) {
            if (t_dw[j * in + i] < 0) continue;
            double sum = 0.0;
            for (size_t r = 0; r < n; r++) sum += fabs(c->ddout[r * o + j] * c->dinp[r * in + i]);
            t_dw[j * in + i] = factor * (double)(n + 2) * U32 * sum + 1e-9;
        }
    for (size_t j = 0; j < o && t_db; j++) {
        if (t_db[j] < 0) continue;
        double sum = 0.0;
        for (size_t r = 0; r < n; r++) sum += fabs(c->ddout[r * o + j]);
        t_db[j] = factor * (double)(n + 2) * U32 * sum + 1e-9;
    }
}

static const size_t linear_rows[] = {1, 5, 33};
static const size_t linear_in[] = {3, 7, 128};
static const size_t linear_out[] = {2, 9, 128};

Test(linear, forward_matches_float64, .init = open_cpu, .fini = close_cpu) {
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++)
            for (size_t k = 0; k < 3; k++) {
                seed_rng(1000 + a * 9 + b * 3 + k);
                linear_case c = linear_case_make(linear_rows[a], linear_in[b], linear_out[k]);
                size_t no = c.s.rows * c.s.out_features;
                float *out = falloc(no);
                double *ref = dalloc(no), *tol = dalloc(no);
                gb_linear_forward(&dev, out, c.inp, c.w, c.b, &c.s);
                linear_ref(ref, c.dinp, c.dw, c.db, &c.s);
                linear_bounds(&c, 1.0, tol, NULL, NULL, NULL);
                char label[96];
                snprintf(label, sizeof label, "out (%zu x %zu -> %zu)", c.s.rows, c.s.in_features,
                         c.s.out_features);
                expect_within(label, out, ref, tol, no);
                /* NULL bias: the same product without the bias */
                gb_linear_forward(&dev, out, c.inp, c.w, NULL, &c.s);
                linear_ref(ref, c.dinp, c.dw, NULL, &c.s);
                snprintf(label, sizeof label, "out, no bias (%zu x %zu -> %zu)", c.s.rows,
                         c.s.in_features, c.s.out_features);
                expect_within(label, out, ref, tol, no);
                free(out), free(ref), free(tol);
                linear_case_free(&c);
            }
}

Test(linear, backward_matches_finite_differences, .init = open_cpu, .fini = close_cpu) {
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 3; b++)
            for (size_t k = 0; k < 3; k++) {
                seed_rng(2000 + a * 9 + b * 3 + k);
                linear_case c = linear_case_make(linear_rows[a], linear_in[b], linear_out[k]);
                const size_t n = c.s.rows, in = c.s.in_features, o = c.s.out_features;
                float *dinp = falloc(n * in), *dw = falloc(o * in), *db = falloc(o);
                gb_linear_backward(&dev, dinp, dw, db, c.dout, c.inp, c.w, &c.s);

                double *scratch = dalloc(n * o);
                double *r_dinp = dalloc(n * in), *r_dw = dalloc(o * in), *r_db = dalloc(o);
                double *t_dinp = dalloc(n * in), *t_dw = dalloc(o * in), *t_db = dalloc(o);
                pick_checked(t_dinp, n * in);
                pick_checked(t_dw, o * in);
                pick_checked(t_db, o);
                for (size_t i = 0; i < n * in; i++)
                    if (t_dinp[i] >= 0) r_dinp[i] = fd_linear(c.dinp, i, c.dinp, c.dw, c.db, c.ddout, &c.s, scratch);
                for (size_t i = 0; i < o * in; i++)
                    if (t_dw[i] >= 0) r_dw[i] = fd_linear(c.dw, i, c.dinp, c.dw, c.db, c.ddout, &c.s, scratch);
                for (size_t i = 0; i < o; i++)
                    if (t_db[i] >= 0) r_db[i] = fd_linear(c.db, i, c.dinp, c.dw, c.db, c.ddout, &c.s, scratch);
                linear_bounds(&c, 1.0, NULL, t_dinp, t_dw, t_db);

                char label[96];
                snprintf(label, sizeof label, "dinp (%zu x %zu -> %zu)", n, in, o);
                expect_within(label, dinp, r_dinp, t_dinp, n * in);
                snprintf(label, sizeof label, "dweight (%zu x %zu -> %zu)", n, in, o);
                expect_within(label, dw, r_dw, t_dw, o * in);
                snprintf(label, sizeof label, "dbias (%zu x %zu -> %zu)", n, in, o);
                expect_within(label, db, r_db, t_db, o);
                free(dinp), free(dw), free(db), free(scratch);
                free(r_dinp), free(r_dw), free(r_db), free(t_dinp), free(t_dw), free(t_db);
                linear_case_free(&c);
            }
}

Test(linear, parameter_grads_accumulate_input_grad_overwrites, .init = open_cpu, .fini = close_cpu) {
    seed_rng(3000);
    linear_case c = linear_case_make(33, 7, 9);
    const size_t n = 33, in = 7, o = 9;
    float *dinp1 = falloc(n * in), *dinp2 = falloc(n * in);
    float *dw = falloc(o * in), *db = falloc(o);
    /* garbage in dinp must not leak into the result (overwrite, not +=) */
    for (size_t i = 0; i < n * in; i++) dinp1[i] = NAN;
    gb_linear_backward(&dev, dinp1, dw, db, c.dout, c.inp, c.w, &c.s);
    double *dw1 = to_double(dw, o * in), *db1 = to_double(db, o);
    memcpy(dinp2, dinp1, n * in * sizeof(float));
    gb_linear_backward(&dev, dinp2, dw, db, c.dout, c.inp, c.w, &c.s);
    for (size_t i = 0; i < n * in; i++) {
        cr_expect(isfinite(dinp1[i]), "dinp[%zu] kept garbage: %g", i, (double)dinp1[i]);
        cr_expect_eq(memcmp(&dinp1[i], &dinp2[i], sizeof(float)), 0,
                     "dinp[%zu] changed on the second call: %.9g vs %.9g", i, (double)dinp1[i],
                     (double)dinp2[i]);
    }
    double *t_dw = dalloc(o * in), *t_db = dalloc(o);
    linear_bounds(&c, 2.0, NULL, NULL, t_dw, t_db);
    for (size_t i = 0; i < o * in; i++) dw1[i] *= 2;
    for (size_t i = 0; i < o; i++) db1[i] *= 2;
    expect_within("dweight after two calls = 2x", dw, dw1, t_dw, o * in);
    expect_within("dbias after two calls = 2x", db, db1, t_db, o);

    /* NULL dinp and NULL dbias: skipped, dweight unaffected */
    float *dw_only = falloc(o * in);
    gb_linear_backward(&dev, NULL, dw_only, NULL, c.dout, c.inp, c.w, &c.s);
    float *dw_full = falloc(o * in), *db_full = falloc(o);
    gb_linear_backward(&dev, dinp1, dw_full, db_full, c.dout, c.inp, c.w, &c.s);
    cr_expect_eq(memcmp(dw_only, dw_full, o * in * sizeof(float)), 0,
                 "dweight with NULL dinp/dbias differs from the full call");
    free(dinp1), free(dinp2), free(dw), free(db), free(dw1), free(db1), free(t_dw), free(t_db);
    free(dw_only), free(dw_full), free(db_full);
    linear_case_free(&c);
}

/* 1 and 2 threads; with pin_blas, OpenBLAS is held at one thread after the device opens, so
 * only our own pool's slicing varies and every result must be the same bits on any CPU. */
static void linear_thread_case(int pin_blas) {
    seed_rng(3100);
    linear_case c = linear_case_make(257, 128, 96);
    const size_t n = 257, in = 128, o = 96;
    float *out[2], *dinp[2], *dw[2], *db[2];
    for (int t = 0; t < 2; t++) {
        gb_device d;
        cr_assert_eq(gb_device_open(&d, "cpu", t + 1), GB_OK, "%s", gb_last_error());
        if (pin_blas) openblas_set_num_threads(1);
        out[t] = falloc(n * o), dinp[t] = falloc(n * in), dw[t] = falloc(o * in), db[t] = falloc(o);
        gb_linear_forward(&d, out[t], c.inp, c.w, c.b, &c.s);
        gb_linear_backward(&d, dinp[t], dw[t], db[t], c.dout, c.inp, c.w, &c.s);
        gb_device_close(&d);
    }
    if (pin_blas) {
        cr_expect_eq(memcmp(out[0], out[1], n * o * sizeof(float)), 0, "out differs between 1 and 2 pool threads");
        cr_expect_eq(memcmp(dinp[0], dinp[1], n * in * sizeof(float)), 0, "dinp differs between 1 and 2 pool threads");
        cr_expect_eq(memcmp(dw[0], dw[1], o * in * sizeof(float)), 0, "dweight differs between 1 and 2 pool threads");
    } else { /* sgemm products: bitwise where the BLAS is shape-invariant, else within rounding */
        expect_blas_split_equal("linear out, 1 vs 2 threads", out[0], out[1], n * o, 1e-5);
        expect_blas_split_equal("linear dinp, 1 vs 2 threads", dinp[0], dinp[1], n * in, 1e-5);
        expect_blas_split_equal("linear dweight, 1 vs 2 threads", dw[0], dw[1], o * in, 1e-5);
    }
    /* dbias is our own fixed-order double sum: bitwise everywhere */
    cr_expect_eq(memcmp(db[0], db[1], o * sizeof(float)), 0, "dbias differs between 1 and 2 threads");
    for (int t = 0; t < 2; t++) free(out[t]), free(dinp[t]), free(dw[t]), free(db[t]);
    linear_case_free(&c);
}

Test(linear, results_do_not_depend_on_thread_count) {
    linear_thread_case(0);
    linear_thread_case(1);
}

/* ---- softplus ------------------------------------------------------------ */

static double softplus_ref(double x) { return x > 20.0 ? x : log1p(exp(x)); }

Test(softplus, forward_and_backward_match_float64, .init = open_cpu, .fini = close_cpu) {
    seed_rng(4000);
    enum { N = 300 };
    /* Keep FD points at least 0.05 from the threshold: softplus_ref has a
     * 2e-9 step there (identity vs log1p(exp(20))), which a central difference
     * would see as a spike; the threshold has its own test below. */
    float *x = rand_floats(N, -40, 40), *dout = rand_floats(N, -2, 2);
    for (size_t i = 0; i < N; i++)
        if (fabsf(x[i] - 20.0f) < 0.05f) x[i] = 19.5f;
    float *out = falloc(N), *dinp = falloc(N);
    gb_softplus_forward(&dev, out, x, N);
    gb_softplus_backward(&dev, dinp, dout, x, N);
    double *r_out = dalloc(N), *r_d = dalloc(N);
    const double h = 1e-4;
    for (size_t i = 0; i < N; i++) {
        double xi = x[i];
        r_out[i] = softplus_ref(xi);
        r_d[i] = dout[i] * (softplus_ref(xi + h) - softplus_ref(xi - h)) / (2 * h);
    }
    expect_close("softplus out", out, r_out, N, 2e-45, 8 * U32);
    /* FD error here: truncation h^2/6*max|f'''| ~ 2e-10, rounding eps64*40/h ~ 1e-10 */
    expect_close("softplus dinp", dinp, r_d, N, 1e-9, 8 * U32);
    free(x), free(dout), free(out), free(dinp), free(r_out), free(r_d);
}

Test(softplus, threshold_and_tails, .init = open_cpu, .fini = close_cpu) {
    const float x[] = {19.9f, 19.999f, 20.0f, 20.001f, 20.1f, 30.0f, 1e6f, -20.1f, -50.0f, -87.0f,
                       -100.0f, -1e4f, 0.0f};
    enum { N = sizeof x / sizeof x[0] };
    float out[N], dinp[N], dout[N];
    for (size_t i = 0; i < N; i++) dout[i] = 1.5f;
    gb_softplus_forward(&dev, out, x, N);
    gb_softplus_backward(&dev, dinp, dout, x, N);
    double r_out[N], r_d[N];
    for (size_t i = 0; i < N; i++) {
        double xi = x[i];
        r_out[i] = log1p(exp(xi)); /* the exact function, no threshold */
        r_d[i] = 1.5 / (1.0 + exp(-xi));
        if (x[i] > 20.0f) {
            cr_expect_eq(out[i], x[i], "x=%g > 20 must return x itself, got %.9g", (double)x[i], (double)out[i]);
            cr_expect_eq(dinp[i], dout[i], "x=%g > 20 must pass dout through", (double)x[i]);
        }
    }
    /* The identity above 20 is within 2.1e-9 of log1p(exp(x)) (x=1e6 overflows
     * exp in double too, so its reference is x): 8u relative covers it. */
    r_out[6] = 1e6;
    expect_close("softplus around the threshold", out, r_out, N, 2e-45, 8 * U32);
    expect_close("softplus grad around the threshold", dinp, r_d, N, 2e-45, 8 * U32);
    cr_expect_eq(out[11], 0.0f, "softplus(-1e4) underflows to 0");
}

/* Infinities and NaN, as PyTorch: softplus(+inf) = +inf with gradient dout passed through,
 * softplus(-inf) = 0 with gradient 0, NaN stays NaN both ways. The backward of the softplus op
 * and of the activation op of kind SOFTPLUS give the same bits (two implementations; the
 * activation's forward is the softplus op itself). */
Test(softplus, infinities_and_nan, .init = open_cpu, .fini = close_cpu) {
    const float x[] = {INFINITY, -INFINITY, NAN, 25.0f, -3.0f};
    enum { N = sizeof x / sizeof x[0] };
    const float dout[N] = {1.5f, 1.5f, 1.5f, -2.0f, 0.75f};
    float out[N], dinp[N], act_dinp[N];
    gb_softplus_forward(&dev, out, x, N);
    gb_softplus_backward(&dev, dinp, dout, x, N);
    const gb_activation sp = {.kind = GB_ACT_SOFTPLUS};
    gb_activation_backward(&dev, act_dinp, dout, x, N, &sp);
    cr_expect(isinf(out[0]) && out[0] > 0 && dinp[0] == 1.5f, "x=+inf: out %g, dinp %g", (double)out[0],
              (double)dinp[0]);
    cr_expect(out[1] == 0.0f && dinp[1] == 0.0f, "x=-inf: out %g, dinp %g", (double)out[1], (double)dinp[1]);
    cr_expect(isnan(out[2]) && isnan(dinp[2]), "x=NaN: out %g, dinp %g", (double)out[2], (double)dinp[2]);
    for (size_t i = 0; i < N; i++) {
        if (isnan(x[i])) continue;
        cr_expect(memcmp(&dinp[i], &act_dinp[i], sizeof(float)) == 0, "x=%g: softplus grad %a, activation %a",
                  (double)x[i], (double)dinp[i], (double)act_dinp[i]);
    }
}

/* ---- half squared error ---------------------------------------------------- */

static double half_sq_ref(const double *p, const double *t, size_t rows, size_t cols) {
    double s = 0.0;
    for (size_t i = 0; i < rows * cols; i++) s += 0.5 * (p[i] - t[i]) * (p[i] - t[i]);
    return s / (double)rows;
}

Test(loss, half_sq_error_matches_float64_and_fd, .init = open_cpu, .fini = close_cpu) {
    const size_t shapes[][2] = {{1, 1}, {1, 7}, {5, 3}, {33, 9}, {129, 128}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        seed_rng(5000 + k);
        const size_t rows = shapes[k][0], cols = shapes[k][1], n = rows * cols;
        float *p = rand_floats(n, -2, 2), *t = rand_floats(n, -2, 2), *dp = falloc(n);
        float loss = NAN;
        gb_half_sq_error(&dev, &loss, dp, p, t, rows, cols);
        double *pd = to_double(p, n), *td = to_double(t, n), *r_dp = dalloc(n);
        double r_loss = half_sq_ref(pd, td, rows, cols);
        const double h = 1e-3; /* quadratic: central differences are exact up to rounding */
        for (size_t i = 0; i < n; i++) {
            double keep = pd[i];
            pd[i] = keep + h;
            double lp = half_sq_ref(pd, td, rows, cols);
            pd[i] = keep - h;
            double lm = half_sq_ref(pd, td, rows, cols);
            pd[i] = keep;
            r_dp[i] = (lp - lm) / (2 * h);
        }
        char label[64];
        snprintf(label, sizeof label, "loss (%zu x %zu)", rows, cols);
        expect_close(label, &loss, &r_loss, 1, 0, 2 * U32);
        snprintf(label, sizeof label, "dpred (%zu x %zu)", rows, cols);
        expect_close(label, dp, r_dp, n, 1e-9, 3 * U32);
        /* NULL dpred: loss only, same value */
        float loss2 = NAN;
        gb_half_sq_error(&dev, &loss2, NULL, p, t, rows, cols);
        cr_expect_eq(memcmp(&loss, &loss2, sizeof loss), 0, "loss with NULL dpred differs");
        free(p), free(t), free(dp), free(pd), free(td), free(r_dp);
    }
}

/* ---- Adam ------------------------------------------------------------------ */

/* float64 transcription of torch.optim.Adam / AdamW, hyperparameters taken as
 * the floats the kernel receives (widened exactly). */
static void adam_ref(double *p, const double *g_in, double *m, double *v, size_t n,
                     const gb_adam_hparams *hp, long step) {
    const double lr = hp->lr, b1 = hp->beta1, b2 = hp->beta2, eps = hp->eps, wd = hp->weight_decay;
    const double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);
    for (size_t i = 0; i < n; i++) {
        double g = g_in[i];
        if (hp->decoupled_weight_decay) p[i] *= 1.0 - lr * wd;
        else g += wd * p[i];
        m[i] = b1 * m[i] + (1.0 - b1) * g;
        v[i] = b2 * v[i] + (1.0 - b2) * g * g;
        p[i] -= (lr / bc1) * m[i] / (sqrt(v[i]) / sqrt(bc2) + eps);
    }
}

static double *adam_tolerance(const double *p, size_t n, long steps, double lr, double k_update) {
    double *tol = dalloc(n);
    for (size_t i = 0; i < n; i++) tol[i] = (double)steps * (4 * U32 * fabs(p[i]) + k_update * U32 * lr);
    return tol;
}

static void adam_three_steps(const gb_adam_hparams *hp, uint64_t seed, const char *label) {
    seed_rng(seed);
    enum { N = 77 };
    float *p = rand_floats(N, -2, 2), *m = falloc(N), *v = falloc(N);
    double *pr = to_double(p, N), *mr = dalloc(N), *vr = dalloc(N);
    for (long step = 1; step <= 3; step++) {
        float *g = rand_floats(N, -1, 1);
        g[0] = 0.0f;                  /* zero gradient: eps and decay alone */
        g[1] = 1e-6f, g[2] = -300.0f; /* tiny and large scales */
        double *gr = to_double(g, N);
        gb_adam_update(&dev, p, g, m, v, N, hp, step);
        adam_ref(pr, gr, mr, vr, N, hp, step);
        double *tol = adam_tolerance(pr, N, step, hp->lr, 40);
        char l[96];
        snprintf(l, sizeof l, "%s params after step %ld", label, step);
        expect_within(l, p, pr, tol, N);
        free(g), free(gr), free(tol);
    }
    free(p), free(m), free(v), free(pr), free(mr), free(vr);
}

static const gb_adam_hparams adam_hp = {0.01f, 0.9f, 0.999f, 1e-8f, 0.0f, 0};

Test(adam, three_steps_match_float64, .init = open_cpu, .fini = close_cpu) {
    adam_three_steps(&adam_hp, 6000, "adam");
    gb_adam_hparams l2 = adam_hp;
    l2.weight_decay = 0.01f;
    adam_three_steps(&l2, 6001, "adam (L2 0.01)");
    gb_adam_hparams w = l2;
    w.decoupled_weight_decay = 1;
    adam_three_steps(&w, 6002, "adamw (0.01)");
}

/* Fresh state (m = v = 0), one update at step t: m_hat = (1-b1) g / (1-b1^t),
 * v_hat = (1-b2) g^2 / (1-b2^t). At t = 1 that is p - lr*g/(|g|+eps); a
 * backend that numbered steps from 0, or ignored t, fails at t = 7. */
Test(adam, step_numbering_closed_form, .init = open_cpu, .fini = close_cpu) {
    seed_rng(6100);
    enum { N = 33 };
    const long steps[] = {1, 7, 1000};
    for (size_t k = 0; k < 3; k++) {
        const long t = steps[k];
        float *p = rand_floats(N, -1, 1), *g = rand_floats(N, -3, 3), *m = falloc(N), *v = falloc(N);
        double ref[N];
        const double lr = adam_hp.lr, b1 = adam_hp.beta1, b2 = adam_hp.beta2, eps = adam_hp.eps;
        for (size_t i = 0; i < N; i++) {
            double mh = (1 - b1) * g[i] / (1 - pow(b1, (double)t));
            double vh = (1 - b2) * (double)g[i] * g[i] / (1 - pow(b2, (double)t));
            ref[i] = p[i] - lr * mh / (sqrt(vh) + eps);
        }
        gb_adam_update(&dev, p, g, m, v, N, &adam_hp, t);
        double *tol = adam_tolerance(ref, N, 1, lr, 40);
        char l[64];
        snprintf(l, sizeof l, "first update numbered step %ld", t);
        expect_within(l, p, ref, tol, N);
        free(p), free(g), free(m), free(v), free(tol);
    }
}

/* AdamW with a zero gradient is pure decay: p * (1 - lr*wd), bit for bit the
 * float product (m = v = 0 make the Adam term exactly 0). Adam's L2 decay
 * instead turns into a gradient wd*p, so the first step moves p by ~lr. */
Test(adam, adamw_decay_closed_form, .init = open_cpu, .fini = close_cpu) {
    seed_rng(6200);
    enum { N = 20 };
    gb_adam_hparams w = adam_hp;
    w.weight_decay = 0.5f; /* large, so the decay is far above rounding */
    w.decoupled_weight_decay = 1;
    float *p = rand_floats(N, -1, 1), *p0 = falloc(N), *g = falloc(N), *m = falloc(N), *v = falloc(N);
    memcpy(p0, p, N * sizeof(float));
    gb_adam_update(&dev, p, g, m, v, N, &w, 1);
    const float factor = (float)(1.0 - (double)w.lr * (double)w.weight_decay);
    for (size_t i = 0; i < N; i++)
        cr_expect_eq(p[i], p0[i] * factor, "adamw decay [%zu]: %.9g vs %.9g", i, (double)p[i],
                     (double)(p0[i] * factor));

    gb_adam_hparams l2 = w;
    l2.decoupled_weight_decay = 0;
    memcpy(p, p0, N * sizeof(float));
    memset(m, 0, N * sizeof(float)), memset(v, 0, N * sizeof(float));
    gb_adam_update(&dev, p, g, m, v, N, &l2, 1);
    double ref[N];
    for (size_t i = 0; i < N; i++) {
        double ge = 0.5 * p0[i];
        ref[i] = p0[i] - (double)w.lr * ge / (fabs(ge) + (double)w.eps);
    }
    double *tol = adam_tolerance(ref, N, 1, w.lr, 40);
    expect_within("adam L2 decay first step", p, ref, tol, N);
    free(p), free(p0), free(g), free(m), free(v), free(tol);
}

/* ---- PyTorch parity -------------------------------------------------------- */

static void linear_fixture_case(const char *c, size_t rows, size_t in, size_t out) {
    char name[64];
#define LOAD(var, field, count)                                  \
    snprintf(name, sizeof name, "linear_%s_%s", c, field);       \
    float *var = load_fixture(name, count)
    LOAD(inp, "inp", rows * in);
    LOAD(w, "weight", out * in);
    LOAD(b, "bias", out);
    LOAD(dout, "dout", rows * out);
    LOAD(t_out, "out", rows * out);
    LOAD(t_dinp, "dinp", rows * in);
    LOAD(t_dw, "dweight", out * in);
    LOAD(t_db, "dbias", out);
#undef LOAD
    gb_linear_shape s = {rows, in, out};
    float *o = falloc(rows * out), *dinp = falloc(rows * in), *dw = falloc(out * in), *db = falloc(out);
    gb_linear_forward(&dev, o, inp, w, b, &s);
    gb_linear_backward(&dev, dinp, dw, db, dout, inp, w, &s);

    linear_case lc = {.s = s, .inp = inp, .w = w, .b = b, .dout = dout};
    lc.dinp = to_double(inp, rows * in), lc.dw = to_double(w, out * in);
    lc.db = to_double(b, out), lc.ddout = to_double(dout, rows * out);
    double *tol_o = dalloc(rows * out), *tol_i = dalloc(rows * in), *tol_w = dalloc(out * in),
           *tol_b = dalloc(out);
    linear_bounds(&lc, 2.0, tol_o, tol_i, tol_w, tol_b);
    double *r_o = to_double(t_out, rows * out), *r_i = to_double(t_dinp, rows * in),
           *r_w = to_double(t_dw, out * in), *r_b = to_double(t_db, out);
    char label[64];
    snprintf(label, sizeof label, "torch linear_%s out", c);
    expect_within(label, o, r_o, tol_o, rows * out);
    snprintf(label, sizeof label, "torch linear_%s dinp", c);
    expect_within(label, dinp, r_i, tol_i, rows * in);
    snprintf(label, sizeof label, "torch linear_%s dweight", c);
    expect_within(label, dw, r_w, tol_w, out * in);
    snprintf(label, sizeof label, "torch linear_%s dbias", c);
    expect_within(label, db, r_b, tol_b, out);
    linear_case_free(&lc);
    free(t_out), free(t_dinp), free(t_dw), free(t_db), free(o), free(dinp), free(dw), free(db);
    free(tol_o), free(tol_i), free(tol_w), free(tol_b), free(r_o), free(r_i), free(r_w), free(r_b);
}

Test(pytorch, linear, .init = open_cpu, .fini = close_cpu) {
    linear_fixture_case("a", 33, 7, 9);
    linear_fixture_case("b", 1, 3, 2);
}

Test(pytorch, softplus, .init = open_cpu, .fini = close_cpu) {
    enum { N = 64 };
    float *x = load_fixture("softplus_inp", N), *dout = load_fixture("softplus_dout", N);
    float *t_out = load_fixture("softplus_out", N), *t_d = load_fixture("softplus_dinp", N);
    float out[N], dinp[N];
    gb_softplus_forward(&dev, out, x, N);
    gb_softplus_backward(&dev, dinp, dout, x, N);
    double *r_out = to_double(t_out, N), *r_d = to_double(t_d, N);
    expect_close("torch softplus out", out, r_out, N, 1e-44, 16 * U32);
    expect_close("torch softplus dinp", dinp, r_d, N, 1e-44, 16 * U32);
    free(x), free(dout), free(t_out), free(t_d), free(r_out), free(r_d);
}

Test(pytorch, half_sq_error, .init = open_cpu, .fini = close_cpu) {
    const size_t rows = 33, cols = 9;
    float *p = load_fixture("loss_pred", rows * cols), *t = load_fixture("loss_target", rows * cols);
    float *t_dp = load_fixture("loss_dpred", rows * cols), *t_loss = load_fixture("loss_value", 1);
    float loss, dp[33 * 9];
    gb_half_sq_error(&dev, &loss, dp, p, t, rows, cols);
    double r_loss = t_loss[0], *r_dp = to_double(t_dp, rows * cols);
    expect_close("torch loss", &loss, &r_loss, 1, 0, 32 * U32);
    expect_close("torch dpred", dp, r_dp, rows * cols, 1e-12, 6 * U32);
    free(p), free(t), free(t_dp), free(t_loss), free(r_dp);
}

static void adam_fixture_run(const char *steps_name, const gb_adam_hparams *hp) {
    enum { N = 37, STEPS = 5 };
    float *p = load_fixture("adam_p0", N), *grads = load_fixture("adam_grads", STEPS * N);
    float *want = load_fixture(steps_name, STEPS * N);
    float m[N] = {0}, v[N] = {0};
    for (long s = 1; s <= STEPS; s++) {
        gb_adam_update(&dev, p, grads + (s - 1) * N, m, v, N, hp, s);
        double *ref = to_double(want + (s - 1) * N, N);
        double *tol = adam_tolerance(ref, N, s, hp->lr, 80);
        char label[64];
        snprintf(label, sizeof label, "torch %s step %ld", steps_name, s);
        expect_within(label, p, ref, tol, N);
        free(ref), free(tol);
    }
    free(p), free(grads), free(want);
}

Test(pytorch, adam, .init = open_cpu, .fini = close_cpu) {
    adam_fixture_run("adam_steps", &adam_hp);
    gb_adam_hparams l2 = adam_hp;
    l2.weight_decay = 0.01f;
    adam_fixture_run("adam_l2_steps", &l2);
    gb_adam_hparams w = l2;
    w.decoupled_weight_decay = 1;
    adam_fixture_run("adamw_steps", &w);
}

/* Every op of the vocabulary has a CPU implementation: a NULL entry would crash a model. */
Test(device, cpu_table_is_complete) {
    const char *missing = gb_backend_missing_op(&gb_cpu_backend);
    cr_expect_null(missing, "the CPU backend lacks op '%s'", missing ? missing : "");
}
