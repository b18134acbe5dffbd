/* metrics/prdc.c - blocked k-NN radii and precision / recall / density / coverage (see
 * metrics/prdc.h; tested by tests/test_fid_stats.c). */
#include "metrics/prdc.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/kid.h"

gb_status gb_prdc_protocol_by_name(gb_prdc_protocol *p, const char *name) {
    if (strcmp(name, "kynkaanniemi") == 0) {
        *p = (gb_prdc_protocol){.k = 3, .strict = 0};
        return GB_OK;
    }
    if (strcmp(name, "prdc") == 0) {
        *p = (gb_prdc_protocol){.k = 5, .strict = 1};
        return GB_OK;
    }
    return gb_fail(GB_USAGE, "unknown precision/recall protocol '%s' (use kynkaanniemi: k=3, <=; or prdc: k=5, <)",
                   name);
}

/* Scratch for one pass over (row block) x (column block) pairs. */
typedef struct {
    size_t dim;
    double *a, *b; /* [BLOCK, dim] rows as double */
    double *d2;    /* [BLOCK, BLOCK] squared distances */
    double *na, *nb;
} blocks;

static gb_status blocks_init(blocks *w, size_t dim) {
    w->dim = dim;
    w->a = malloc((size_t)GB_PRDC_BLOCK * dim * sizeof(double));
    w->b = malloc((size_t)GB_PRDC_BLOCK * dim * sizeof(double));
    w->d2 = malloc((size_t)GB_PRDC_BLOCK * GB_PRDC_BLOCK * sizeof(double));
    w->na = malloc(GB_PRDC_BLOCK * sizeof(double));
    w->nb = malloc(GB_PRDC_BLOCK * sizeof(double));
    if (!w->a || !w->b || !w->d2 || !w->na || !w->nb) {
        free(w->a), free(w->b), free(w->d2), free(w->na), free(w->nb);
        return gb_fail(GB_ENV, "out of memory for distance blocks (dimension %zu)", dim);
    }
    return GB_OK;
}

static void blocks_free(blocks *w) { free(w->a), free(w->b), free(w->d2), free(w->na), free(w->nb); }

static void load_rows(double *dst, double *norms, const float *src, size_t rows, size_t dim) {
    for (size_t i = 0; i < rows; i++) {
        double s = 0.0;
        for (size_t j = 0; j < dim; j++) {
            double v = src[i * dim + j];
            dst[i * dim + j] = v;
            s += v * v;
        }
        norms[i] = s;
    }
}

/* d2[i, j] = |a_i|^2 + |b_j|^2 - 2 a_i . b_j, clamped at 0 (rounding can make it negative). */
static void block_d2(blocks *w, size_t ra, size_t rb) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ra, (int)rb, (int)w->dim, -2.0, w->a, (int)w->dim, w->b,
                (int)w->dim, 0.0, w->d2, (int)rb);
    for (size_t i = 0; i < ra; i++)
        for (size_t j = 0; j < rb; j++) {
            double v = w->d2[i * rb + j] + w->na[i] + w->nb[j];
            w->d2[i * rb + j] = v > 0.0 ? v : 0.0;
        }
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

gb_status gb_knn_radii2(double *r2, const float *x, size_t n, size_t dim, size_t k) {
    if (k == 0 || k >= n)
        return gb_fail(GB_INPUT, "k-nearest-neighbour radii need 1 <= k < n (k = %zu, n = %zu rows)", k, n);
    if (dim == 0) return gb_fail(GB_INPUT, "k-nearest-neighbour radii of 0-dimensional features");
    blocks w;
    GB_TRY(blocks_init(&w, dim));
    double *best = malloc((size_t)GB_PRDC_BLOCK * k * sizeof *best); /* per row: k smallest, ascending */
    if (!best) {
        blocks_free(&w);
        return gb_fail(GB_ENV, "out of memory for %zu-nearest-neighbour lists", k);
    }
    for (size_t i0 = 0; i0 < n; i0 += GB_PRDC_BLOCK) {
        size_t ra = min_sz(GB_PRDC_BLOCK, n - i0);
        load_rows(w.a, w.na, x + i0 * dim, ra, dim);
        for (size_t t = 0; t < ra * k; t++) best[t] = INFINITY;
        for (size_t j0 = 0; j0 < n; j0 += GB_PRDC_BLOCK) {
            size_t rb = min_sz(GB_PRDC_BLOCK, n - j0);
            load_rows(w.b, w.nb, x + j0 * dim, rb, dim);
            block_d2(&w, ra, rb);
            for (size_t i = 0; i < ra; i++) {
                double *lst = best + i * k;
                const double *row = w.d2 + i * rb;
                for (size_t j = 0; j < rb; j++) {
                    double v = row[j];
                    if (!(v < lst[k - 1]) || i0 + i == j0 + j) continue;
                    size_t p = k - 1;
                    while (p > 0 && lst[p - 1] > v) {
                        lst[p] = lst[p - 1];
                        p--;
                    }
                    lst[p] = v;
                }
            }
        }
        for (size_t i = 0; i < ra; i++) r2[i0 + i] = best[i * k + k - 1];
    }
    free(best);
    blocks_free(&w);
    return GB_OK;
}

gb_status gb_prdc(gb_prdc_result *out, const float *real, size_t n_real, const float *fake, size_t n_fake, size_t dim,
                  gb_prdc_protocol protocol) {
    size_t k = protocol.k;
    if (dim == 0) return gb_fail(GB_INPUT, "precision/recall of 0-dimensional features");
    if (n_real <= k || n_fake <= k)
        return gb_fail(GB_INPUT, "precision/recall with k = %zu need more than %zu rows per set (got %zu real, %zu fake)",
                       k, k, n_real, n_fake);
    GB_TRY(gb_features_check_finite(real, n_real, dim, "real"));
    GB_TRY(gb_features_check_finite(fake, n_fake, dim, "fake"));
    double *rr = malloc(n_real * sizeof *rr), *rf = malloc(n_fake * sizeof *rf);
    unsigned char *fake_in = calloc(n_fake, 1), *real_in = calloc(n_real, 1), *covered = calloc(n_real, 1);
    size_t *dens = calloc(n_fake, sizeof *dens);
    blocks w = {0};
    gb_status st = GB_OK;
    if (!rr || !rf || !fake_in || !real_in || !covered || !dens) st = gb_fail(GB_ENV, "out of memory for precision/recall");
    if (st == GB_OK) st = gb_knn_radii2(rr, real, n_real, dim, k);
    if (st == GB_OK) st = gb_knn_radii2(rf, fake, n_fake, dim, k);
    if (st == GB_OK) st = blocks_init(&w, dim);
    if (st == GB_OK) {
        int strict = protocol.strict;
        for (size_t i0 = 0; i0 < n_real; i0 += GB_PRDC_BLOCK) {
            size_t ra = min_sz(GB_PRDC_BLOCK, n_real - i0);
            load_rows(w.a, w.na, real + i0 * dim, ra, dim);
            for (size_t j0 = 0; j0 < n_fake; j0 += GB_PRDC_BLOCK) {
                size_t rb = min_sz(GB_PRDC_BLOCK, n_fake - j0);
                load_rows(w.b, w.nb, fake + j0 * dim, rb, dim);
                block_d2(&w, ra, rb);
                for (size_t i = 0; i < ra; i++) {
                    const double *row = w.d2 + i * rb;
                    double rad_r = rr[i0 + i];
                    size_t hits_fake_manifold = 0, hits_real_ball = 0;
                    for (size_t j = 0; j < rb; j++) {
                        double v = row[j];
                        int in_real = strict ? v < rad_r : v <= rad_r;
                        int in_fake = strict ? v < rf[j0 + j] : v <= rf[j0 + j];
                        dens[j0 + j] += (size_t)in_real;
                        fake_in[j0 + j] |= (unsigned char)in_real;
                        hits_real_ball += (size_t)in_real;
                        hits_fake_manifold += (size_t)in_fake;
                    }
                    if (hits_fake_manifold) real_in[i0 + i] = 1;
                    if (hits_real_ball) covered[i0 + i] = 1;
                }
            }
        }
        size_t np_ = 0, nr = 0, nc = 0, nd = 0;
        for (size_t j = 0; j < n_fake; j++) np_ += fake_in[j], nd += dens[j];
        for (size_t i = 0; i < n_real; i++) nr += real_in[i], nc += covered[i];
        out->precision = (double)np_ / (double)n_fake;
        out->recall = (double)nr / (double)n_real;
        out->density = (double)nd / ((double)k * (double)n_fake);
        out->coverage = (double)nc / (double)n_real;
        out->protocol = protocol;
        blocks_free(&w);
    }
    free(rr), free(rf), free(fake_in), free(real_in), free(covered), free(dens);
    return st;
}
