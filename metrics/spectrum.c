/* metrics/spectrum.c - azimuthal power spectra with FFTW (float64 r2c) and the log-spectral
 * distance (definitions in spectrum.h; tested by tests/test_spectrum.c against closed forms and
 * numpy.fft).
 */
#include "metrics/spectrum.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct gb_spectrum_plan {
    size_t h, w, wc;      /* wc = w/2 + 1 columns of the r2c output */
    size_t n_bins;
    fftw_plan plan;
    double *in;           /* [h, w] fftw_malloc'd */
    fftw_complex *out;    /* [h, wc] */
    size_t *bin;          /* [h, wc] radial bin of each r2c coefficient */
    unsigned char *mult;  /* [h, wc] 1 or 2: how many full-plane frequencies it stands for */
    size_t *count;        /* [n_bins] full-plane frequencies per bin */
};

/* floor(sqrt(r2)) exactly for an integer r2. */
static size_t isqrt(size_t r2) {
    size_t b = (size_t)sqrt((double)r2);
    while (b * b > r2) b--;
    while ((b + 1) * (b + 1) <= r2) b++;
    return b;
}

void gb_spectrum_plan_free(gb_spectrum_plan *p) {
    if (!p) return;
    if (p->plan) fftw_destroy_plan(p->plan);
    fftw_free(p->in);
    fftw_free(p->out);
    free(p->bin);
    free(p->mult);
    free(p->count);
    free(p);
}

gb_status gb_spectrum_plan_create(gb_spectrum_plan **out, size_t h, size_t w) {
    GB_ASSERT(out != NULL, "gb_spectrum_plan_create: NULL out");
    *out = NULL;
    if (h == 0 || w == 0 || h > 65536 || w > 65536)
        return gb_fail(GB_USAGE, "spectrum: image size %zu x %zu must lie in 1..65536", h, w);
    gb_spectrum_plan *p = calloc(1, sizeof *p);
    if (!p) return gb_fail(GB_ENV, "spectrum: out of memory");
    p->h = h;
    p->w = w;
    p->wc = w / 2 + 1;
    size_t nc = h * p->wc;
    p->n_bins = isqrt((h / 2) * (h / 2) + (w / 2) * (w / 2)) + 1;
    p->in = fftw_malloc(h * w * sizeof *p->in);
    p->out = fftw_malloc(nc * sizeof *p->out);
    p->bin = malloc(nc * sizeof *p->bin);
    p->mult = malloc(nc);
    p->count = calloc(p->n_bins, sizeof *p->count);
    if (!p->in || !p->out || !p->bin || !p->mult || !p->count) {
        gb_spectrum_plan_free(p);
        return gb_fail(GB_ENV, "spectrum: out of memory for %zu x %zu planes", h, w);
    }
    p->plan = fftw_plan_dft_r2c_2d((int)h, (int)w, p->in, p->out, FFTW_ESTIMATE);
    if (!p->plan) {
        gb_spectrum_plan_free(p);
        return gb_fail(GB_ENV, "spectrum: FFTW could not plan a %zu x %zu r2c transform", h, w);
    }
    for (size_t ky = 0; ky < h; ky++) {
        /* numpy.fft.fftfreq(h) * h: 0 .. ceil(h/2)-1, then -floor(h/2) .. -1. */
        size_t ay = ky < (h + 1) / 2 ? ky : h - ky;
        for (size_t kx = 0; kx < p->wc; kx++) {
            /* Column kx stands for kx and its mirror w - kx, except 0 and (even w) w/2. */
            unsigned char m = (kx == 0 || 2 * kx == w) ? 1 : 2;
            size_t b = isqrt(ay * ay + kx * kx);
            p->bin[ky * p->wc + kx] = b;
            p->mult[ky * p->wc + kx] = m;
            p->count[b] += m;
        }
    }
    *out = p;
    return GB_OK;
}

size_t gb_spectrum_n_bins(const gb_spectrum_plan *p) { return p->n_bins; }

size_t gb_spectrum_last_ring(const gb_spectrum_plan *p) {
    return ((p->h < p->w ? p->h : p->w) - 1) / 2;
}

size_t gb_spectrum_bin_count(const gb_spectrum_plan *p, size_t k) {
    GB_ASSERT(k < p->n_bins, "bin %zu of %zu", k, p->n_bins);
    return p->count[k];
}

/* acc[k] += S(k) of img (acc is summed over planes by the callers). S(k) is tmp[k] / count[k],
 * so gb_spectrum_image (acc from 0, divided by 1) gives exactly the term added here: the
 * contract of spectrum.h's gb_spectrum_mean. */
static gb_status add_plane(gb_spectrum_plan *p, double *acc, const float *img) {
    size_t hw = p->h * p->w;
    for (size_t i = 0; i < hw; i++) {
        if (!isfinite(img[i]))
            return gb_fail(GB_INPUT, "spectrum: pixel (%zu, %zu) is %g", i / p->w, i % p->w,
                           (double)img[i]);
        p->in[i] = (double)img[i];
    }
    fftw_execute(p->plan);
    double norm = (double)hw * (double)hw;
    size_t nc = p->h * p->wc;
    double *tmp = acc + p->n_bins; /* per-plane bin sums, in the caller's scratch */
    memset(tmp, 0, p->n_bins * sizeof *tmp);
    for (size_t i = 0; i < nc; i++) {
        double re = p->out[i][0], im = p->out[i][1];
        tmp[p->bin[i]] += (double)p->mult[i] * ((re * re + im * im) / norm);
    }
    for (size_t k = 0; k < p->n_bins; k++) acc[k] += tmp[k] / (double)p->count[k];
    return GB_OK;
}

gb_status gb_spectrum_image(gb_spectrum_plan *p, double *spec, const float *img) {
    return gb_spectrum_mean(p, spec, img, 1, 1);
}

gb_status gb_spectrum_mean(gb_spectrum_plan *p, double *spec, const float *imgs, size_t n,
                           size_t c) {
    GB_ASSERT(p && spec && imgs, "gb_spectrum_mean: NULL argument");
    if (n == 0 || c == 0) return gb_fail(GB_INPUT, "spectrum: empty image set (%zu x %zu)", n, c);
    double *acc = calloc(2 * p->n_bins, sizeof *acc);
    if (!acc) return gb_fail(GB_ENV, "spectrum: out of memory");
    size_t planes = n * c, hw = p->h * p->w;
    for (size_t i = 0; i < planes; i++) {
        gb_status s = add_plane(p, acc, imgs + i * hw);
        if (s != GB_OK) {
            free(acc);
            return gb_fail_wrap(s, "image %zu, channel %zu", i / c, i % c);
        }
    }
    for (size_t k = 0; k < p->n_bins; k++) spec[k] = acc[k] / (double)planes;
    free(acc);
    return GB_OK;
}

gb_status gb_spectral_distance(double *out, const gb_spectrum_plan *p, const double *spec_a,
                               const double *spec_b) {
    GB_ASSERT(out && p && spec_a && spec_b, "gb_spectral_distance: NULL argument");
    size_t K = gb_spectrum_last_ring(p);
    if (K == 0)
        return gb_fail(GB_INPUT, "spectral distance: %zu x %zu images have no complete ring "
                                 "beyond DC (need both sides >= 3)", p->h, p->w);
    double acc = 0.0;
    for (size_t k = 1; k <= K; k++) {
        double a = spec_a[k], b = spec_b[k];
        if (!(a > 0 && b > 0 && isfinite(a) && isfinite(b)))
            return gb_fail(GB_INPUT, "spectral distance: bin %zu has power %g (set a) and %g "
                                     "(set b); constant images have no spectrum to compare",
                           k, a, b);
        double db = 10.0 * log10(a / b);
        acc += db * db;
    }
    *out = sqrt(acc / (double)K);
    return GB_OK;
}
