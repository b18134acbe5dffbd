/* tests/test_bpd_dataset.c - a test set's bits/dim over dequantisation passes
 * (metrics/bpd_dataset.h) against a closed form and a recomputation from the documented streams.
 *
 * The model: density 2x per coordinate on [0,1] (GB_DATA_01), log p(x~) = sum_i log(2 x~_i).
 * Over the dequantisation noise x~ = (k + u) / 256, u ~ U(0,1), its expected bits/dim is
 *   E[bpd] = 8 - (1 / (D ln 2)) sum_i E[log(2 (k_i + u) / 256)]
 *          = 15 - (1 / (D ln 2)) sum_i I(k_i),   I(k) = int_k^{k+1} ln v dv
 *                                                      = (k+1) ln(k+1) - k ln k - 1,
 * so a level of 255 (density ~2) costs 7 bits and a level of 0 many more.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/philox.h"
#include "core/status.h"
#include "metrics/bpd_dataset.h"

#define SEED 0x5eedULL
#define N 16
#define D 12

static void fill_levels(uint8_t *levels, uint8_t lowest) {
    gb_stream s = gb_stream_open(SEED, "test/levels");
    for (size_t i = 0; i < N * D; i++) levels[i] = (uint8_t)(lowest + gb_stream_below(&s, 256u - lowest));
}

/* log p of the density 2x per coordinate; counts the calls and checks their addressing. */
typedef struct {
    size_t calls, next_first, pass;
} linear_model;

static gb_status linear_logp(void *user, double *logp, const float *x, size_t batch, size_t dim, size_t pass,
                             size_t first) {
    linear_model *m = user;
    if (pass != m->pass) m->pass = pass, m->next_first = 0;
    cr_expect_eq(first, m->next_first, "batches arrive in order");
    m->next_first = first + batch;
    m->calls++;
    for (size_t b = 0; b < batch; b++) {
        double acc = 0.0;
        for (size_t i = 0; i < dim; i++) acc += log(2.0 * (double)x[b * dim + i]);
        logp[b] = acc;
    }
    return GB_OK;
}

static double integral_log(double k) { return (k + 1) * log(k + 1) - (k > 0 ? k * log(k) : 0.0) - 1.0; }

/* The expectation over the noise (the header's closed form), against 256 passes: levels of at
 * least 8 keep each sample's spread small (Var log(k + u) <= 1 / (12 k^2)), so the mean of 256 x 16
 * samples lies within ~5e-4 bits of it; 3e-3 is six of those. */
Test(bpd_dataset, matches_the_closed_form_expectation) {
    uint8_t levels[N * D];
    fill_levels(levels, 8);
    double expected = 0.0;
    for (size_t s = 0; s < N; s++) {
        double sum = 0.0;
        for (size_t i = 0; i < D; i++) sum += integral_log(levels[s * D + i]);
        expected += 15.0 - sum / (D * log(2.0));
    }
    expected /= N;
    linear_model m = {0};
    gb_bpd_dataset_result r;
    cr_assert_eq(gb_bpd_dataset(&r, NULL, levels, N, D, 5, 256, GB_DATA_01, 7, linear_logp, &m), GB_OK, "%s",
                 gb_last_error());
    cr_expect(fabs(r.bpd - expected) < 3e-3, "bits/dim %.6f, expected %.6f", r.bpd, expected);
    cr_expect(r.pass_std > 0 && r.pass_std < 0.01, "spread over passes %.3g", r.pass_std);
    cr_expect_eq(r.passes, 256);
    cr_expect_eq(r.samples, N);
    cr_expect_eq(r.dim, D);
    cr_expect_eq(m.calls, 256 * 4, "ceil(16 / 5) batches per pass");
}

/* Every pass recomputed from the streams the header documents: sample i of pass p takes words
 * i*D.. of (seed, "bpd/dequantize/pass<p>"). */
Test(bpd_dataset, passes_use_the_documented_streams) {
    uint8_t levels[N * D];
    fill_levels(levels, 0);
    enum { PASSES = 5 };
    double per_pass[PASSES], want[PASSES], mean = 0.0;
    linear_model m = {0};
    gb_bpd_dataset_result r;
    cr_assert_eq(gb_bpd_dataset(&r, per_pass, levels, N, D, 3, PASSES, GB_DATA_01, 11, linear_logp, &m), GB_OK, "%s",
                 gb_last_error());
    for (size_t p = 0; p < PASSES; p++) {
        char name[64];
        snprintf(name, sizeof name, "bpd/dequantize/pass%zu", p);
        gb_stream s = gb_stream_open(11, name);
        double sum = 0.0;
        for (size_t i = 0; i < N; i++) {
            double logp = 0.0;
            for (size_t j = 0; j < D; j++) {
                float u;
                gb_stream_uniform(&s, &u, 1);
                float x = (float)((levels[i * D + j] + (double)u) / 256.0);
                logp += log(2.0 * (double)x);
            }
            sum += -logp / log(2.0) / D + 8.0;
        }
        want[p] = sum / N;
        mean += want[p] / PASSES;
        cr_expect(fabs(per_pass[p] - want[p]) <= 1e-12 * want[p], "pass %zu: %.17g, recomputed %.17g", p, per_pass[p],
                  want[p]);
    }
    cr_expect(fabs(r.bpd - mean) <= 1e-12 * mean, "%.17g vs %.17g", r.bpd, mean);
    cr_expect(per_pass[0] != per_pass[1], "passes draw different noise");
}

/* The batch size changes nothing, to the bit. */
Test(bpd_dataset, batch_size_changes_nothing) {
    uint8_t levels[N * D];
    fill_levels(levels, 0);
    double a[3], b[3];
    gb_bpd_dataset_result ra, rb;
    linear_model ma = {0}, mb = {0};
    cr_assert_eq(gb_bpd_dataset(&ra, a, levels, N, D, 1, 3, GB_DATA_01, 3, linear_logp, &ma), GB_OK);
    cr_assert_eq(gb_bpd_dataset(&rb, b, levels, N, D, 100, 3, GB_DATA_01, 3, linear_logp, &mb), GB_OK);
    cr_expect_eq(memcmp(a, b, sizeof a), 0);
    cr_expect_eq(memcmp(&ra, &rb, sizeof ra), 0);
    cr_expect_eq(mb.calls, 3, "one batch of all 16 per pass");
}

/* The uniform density on [-1,1]^D: log p = -D ln 2 whatever the noise, so every pass gives 8
 * bits exactly (the offset 7 plus 1) and the spread is 0. */
static gb_status uniform_pm1_logp(void *user, double *logp, const float *x, size_t batch, size_t dim, size_t pass,
                                  size_t first) {
    (void)user, (void)pass, (void)first;
    for (size_t b = 0; b < batch; b++) {
        for (size_t i = 0; i < dim; i++) cr_assert(x[b * dim + i] >= -1.0f && x[b * dim + i] <= 1.0f);
        logp[b] = -(double)dim * log(2.0);
    }
    return GB_OK;
}

Test(bpd_dataset, uniform_density_is_eight_bits_in_every_pass) {
    uint8_t levels[N * D];
    fill_levels(levels, 0);
    gb_bpd_dataset_result r;
    cr_assert_eq(gb_bpd_dataset(&r, NULL, levels, N, D, 4, 5, GB_DATA_PM1, 1, uniform_pm1_logp, NULL), GB_OK);
    cr_expect(fabs(r.bpd - 8.0) < 1e-12, "%.17g", r.bpd);
    cr_expect(r.pass_std < 1e-12, "%.3g", r.pass_std);
}

/* A model whose log-density turns NaN at sample 9 of pass 1, and one that fails. */
static gb_status nan_logp(void *user, double *logp, const float *x, size_t batch, size_t dim, size_t pass,
                          size_t first) {
    (void)user, (void)x, (void)dim;
    for (size_t b = 0; b < batch; b++) logp[b] = pass == 1 && first + b == 9 ? NAN : -1.0;
    return GB_OK;
}
static gb_status failing_logp(void *user, double *logp, const float *x, size_t batch, size_t dim, size_t pass,
                              size_t first) {
    (void)user, (void)logp, (void)x, (void)batch, (void)dim, (void)pass, (void)first;
    return gb_fail(GB_INPUT, "model refused");
}

Test(bpd_dataset, failures_name_the_pass_and_sample) {
    uint8_t levels[N * D];
    fill_levels(levels, 0);
    gb_bpd_dataset_result r;
    cr_expect_eq(gb_bpd_dataset(&r, NULL, levels, N, D, 4, 3, GB_DATA_01, 1, nan_logp, NULL), GB_NUMERIC);
    cr_expect_not_null(strstr(gb_last_error(), "log-density of sample 9 is nan (dequantisation pass 1)"), "%s",
                       gb_last_error());
    cr_expect_eq(gb_bpd_dataset(&r, NULL, levels, N, D, 4, 3, GB_DATA_01, 1, failing_logp, NULL), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "model refused"), "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), "pass 0, samples 0..3"), "%s", gb_last_error());
    cr_expect_eq(gb_bpd_dataset(&r, NULL, levels, N, D, 4, 0, GB_DATA_01, 1, nan_logp, NULL), GB_USAGE);
    cr_expect_eq(gb_bpd_dataset(&r, NULL, levels, N, D, 0, 3, GB_DATA_01, 1, nan_logp, NULL), GB_USAGE);
    cr_expect_eq(gb_bpd_dataset(&r, NULL, levels, 0, D, 4, 3, GB_DATA_01, 1, nan_logp, NULL), GB_USAGE);
}
