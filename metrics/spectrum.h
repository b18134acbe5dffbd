/* metrics/spectrum.h - azimuthally averaged power spectra of images and the spectral distance
 * between two image sets (specs/metrics.md "Spectral check": the up-convolution artefact check
 * of Durall et al. 2020, cheap, Inception-free, sensitive to checkerboard artefacts).
 *
 * metrics.md names the check but fixes neither normalisation nor distance; genbench defines them
 * here (record "spectrum: genbench v1" with a result):
 *   power        P(ky, kx) = |F(ky, kx)|^2 / (H W)^2 with F the unnormalised 2-D DFT of one
 *                image plane (one channel; no mean removal, no window), computed with FFTW in
 *                float64 (fftw_plan_dft_r2c_2d, FFTW_ESTIMATE: the planner measures nothing, so
 *                the same build always picks the same algorithm and gives the same bits).
 *                Parseval: sum over all frequencies of P = mean of x^2, whatever the size.
 *   bins         frequency indices are signed as numpy.fft.fftfreq(n) * n; bin
 *                k = floor(sqrt(ky^2 + kx^2)), k = 0 .. floor(sqrt(floor(H/2)^2 + floor(W/2)^2)).
 *                (Durall's radialProfile centres the radius at (n-1)/2 for even n, half a bin off
 *                the DC term; here the DC term is bin 0 exactly.)
 *   spectrum     S(k) = mean of P over the frequencies in bin k (full plane: the r2c half plane
 *                is weighted by its Hermitian mirror). A set's spectrum is the mean of S over
 *                all its image planes (n images x c channels), in linear power.
 *   distance     the RMS log-spectral distance in decibels over the complete rings
 *                k = 1 .. K, K = (min(H, W) - 1) / 2 (integer division; bins beyond K reach into
 *                the corners and are incomplete; the DC bin 0 is left out, it measures only
 *                the mean brightness):
 *                  d = sqrt( mean_k (10 log10(S_a(k) / S_b(k)))^2 ).
 *                Identical spectra give 0; scaling a set's images by s gives |20 log10 s|.
 *
 * Not thread-safe: plan creation goes through FFTW's planner (one thread at a time) and a plan
 * owns its buffers; use one plan per thread.
 *
 * Tested by tests/test_spectrum.c: closed forms (a constant image, a single cosine, a
 * checkerboard, Parseval, the scaling law of the distance, odd sizes) and parity with numpy.fft
 * spectra and the distance on random and artefacted image sets (tests/peers/metrics_misc.py).
 */
#ifndef GB_SPECTRUM_H
#define GB_SPECTRUM_H

#include <stddef.h>

#include "core/status.h"

typedef struct gb_spectrum_plan gb_spectrum_plan;

/* One FFTW plan, its buffers and the bin table for H x W planes (H, W >= 1).
 * GB_ENV when FFTW or memory fails. */
gb_status gb_spectrum_plan_create(gb_spectrum_plan **out, size_t h, size_t w);
void gb_spectrum_plan_free(gb_spectrum_plan *p);

/* Number of radial bins: floor(sqrt(floor(H/2)^2 + floor(W/2)^2)) + 1. */
size_t gb_spectrum_n_bins(const gb_spectrum_plan *p);
/* K = (min(H, W) - 1) / 2: the last complete ring, the distance uses bins 1..K. */
size_t gb_spectrum_last_ring(const gb_spectrum_plan *p);
/* How many full-plane frequencies fall into bin k (for plots and checks). */
size_t gb_spectrum_bin_count(const gb_spectrum_plan *p, size_t k);

/* spec [n_bins] = S(k) of one plane img [H, W]. Non-finite pixels -> GB_INPUT. */
gb_status gb_spectrum_image(gb_spectrum_plan *p, double *spec, const float *img);

/* spec [n_bins] = the mean spectrum of n images of c planes each, imgs [n, c, H, W].
 * Contract, relied on by cli/cmd_spectrum.c to stream large sets in blocks and threads: the
 * result is, to the bit, the sum of the planes' gb_spectrum_image spectra added in plane order
 * (from 0), divided once by n c (tests/test_cmd_spectrum.c checks it across blocks and thread
 * counts). */
gb_status gb_spectrum_mean(gb_spectrum_plan *p, double *spec, const float *imgs, size_t n,
                           size_t c);

/* The RMS log-spectral distance (dB) between two set spectra of the plan's size. A bin with
 * zero or non-finite power in 1..K -> GB_INPUT (constant images have no spectrum to compare);
 * K = 0 (an image side below 3) -> GB_INPUT. */
gb_status gb_spectral_distance(double *out, const gb_spectrum_plan *p, const double *spec_a,
                               const double *spec_b);

#endif
