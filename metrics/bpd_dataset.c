/* metrics/bpd_dataset.c - a test set's bits/dim over several dequantisation passes
 * (metrics/bpd_dataset.h). */
#include "metrics/bpd_dataset.h"

#include <math.h>
#include <stdlib.h>

#include "core/philox.h"

/* One pass: the mean of the samples' bits/dim, batch by batch. */
static gb_status one_pass(double *mean, const uint8_t *levels, size_t n, size_t dim, size_t batch, size_t pass,
                          gb_data_scaling scaling, uint64_t seed, gb_batch_loglik_fn fn, void *user, float *x,
                          double *logp) {
    gb_stream noise = gb_stream_openf(seed, "bpd/dequantize/pass%zu", pass);
    double sum = 0.0;
    for (size_t first = 0; first < n; first += batch) {
        size_t rows = n - first < batch ? n - first : batch;
        noise.position = (uint64_t)first * dim; /* sample i's noise: words i*dim.. whatever the batch */
        gb_dequantize_u8(x, levels + first * dim, rows * dim, scaling, &noise);
        gb_status s = fn(user, logp, x, rows, dim, pass, first);
        if (s != GB_OK) return gb_fail_wrap(s, "bits/dim: dequantisation pass %zu, samples %zu..%zu", pass, first,
                                            first + rows - 1);
        for (size_t b = 0; b < rows; b++) {
            if (!isfinite(logp[b]))
                return gb_fail(GB_NUMERIC, "bits/dim: the model's log-density of sample %zu is %g (dequantisation "
                                           "pass %zu)",
                               first + b, logp[b], pass);
            sum += gb_bits_per_dim(logp[b], dim, scaling);
        }
    }
    *mean = sum / (double)n;
    return GB_OK;
}

gb_status gb_bpd_dataset(gb_bpd_dataset_result *out, double *pass_bpd, const uint8_t *levels, size_t n, size_t dim,
                         size_t batch, size_t passes, gb_data_scaling scaling, uint64_t seed, gb_batch_loglik_fn fn,
                         void *user) {
    GB_ASSERT(out && levels && fn, "gb_bpd_dataset: NULL argument");
    if (n == 0 || dim == 0 || batch == 0 || passes == 0)
        return gb_fail(GB_USAGE, "bits/dim: %zu samples of %zu dimensions in batches of %zu over %zu passes: none may "
                                 "be 0",
                       n, dim, batch, passes);
    if (batch > n) batch = n;
    float *x = malloc(batch * dim * sizeof *x);
    double *logp = malloc(batch * sizeof *logp), *values = malloc(passes * sizeof *values);
    gb_status s = x && logp && values ? GB_OK : gb_fail(GB_ENV, "bits/dim: out of memory for a batch of %zu", batch);
    for (size_t p = 0; p < passes && s == GB_OK; p++)
        s = one_pass(&values[p], levels, n, dim, batch, p, scaling, seed, fn, user, x, logp);
    if (s == GB_OK) {
        double mean = 0.0, var = 0.0;
        for (size_t p = 0; p < passes; p++) mean += values[p];
        mean /= (double)passes;
        for (size_t p = 0; p < passes; p++) var += (values[p] - mean) * (values[p] - mean);
        *out = (gb_bpd_dataset_result){
            .bpd = mean, .pass_std = sqrt(var / (double)passes), .passes = passes, .samples = n, .dim = dim};
        if (pass_bpd)
            for (size_t p = 0; p < passes; p++) pass_bpd[p] = values[p];
    }
    free(x);
    free(logp);
    free(values);
    return s;
}
