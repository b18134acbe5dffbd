/* tests/dcgan_fixture.h - shared by tests/test_dcgan_resnet.c and tests/test_wgan_gp.c: load the
 * fixtures of tests/peers/dcgan_resnet_ref.py and compare against its float64 references with
 * tolerances scaled from PyTorch's own float32 error.
 *
 * Each reference R comes as R.f32 (the float64 result, rounded to float32 once) and R.err.f32
 * [tensors, 3]: per tensor, PyTorch float32's max |f32 - f64|, ||f32 - f64||_2 and ||f64||_2.
 * A float32 implementation of the same network lands at a distance of that order from the
 * float64 result (its roundings differ, not their count or size); the check allows
 * DCGAN_K times PyTorch's distance, elementwise (max) and normwise, plus a floor of
 * DCGAN_FLOOR_U float32 roundings of the tensor's RMS (for tensors where PyTorch happened to be
 * exact or nearly so). Reasons and measured ratios: tests/tolerances.md, "dcgan_resnet".
 */
#ifndef GB_TEST_DCGAN_FIXTURE_H
#define GB_TEST_DCGAN_FIXTURE_H

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../models/dcgan_resnet.h"
#include "fixture.h"

#define DCGAN_B 2
#define DCGAN_K 8.0
#define DCGAN_FLOOR_U 64.0
#define DCGAN_U 5.9604644775390625e-8

static inline gb_device dcgan_open_cpu(void) {
    gb_device dev;
    cr_assert_eq(gb_device_open(&dev, "cpu", 1), GB_OK, "%s", gb_last_error());
    return dev;
}

static inline float *dcgan_fixture(const char *name, size_t count) {
    char rel[512];
    snprintf(rel, sizeof rel, "dcgan_resnet/%s.f32", name);
    return fixture_f32(rel, count);
}

/* Upload "<tag>_init" into the block (the peer wrote the state dict in its order, which is
 * the table's: checked name by name against "<tag>_names.txt"). */
static inline void dcgan_load_params(gb_device *dev, gb_param_block *pb, const char *tag) {
    const char *root = getenv("GB_FIXTURES");
    if (!root) cr_assert_fail("GB_FIXTURES is not set: run the tests with `make test`");
    char path[1024], name[256];
    snprintf(path, sizeof path, "%s/dcgan_resnet/%s_names.txt", root, tag);
    FILE *fp = fopen(path, "r");
    if (!fp) cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/dcgan_resnet_ref.py %s", path, root);
    size_t numel, i = 0;
    while (fscanf(fp, "%255s %zu", name, &numel) == 2) {
        cr_assert_lt(i, pb->n_specs, "%s: more tensors than the table's %zu", path, pb->n_specs);
        cr_assert_str_eq(name, pb->specs[i].name, "%s line %zu: PyTorch's state dict has %s where the table has %s",
                         path, i + 1, name, pb->specs[i].name);
        cr_assert_eq(numel, gb_param_numel(&pb->specs[i]), "%s: %s has %zu elements, the table %zu", path, name,
                     numel, gb_param_numel(&pb->specs[i]));
        i++;
    }
    fclose(fp);
    cr_assert_eq(i, pb->n_specs, "%s: %zu tensors, the table has %zu", path, i, pb->n_specs);
    char rel[64];
    snprintf(rel, sizeof rel, "%s_init", tag);
    float *w = dcgan_fixture(rel, pb->total);
    gb_upload(dev, pb->params, w, pb->total * sizeof(float));
    free(w);
}

/* Compare got (host floats, the tensors of `sizes` back to back) with reference `name`.
 * Returns the worst ratio of our distance to PyTorch float32's (elementwise max), for logs. */
static inline double dcgan_expect_ref(const char *name, const float *got, const size_t *sizes, size_t tensors,
                                      const char *const *labels) {
    size_t total = 0;
    for (size_t t = 0; t < tensors; t++) total += sizes[t];
    float *ref = dcgan_fixture(name, total);
    char ename[256];
    snprintf(ename, sizeof ename, "%s.err", name);
    float *err = dcgan_fixture(ename, 3 * tensors);
    double worst_ratio = 0;
    size_t off = 0;
    for (size_t t = 0; t < tensors; t++) {
        size_t n = sizes[t];
        double tmax = err[3 * t], tnorm = err[3 * t + 1], rnorm = err[3 * t + 2];
        double floor_ = DCGAN_FLOOR_U * DCGAN_U * rnorm / sqrt((double)(n ? n : 1));
        double lim_max = DCGAN_K * tmax + floor_, lim_norm = DCGAN_K * tnorm + floor_ * sqrt((double)n);
        double dmax = 0, dsq = 0;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)got[off + i] - (double)ref[off + i]);
            if (!(d <= dmax)) {
                dmax = d;
                at = i;
            }
            dsq += d * d;
        }
        double dnorm = sqrt(dsq);
        const char *label = labels ? labels[t] : "";
        double ratio = tmax > 0 ? dmax / tmax : (dmax > 0 ? INFINITY : 0);
        if (ratio > worst_ratio) worst_ratio = ratio;
        cr_log_info("%s %s: max diff %.3g (torch32 %.3g, ratio %.2f), norm diff %.3g (torch32 %.3g), |ref| %.3g",
                    name, label, dmax, tmax, ratio, dnorm, tnorm, rnorm);
        cr_expect(dmax <= lim_max, "%s %s: element %zu differs by %.3g > %.3g (= %g x torch32's max %.3g + floor %.3g); "
                  "got %.9g want %.9g", name, label, at, dmax, lim_max, DCGAN_K, tmax, floor_, (double)got[off + at],
                  (double)ref[off + at]);
        cr_expect(dnorm <= lim_norm, "%s %s: normwise difference %.3g > %.3g (%g x torch32's %.3g + floor)", name,
                  label, dnorm, lim_norm, DCGAN_K, tnorm);
        off += n;
    }
    free(ref);
    free(err);
    return worst_ratio;
}

/* After a second identical backward the gradients must be twice the first's: per tensor,
 * |g2 - 2 g1| <= DCGAN_ACC_U u max|g1| (the kernels add their per-chunk partial sums into the
 * accumulator one by one, so the second pass rounds differently from an exact doubling; an
 * overwrite would miss by max|g1| itself). Returns the worst |g2 - 2 g1| / (u max|g1|). */
#define DCGAN_ACC_U 64.0
static inline double dcgan_expect_doubled(const char *what, const gb_param_block *pb, const float *g1,
                                          const float *g2) {
    double worst = 0;
    for (size_t t = 0; t < pb->n_specs; t++) {
        size_t off = pb->offsets[t], n = gb_param_numel(&pb->specs[t]);
        double m = 0, d = 0;
        for (size_t i = 0; i < n; i++) {
            if (fabs(g1[off + i]) > m) m = fabs(g1[off + i]);
            double e = fabs((double)g2[off + i] - 2.0 * g1[off + i]);
            if (e > d) d = e;
        }
        double r = m > 0 ? d / (DCGAN_U * m) : (d > 0 ? INFINITY : 0);
        if (r > worst) worst = r;
        cr_expect(r <= DCGAN_ACC_U, "%s %s: the second backward did not double the gradient (off by %.3g u max|g1|)",
                  what, pb->specs[t].name, r);
    }
    cr_log_info("%s: worst |g2 - 2 g1| = %.3g u max|g1|", what, worst);
    return worst;
}

/* The same for a single tensor of n floats. */
static inline double dcgan_expect_ref1(const char *name, const float *got, size_t n) {
    return dcgan_expect_ref(name, got, &n, 1, NULL);
}

/* A parameter-gradient block against reference `name` (one tensor per table entry). */
static inline double dcgan_expect_grads(const char *name, gb_device *dev, const gb_param_block *pb) {
    float *host = malloc(pb->total * sizeof(float));
    size_t *sizes = malloc(pb->n_specs * sizeof *sizes);
    const char **labels = malloc(pb->n_specs * sizeof *labels);
    cr_assert(host && sizes && labels);
    gb_download(dev, host, pb->grads, pb->total * sizeof(float));
    for (size_t i = 0; i < pb->n_specs; i++) {
        sizes[i] = gb_param_numel(&pb->specs[i]);
        labels[i] = pb->specs[i].name;
    }
    double r = dcgan_expect_ref(name, host, sizes, pb->n_specs, labels);
    free(host);
    free(sizes);
    free(labels);
    return r;
}

#endif
