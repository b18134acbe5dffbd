/* kernels/cuda/cuda_linalg.h - metric building blocks on the GPU, for metrics/ to call when
 * the device is CUDA (only in builds with GB_HAVE_CUDA; the CPU paths stay the reference).
 *
 *   gb_cuda_dsyevd         the symmetric eigendecomposition behind the Frechet distance
 *                          (metrics/fid.c's LAPACKE_dsyevd) through cuSOLVER, in double;
 *   gb_cuda_spectrum_mean  metrics/spectrum.c's mean azimuthal power spectrum of a set of
 *                          images through batched cuFFT double 2-D real FFTs.
 * Both take a device opened as "cuda" (dev->ops->name is "cuda") and return GB_ENV when the
 * GPU runs out of memory; library failures that only a broken installation can cause abort
 * with the library's status (GB_CUSOLVER_CHECK, GB_CUFFT_CHECK in kernels/cuda/common.cuh).
 * Tested by tests/test_cuda_linalg.c against LAPACKE and metrics/spectrum.c.
 */
#ifndef GB_CUDA_LINALG_H
#define GB_CUDA_LINALG_H

/* C callers see it in CUDA builds only; nvcc (which the Makefile does not give GB_HAVE_CUDA)
 * always. */
#if defined(GB_HAVE_CUDA) || defined(__CUDACC__)

#include <stddef.h>

#include "kernels/cuda/cuda_backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* LAPACKE_dsyevd(LAPACK_COL_MAJOR, jobz, 'L', n, a, n, w) with cusolverDnDsyevd:
 *   a [n, n] host, column-major, symmetric (only the lower triangle is read);
 *   w [n]    host: the eigenvalues in ascending order;
 *   jobz 'V': a is overwritten by the orthonormal eigenvectors (column j for w[j]);
 *   jobz 'N': eigenvalues only, a is left as it was.
 * cuSOLVER runs in CUSOLVER_DETERMINISTIC_RESULTS mode (the same bits on every run on one
 * GPU model). GB_NUMERIC when the algorithm does not converge (info > 0). n < 2^31. */
gb_status gb_cuda_dsyevd(gb_device *dev, char jobz, size_t n, double *a, double *w);

/* spec [n_bins] (host) = gb_spectrum_mean (metrics/spectrum.h) of imgs [n, c, h, w] (device
 * memory, float32): the mean over the n*c planes of S(k), the mean power |F|^2 / (h w)^2 over
 * the full-plane frequencies of radial bin k = floor(sqrt(ky^2 + kx^2)), signed frequencies as
 * numpy.fft.fftfreq * n; n_bins = floor(sqrt(floor(h/2)^2 + floor(w/2)^2)) + 1, the
 * gb_spectrum_n_bins of a CPU plan of the same size (use that plan's gb_spectral_distance).
 * The FFT is cuFFT's double D2Z; every sum after it is in the CPU's order (bins: coefficients
 * in ascending index; planes: ascending), so results differ from the CPU only by the FFTs'
 * rounding. A non-finite pixel is GB_INPUT naming image, channel and pixel; h, w in 1..65536. */
gb_status gb_cuda_spectrum_mean(gb_device *dev, double *spec, const float *imgs, size_t n,
                                size_t c, size_t h, size_t w);

#ifdef __cplusplus
}
#endif

#endif /* GB_HAVE_CUDA || __CUDACC__ */

#endif
