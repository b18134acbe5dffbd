/* tests/test_spectrum.c - azimuthal power spectra and the log-spectral distance
 * (metrics/spectrum.h) against closed forms and numpy.fft (tests/peers/metrics_misc.py writes
 * $GB_FIXTURES/metrics_misc/spec_*; `make test` runs it).
 *
 * Closed forms: a constant c puts c^2 in bin 0 and nothing elsewhere; a plane cosine of
 * frequency (ky0, kx0) puts 1/4 at each of its two frequencies, so its bin holds 1/(2 count);
 * a checkerboard (even sizes) puts 1 at (H/2, W/2), the last bin; Parseval (sum of
 * S(k) count(k) = mean x^2); bin counts add up to H W; scaling images by s moves the distance
 * by exactly |20 log10 s|.
 *
 * Tolerances (tests/tolerances.md, "ODE, bits/dim, ZSL metrics, spectrum"):
 *   TOL_FFT 1e-12 relative to the bin-0 power (the spectrum's scale; floor for near-empty
 *     bins): FFTW and numpy's pocketfft both compute the DFT in double with O(log n) rounding
 *     growth, ~1e-16 |x|^2 per coefficient for these sizes; observed 3.4e-18 of bin 0.
 *   TOL_DIST 1e-12 relative on the distance: the same spectra to 1e-15, then log10 and an RMS
 *     over <= 6 bins; observed 0 (bitwise equal).
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "metrics/spectrum.h"
#include "metrics_misc_fixture.h"

#define TOL_FFT 1e-12
#define TOL_DIST 1e-12

static gb_spectrum_plan *plan(size_t h, size_t w) {
    gb_spectrum_plan *p;
    cr_assert_eq(gb_spectrum_plan_create(&p, h, w), GB_OK, "%s", gb_last_error());
    return p;
}

Test(spectrum, bins_cover_the_plane) {
    static const size_t sizes[][2] = {{12, 10}, {7, 9}, {1, 1}, {32, 32}, {28, 28}, {5, 2}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        size_t h = sizes[t][0], w = sizes[t][1];
        gb_spectrum_plan *p = plan(h, w);
        size_t nb = gb_spectrum_n_bins(p), total = 0;
        double rmax = sqrt((double)((h / 2) * (h / 2) + (w / 2) * (w / 2)));
        cr_expect_eq(nb, (size_t)floor(rmax) + 1, "%zux%zu: %zu bins", h, w, nb);
        for (size_t k = 0; k < nb; k++) total += gb_spectrum_bin_count(p, k);
        cr_expect_eq(total, h * w, "%zux%zu: counts add up to %zu", h, w, total);
        cr_expect_eq(gb_spectrum_bin_count(p, 0), 1, "only DC has radius 0");
        cr_expect_eq(gb_spectrum_last_ring(p), ((h < w ? h : w) - 1) / 2);
        gb_spectrum_plan_free(p);
    }
    gb_spectrum_plan *p = plan(32, 32);
    cr_expect_eq(gb_spectrum_bin_count(p, 1), 8, "radius in [1,2): (0,+-1), (+-1,0), (+-1,+-1)");
    gb_spectrum_plan_free(p);
}

Test(spectrum, closed_forms) {
    enum { H = 12, W = 10 };
    gb_spectrum_plan *p = plan(H, W);
    size_t nb = gb_spectrum_n_bins(p);
    float img[H * W];
    double s[16];
    /* Constant. */
    for (int i = 0; i < H * W; i++) img[i] = 0.75f;
    cr_assert_eq(gb_spectrum_image(p, s, img), GB_OK);
    cr_expect(fabs(s[0] - 0.5625) <= 1e-15, "DC %.17g", s[0]);
    for (size_t k = 1; k < nb; k++) cr_expect(fabs(s[k]) <= 1e-30, "bin %zu %.3g", k, s[k]);
    /* Plane cosine at (ky0, kx0) = (2, 3): radius sqrt(13), bin 3. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img[y * W + x] = (float)cos(2 * M_PI * (2.0 * y / H + 3.0 * x / W));
    cr_assert_eq(gb_spectrum_image(p, s, img), GB_OK);
    for (size_t k = 0; k < nb; k++) {
        double want = k == 3 ? 0.5 / (double)gb_spectrum_bin_count(p, 3) : 0.0;
        /* float pixels: the cosine carries 6e-8 relative error, leaking ~1e-15 power elsewhere */
        cr_expect(fabs(s[k] - want) <= 1e-9, "cosine: bin %zu %.17g, want %.17g", k, s[k], want);
    }
    /* Checkerboard: all power at (H/2, W/2), radius sqrt(36 + 25), the last bin. */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) img[y * W + x] = ((x + y) % 2) ? -1.0f : 1.0f;
    cr_assert_eq(gb_spectrum_image(p, s, img), GB_OK);
    cr_expect_eq(nb - 1, 7);
    for (size_t k = 0; k < nb; k++) {
        double want = k == nb - 1 ? 1.0 / (double)gb_spectrum_bin_count(p, k) : 0.0;
        cr_expect(fabs(s[k] - want) <= 1e-15, "checkerboard: bin %zu %.17g, want %.17g", k, s[k], want);
    }
    /* Parseval on a ramp. */
    double ms = 0, tot = 0;
    for (int i = 0; i < H * W; i++) {
        img[i] = (float)((i * 7) % 13) / 13.0f;
        ms += (double)img[i] * img[i] / (H * W);
    }
    cr_assert_eq(gb_spectrum_image(p, s, img), GB_OK);
    for (size_t k = 0; k < nb; k++) tot += s[k] * (double)gb_spectrum_bin_count(p, k);
    cr_expect(fabs(tot - ms) <= 1e-14 * ms, "Parseval: %.17g vs mean square %.17g", tot, ms);
    gb_spectrum_plan_free(p);
}

Test(spectrum, distance_scaling_law_and_errors) {
    size_t n;
    float *imgs = mm_read_f32("spec_rand_imgs", 3 * 2 * 12 * 10, &n);
    float *scaled = malloc(n * sizeof *scaled);
    for (size_t i = 0; i < n; i++) scaled[i] = imgs[i] * 0.5f; /* exact in float */
    gb_spectrum_plan *p = plan(12, 10);
    double a[16], b[16], d;
    cr_assert_eq(gb_spectrum_mean(p, a, imgs, 3, 2), GB_OK);
    cr_assert_eq(gb_spectrum_mean(p, b, scaled, 3, 2), GB_OK);
    cr_assert_eq(gb_spectral_distance(&d, p, a, a), GB_OK);
    cr_expect_eq(d, 0.0);
    cr_assert_eq(gb_spectral_distance(&d, p, a, b), GB_OK);
    cr_expect(fabs(d - 20 * log10(2.0)) <= 1e-12, "distance %.17g, want 20 log10 2", d);
    double z[16];
    memcpy(z, a, sizeof z);
    z[2] = 0;
    cr_expect_eq(gb_spectral_distance(&d, p, z, b), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "bin 2") != NULL, "%s", gb_last_error());
    scaled[37] = NAN;
    cr_expect_eq(gb_spectrum_mean(p, b, scaled, 3, 2), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "image 0, channel 0") != NULL, "%s", gb_last_error());
    gb_spectrum_plan_free(p);
    gb_spectrum_plan *tiny = plan(2, 8);
    cr_expect_eq(gb_spectral_distance(&d, tiny, a, a), GB_INPUT, "no complete ring in 2 x 8");
    gb_spectrum_plan_free(tiny);
    gb_spectrum_plan *bad;
    cr_expect_eq(gb_spectrum_plan_create(&bad, 0, 4), GB_USAGE);
    free(imgs);
    free(scaled);
}

static void expect_spec(const char *what, const double *got, const double *want, size_t nb) {
    mm_expect_close(what, got, want, nb, TOL_FFT, want[0]);
}

Test(spectrum, matches_numpy_fft) {
    static const struct {
        const char *name;
        size_t n, c, h, w;
    } sets[] = {{"rand", 3, 2, 12, 10}, {"art", 3, 2, 12, 10}, {"odd", 2, 1, 7, 9}};
    double spec[3][16];
    for (int t = 0; t < 3; t++) {
        char name[64];
        snprintf(name, sizeof name, "spec_%s_imgs", sets[t].name);
        float *imgs = mm_read_f32(name, sets[t].n * sets[t].c * sets[t].h * sets[t].w, NULL);
        gb_spectrum_plan *p = plan(sets[t].h, sets[t].w);
        size_t nb = gb_spectrum_n_bins(p);
        snprintf(name, sizeof name, "spec_%s", sets[t].name);
        double *want = mm_read_f64(name, nb, NULL);
        cr_assert_eq(gb_spectrum_mean(p, spec[t], imgs, sets[t].n, sets[t].c), GB_OK, "%s", gb_last_error());
        expect_spec(name, spec[t], want, nb);
        if (t == 0) {
            double one[16], *w1 = mm_read_f64("spec_one", nb, NULL);
            cr_assert_eq(gb_spectrum_image(p, one, imgs + 2 * 12 * 10), GB_OK); /* image 1, channel 0 */
            expect_spec("spec_one", one, w1, nb);
            free(w1);
        }
        free(want);
        free(imgs);
        gb_spectrum_plan_free(p);
    }
    gb_spectrum_plan *p = plan(12, 10);
    double d, *dref = mm_read_f64("spec_dist", 1, NULL);
    cr_assert_eq(gb_spectral_distance(&d, p, spec[0], spec[1]), GB_OK, "%s", gb_last_error());
    cr_expect(fabs(d - dref[0]) <= TOL_DIST * dref[0], "distance %.17g, numpy %.17g", d, dref[0]);
    cr_expect(d > 1.0, "the artefacted set is spectrally far (%.3f dB)", d);
    free(dref);
    gb_spectrum_plan_free(p);
}
