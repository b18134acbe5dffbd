/* bench/cases_linear.c - benchmark cases of the GEMM family: OpenBLAS sgemm (the
 * reference rate every GEMM-shaped kernel is compared with) and our linear layer,
 * forward and both backward passes, on the shapes the models use.
 *
 * Shapes come from the model definitions (models/scorenet_mlp.h for the toy MLP,
 * gb_zsl_gan_linear_shapes for GAZSL/CIZSL's 1000-row text GAN on CUB and the GBU GAN's
 * 1024-row batches on AWA2) and the square sgemm sizes that show the BLAS ceiling; equal
 * shapes are timed once, under the first layer's name. FLOPs: 2*M*N*K per GEMM;
 * bytes: every operand read or written once (4 bytes a float).
 * The check runs the timed implementation once and compares 8 output rows with a
 * float64 dot-product reference: normalised max error |got - ref| / (sum|terms|)
 * must stay under (K+2)*2^-24, Higham's bound (tests/tolerances.md).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/philox.h"
#include "../models/zsl_gan.h"
#include "cases.h"

typedef struct {
    int m, n, k; /* out [m, n] = a [m, k] @ b^T, b [n, k] */
    float *a, *b, *bias, *out, *dout, *da, *db, *dbias;
    int direction; /* 0 fwd, 1 bwd_data, 2 bwd_weight */
} linear_ctx;

static gb_status linear_setup(gb_bench_case *c, gb_device *dev) {
    linear_ctx *x = c->ctx;
    size_t m = (size_t)x->m, n = (size_t)x->n, k = (size_t)x->k;
    x->a = gb_bench_random_floats(dev, m * k, 1, "bench/a", -1.0f, 1.0f);
    x->b = gb_bench_random_floats(dev, n * k, 1, "bench/b", -1.0f, 1.0f);
    x->bias = gb_bench_random_floats(dev, n, 1, "bench/bias", -1.0f, 1.0f);
    x->dout = gb_bench_random_floats(dev, m * n, 1, "bench/dout", -1.0f, 1.0f);
    x->out = gb_dev_alloc(dev, m * n * sizeof(float));
    x->da = gb_dev_alloc(dev, m * k * sizeof(float));
    x->db = gb_dev_alloc(dev, n * k * sizeof(float));
    x->dbias = gb_dev_alloc(dev, n * sizeof(float));
    gb_dev_zero(dev, x->db, n * k * sizeof(float));
    gb_dev_zero(dev, x->dbias, n * sizeof(float));
    return GB_OK;
}

static void linear_teardown(gb_bench_case *c, gb_device *dev) {
    linear_ctx *x = c->ctx;
    float *bufs[] = {x->a, x->b, x->bias, x->out, x->dout, x->da, x->db, x->dbias};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) gb_dev_free(dev, bufs[i]);
    *x = (linear_ctx){.m = x->m, .n = x->n, .k = x->k, .direction = x->direction};
}

static void sgemm_run(gb_bench_case *c, gb_device *dev) {
    (void)dev;
    linear_ctx *x = c->ctx;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, x->m, x->n, x->k, 1.0f, x->a, x->k, x->b, x->k, 0.0f,
                x->out, x->n);
}

static void linear_run(gb_bench_case *c, gb_device *dev) {
    linear_ctx *x = c->ctx;
    gb_linear_shape s = {.rows = (size_t)x->m, .in_features = (size_t)x->k, .out_features = (size_t)x->n};
    if (x->direction == 0) gb_linear_forward(dev, x->out, x->a, x->b, x->bias, &s);
    else if (x->direction == 1) gb_linear_backward(dev, x->da, NULL, NULL, x->dout, x->a, x->b, &s);
    else gb_linear_backward(dev, NULL, x->db, x->dbias, x->dout, x->a, x->b, &s);
    gb_dev_sync(dev);
}

/* Normalised error of 8 rows of the result against float64 dot products. */
static int linear_check(gb_bench_case *c, gb_device *dev, double *error) {
    linear_ctx *x = c->ctx;
    size_t m = (size_t)x->m, n = (size_t)x->n, k = (size_t)x->k;
    size_t largest = m * n;
    if (m * k > largest) largest = m * k;
    if (n * k > largest) largest = n * k;
    float *a = malloc(m * k * sizeof *a), *b = malloc(n * k * sizeof *b), *dout = malloc(m * n * sizeof *dout);
    float *bias = malloc(n * sizeof *bias), *got = malloc(largest * sizeof *got);
    GB_ASSERT(a && b && dout && bias && got, "out of memory checking a %dx%dx%d GEMM", x->m, x->n, x->k);
    gb_download(dev, a, x->a, m * k * sizeof *a);
    gb_download(dev, b, x->b, n * k * sizeof *b);
    gb_download(dev, dout, x->dout, m * n * sizeof *dout);
    gb_download(dev, bias, x->bias, n * sizeof *bias);
    int adds_bias = strcmp(c->impl, "openblas") != 0; /* the raw sgemm has no bias */
    double worst = 0;
    int terms = 0;
    if (x->direction == 0) { /* out[i, j] = sum_p a[i, p] b[j, p] (+ bias) */
        gb_download(dev, got, x->out, m * n * sizeof *got);
        for (size_t i = 0; i < m && i < 8; i++)
            for (size_t j = 0; j < n; j++) {
                double ref = 0, mag = 0;
                for (size_t p = 0; p < k; p++) ref += (double)a[i * k + p] * b[j * k + p], mag += fabs((double)a[i * k + p] * b[j * k + p]);
                if (adds_bias) ref += bias[j], mag += fabs(bias[j]);
                double e = fabs(got[i * n + j] - ref) / (mag > 0 ? mag : 1);
                if (e > worst) worst = e;
            }
        terms = x->k;
    } else if (x->direction == 1) { /* da[i, p] = sum_j dout[i, j] b[j, p] */
        gb_download(dev, got, x->da, m * k * sizeof *got);
        for (size_t i = 0; i < m && i < 8; i++)
            for (size_t p = 0; p < k; p++) {
                double ref = 0, mag = 0;
                for (size_t j = 0; j < n; j++) ref += (double)dout[i * n + j] * b[j * k + p], mag += fabs((double)dout[i * n + j] * b[j * k + p]);
                double e = fabs(got[i * k + p] - ref) / (mag > 0 ? mag : 1);
                if (e > worst) worst = e;
            }
        terms = x->n;
    } else { /* one fresh accumulation: db[j, p] = sum_i dout[i, j] a[i, p] */
        gb_dev_zero(dev, x->db, n * k * sizeof(float));
        gb_dev_zero(dev, x->dbias, n * sizeof(float));
        linear_run(c, dev);
        gb_download(dev, got, x->db, n * k * sizeof *got);
        for (size_t j = 0; j < n && j < 8; j++)
            for (size_t p = 0; p < k; p++) {
                double ref = 0, mag = 0;
                for (size_t i = 0; i < m; i++) ref += (double)dout[i * n + j] * a[i * k + p], mag += fabs((double)dout[i * n + j] * a[i * k + p]);
                double e = fabs(got[j * k + p] - ref) / (mag > 0 ? mag : 1);
                if (e > worst) worst = e;
            }
        terms = x->m;
    }
    free(a);
    free(b);
    free(dout);
    free(bias);
    free(got);
    *error = worst;
    return worst <= (terms + 2) * 5.9604644775390625e-8;
}

/* The rows' parameters live here, not in per-row allocations: rows that --filter leaves out
 * are never set up or torn down, so nothing would free them. Registered once per run. */
enum { MAX_LINEAR_ROWS = 64 };
static linear_ctx rows[MAX_LINEAR_ROWS];
static size_t n_rows;

static void add_case(gb_bench_list *list, const char *kernel, const char *dir, const char *impl, const char *origin,
                     int m, int n, int k, int direction, void (*run)(gb_bench_case *, gb_device *)) {
    gb_bench_case *c = gb_bench_list_add(list);
    snprintf(c->kernel, sizeof c->kernel, "%s", kernel);
    snprintf(c->direction, sizeof c->direction, "%s", dir);
    snprintf(c->impl, sizeof c->impl, "%s", impl);
    snprintf(c->shape, sizeof c->shape, "%s m%d n%d k%d", origin, m, n, k);
    GB_ASSERT(n_rows < MAX_LINEAR_ROWS, "more than %d linear benchmark rows", MAX_LINEAR_ROWS);
    linear_ctx *x = &rows[n_rows++];
    *x = (linear_ctx){.m = m, .n = n, .k = k, .direction = direction};
    c->ctx = x;
    c->where = strcmp(impl, "openblas") == 0 ? GB_BENCH_CPU_ONLY : GB_BENCH_ON_DEVICE;
    c->flops = 2.0 * m * n * k;
    c->bytes = 4.0 * ((double)m * k + (double)n * k + (double)m * n);
    c->setup = linear_setup;
    c->run = run;
    c->check = linear_check;
    c->teardown = linear_teardown;
}

void gb_bench_add_linear_cases(gb_bench_list *list, int quick) {
    n_rows = 0;
    /* The BLAS ceiling: square GEMMs large enough to run at the library's best rate. */
    const int square[] = {256, 1024};
    for (size_t i = 0; i < sizeof square / sizeof square[0]; i++) {
        if (quick && square[i] > 256) continue;
        add_case(list, "sgemm", "fwd", "openblas", "square", square[i], square[i], square[i], 0, sgemm_run);
    }
    /* The toy2d ScoreNet's hidden layer on the whole CS446 cloud (models/scorenet_mlp.h). */
    const int rows = 1291, width = 128;
    add_case(list, "linear", "fwd", "ours-cpu", "scorenet-mlp hidden", rows, width, width, 0, linear_run);
    add_case(list, "linear", "bwd_data", "ours-cpu", "scorenet-mlp hidden", rows, width, width, 1, linear_run);
    add_case(list, "linear", "bwd_weight", "ours-cpu", "scorenet-mlp hidden", rows, width, width, 2, linear_run);
    if (quick) return;
    /* The zero-shot GANs (specs/pipelines.md 1.2-1.3 and 2.2-2.3): CUB text (7551-d TF-IDF,
     * 3584-d features, 150 seen classes, batch 1000) and AWA2 attributes (85-d, z 10, 2048-d
     * ResNet features, 40 seen classes, batch 1024). */
    const struct {
        const char *tag;
        gb_zsl_gan_config cfg;
        int batch;
    } zsl[] = {{"gazsl-cub", gb_zsl_gan_config_text(7551, 3584, 150, 0), 1000},
               {"gbu-awa2", gb_zsl_gan_config_attribute(85, 10, 2048, 40), 1024}};
    enum { MAX_LINEARS = 16 };
    gb_linear_shape seen[2 * MAX_LINEARS];
    size_t n_seen = 0;
    for (size_t z = 0; z < sizeof zsl / sizeof zsl[0]; z++) {
        gb_linear_shape shapes[MAX_LINEARS];
        const char *names[MAX_LINEARS];
        size_t count = gb_zsl_gan_linear_shapes(&zsl[z].cfg, zsl[z].batch, shapes, names, MAX_LINEARS);
        GB_ASSERT(count <= MAX_LINEARS, "zsl gan lists %zu linears", count);
        for (size_t i = 0; i < count; i++) {
            const gb_linear_shape *sh = &shapes[i];
            int dup = 0;
            for (size_t j = 0; j < n_seen; j++)
                dup |= seen[j].rows == sh->rows && seen[j].in_features == sh->in_features &&
                        seen[j].out_features == sh->out_features;
            if (dup) continue;
            seen[n_seen++] = *sh;
            char origin[96];
            snprintf(origin, sizeof origin, "%s %s", zsl[z].tag, names[i]);
            static const char *const dirs[] = {"fwd", "bwd_data", "bwd_weight"};
            for (int d = 0; d < 3; d++)
                add_case(list, "linear", dirs[d], "ours-cpu", origin, (int)sh->rows, (int)sh->out_features,
                         (int)sh->in_features, d, linear_run);
        }
    }
}
