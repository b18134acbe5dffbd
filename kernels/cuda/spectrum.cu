/* kernels/cuda/spectrum.cu - metrics/spectrum.c's mean azimuthal power spectrum on the GPU
 * (batched cuFFT double 2-D real FFTs; 1-D for one-row images), declared in
 * kernels/cuda/cuda_linalg.h.
 *
 * Definition (metrics/spectrum.h, "spectrum: genbench v1"): per plane,
 * P(ky, kx) = |F(ky, kx)|^2 / (H W)^2 with F the unnormalised DFT (no mean removal, no
 * window); bin k = floor(sqrt(ky^2 + kx^2)) over signed frequencies (numpy.fft.fftfreq * n);
 * S(k) = the mean of P over the full-plane frequencies of bin k, the r2c half plane weighted
 * by its Hermitian mirror (weight 2 except column 0 and, for even W, column W/2); a set's
 * spectrum is the mean of S over its planes.
 *
 * Work: planes go in chunks (at most 256 MiB of buffers): float -> double with a non-finite
 * check (the smallest bad index wins: atomicMin is order-independent), one batched
 * cufftExecD2Z (layout [H, W/2+1] per plane, cuFFT's default = FFTW's r2c layout), then
 * one thread per (plane, bin) sums its bin's coefficients in ascending index order from a
 * host-built table (CSR: bins -> coefficient indices), exactly the order of spectrum.c's
 * loop, and divides by the bin's count. The per-plane spectra come back to the host and
 * are added in plane order, as spectrum.c does. So every operation after the FFT is the
 * CPU's in the CPU's order (_rn intrinsics: no FMA contraction), and the only difference is
 * cuFFT's rounding against FFTW's (relative 1e-15 on these sums). No atomics in any sum:
 * results are the same on every run for a fixed cuFFT plan.
 * Tested by tests/test_cuda_linalg.c against gb_spectrum_mean and closed forms.
 */
#include "kernels/cuda/cuda_linalg.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/common.cuh"

namespace {

const size_t chunk_budget_bytes = (size_t)256 << 20;

struct dev_mem {
    void *p = nullptr;
    ~dev_mem() {
        if (p) GB_CUDA_CHECK(cudaFree(p));
    }
    bool alloc(size_t bytes) {
        if (cudaMalloc(&p, bytes ? bytes : 1) == cudaSuccess) return true;
        cudaGetLastError();
        p = nullptr;
        return false;
    }
};

struct host_mem {
    void *p = nullptr;
    ~host_mem() { free(p); }
    bool alloc(size_t bytes) {
        p = calloc(bytes ? bytes : 1, 1);
        return p != nullptr;
    }
};

struct fft_plan {
    cufftHandle h = 0;
    bool made = false;
    size_t batch = 0;
    ~fft_plan() {
        if (made) GB_CUFFT_CHECK(cufftDestroy(h));
    }
};

/* floor(sqrt(r2)) exactly for an integer r2 (spectrum.c's rule). */
size_t isqrt(size_t r2) {
    size_t b = (size_t)sqrt((double)r2);
    while (b * b > r2) b--;
    while ((b + 1) * (b + 1) <= r2) b++;
    return b;
}

} // namespace

__global__ void spectrum_to_double_kernel(double *dst, const float *src, size_t count,
                                          unsigned long long *first_bad) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < count;
         i += (size_t)gridDim.x * blockDim.x) {
        const float v = src[i];
        if (!isfinite(v)) atomicMin(first_bad, (unsigned long long)i);
        dst[i] = (double)v;
    }
}

/* plane_spec[p, k] = (sum over the coefficients i of bin k, ascending, of
 * mult[i] * ((re^2 + im^2) / norm)) / count[k]; blockIdx.y is the plane. */
__global__ void spectrum_bin_kernel(double *plane_spec, const cufftDoubleComplex *f,
                                    const uint32_t *offs, const uint32_t *idx,
                                    const unsigned char *mult, const double *count, size_t n_bins,
                                    size_t nc, double norm) {
    const size_t k = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (k >= n_bins) return;
    const cufftDoubleComplex *fp = f + (size_t)blockIdx.y * nc;
    double acc = 0.0;
    for (uint32_t e = offs[k]; e < offs[k + 1]; e++) {
        const uint32_t i = idx[e];
        const double re = fp[i].x, im = fp[i].y;
        const double pw = __ddiv_rn(__dadd_rn(__dmul_rn(re, re), __dmul_rn(im, im)), norm);
        acc = __dadd_rn(acc, __dmul_rn((double)mult[i], pw));
    }
    plane_spec[(size_t)blockIdx.y * n_bins + k] = __ddiv_rn(acc, count[k]);
}

static gb_status make_plan(fft_plan *pl, size_t h, size_t w, size_t batch) {
    if (pl->made && pl->batch == batch) return GB_OK;
    if (pl->made) {
        GB_CUFFT_CHECK(cufftDestroy(pl->h));
        pl->made = false;
    }
    /* A one-row image is planned as the 1-D transform of its row: the same [1, W/2+1] layout,
     * without asking cuFFT for an outer dimension of size 1, which its documentation does not
     * promise. One-column images still plan [H, 1] (tests/test_cuda_linalg.c runs one, so the
     * first GPU run shows whether cuFFT takes it); a refusal is the error below, not an abort. */
    int dims[2] = {(int)h, (int)w};
    const int rank = h == 1 ? 1 : 2;
    cufftResult r = cufftPlanMany(&pl->h, rank, dims + 2 - rank, nullptr, 1, 0, nullptr, 1, 0, CUFFT_D2Z, (int)batch);
    if (r == CUFFT_ALLOC_FAILED)
        return gb_fail(GB_ENV, "spectrum on the GPU: cuFFT ran out of device memory planning %zu "
                               "%zu x %zu transforms; run the metric with --device cpu", batch, h, w);
    if (r != CUFFT_SUCCESS) /* a size cuFFT refuses: the CPU's FFTW takes any */
        return gb_fail(GB_ENV, "spectrum on the GPU: cuFFT cannot plan %zu %zu x %zu transforms (%s); run the "
                               "metric with --device cpu", batch, h, w, gb_cuda_status_name(r));
    pl->made = true;
    pl->batch = batch;
    return GB_OK;
}

extern "C" gb_status gb_cuda_spectrum_mean(gb_device *dev, double *spec, const float *imgs,
                                           size_t n, size_t c, size_t h, size_t w) {
    GB_ASSERT(dev && dev->ops && strcmp(dev->ops->name, "cuda") == 0,
              "gb_cuda_spectrum_mean needs a device opened as \"cuda\"");
    GB_ASSERT(spec && imgs, "gb_cuda_spectrum_mean: NULL argument");
    if (h == 0 || w == 0 || h > 65536 || w > 65536)
        return gb_fail(GB_USAGE, "spectrum: image size %zu x %zu must lie in 1..65536", h, w);
    if (n == 0 || c == 0) return gb_fail(GB_INPUT, "spectrum: empty image set (%zu x %zu)", n, c);

    /* Bin tables, as spectrum.c builds them, plus the CSR order bins -> coefficients. */
    const size_t wc = w / 2 + 1, nc = h * wc, hw = h * w, planes = n * c;
    const size_t n_bins = isqrt((h / 2) * (h / 2) + (w / 2) * (w / 2)) + 1;
    host_mem hbin, hmult, hcount, hoffs, hidx, hplane;
    if (!hbin.alloc(nc * sizeof(uint32_t)) || !hmult.alloc(nc) || !hcount.alloc(n_bins * sizeof(double)) ||
        !hoffs.alloc((n_bins + 1) * sizeof(uint32_t)) || !hidx.alloc(nc * sizeof(uint32_t)))
        return gb_fail(GB_ENV, "spectrum on the GPU: out of host memory for %zu x %zu bin tables", h, w);
    uint32_t *bin = static_cast<uint32_t *>(hbin.p), *offs = static_cast<uint32_t *>(hoffs.p);
    uint32_t *idx = static_cast<uint32_t *>(hidx.p);
    unsigned char *mult = static_cast<unsigned char *>(hmult.p);
    double *count = static_cast<double *>(hcount.p);
    for (size_t ky = 0; ky < h; ky++) {
        const size_t ay = ky < (h + 1) / 2 ? ky : h - ky;
        for (size_t kx = 0; kx < wc; kx++) {
            const size_t i = ky * wc + kx;
            mult[i] = (kx == 0 || 2 * kx == w) ? 1 : 2;
            bin[i] = (uint32_t)isqrt(ay * ay + kx * kx);
            count[bin[i]] += mult[i];
            offs[bin[i] + 1]++;
        }
    }
    for (size_t k = 0; k < n_bins; k++) offs[k + 1] += offs[k];
    {
        host_mem hfill;
        if (!hfill.alloc(n_bins * sizeof(uint32_t)))
            return gb_fail(GB_ENV, "spectrum on the GPU: out of host memory");
        uint32_t *fill = static_cast<uint32_t *>(hfill.p);
        for (size_t i = 0; i < nc; i++) idx[offs[bin[i]] + fill[bin[i]]++] = (uint32_t)i; /* ascending i */
    }

    /* Chunk of planes: buffers within the budget, grid.y within CUDA's 65535. */
    const size_t per_plane = hw * sizeof(double) + nc * sizeof(cufftDoubleComplex) + n_bins * sizeof(double);
    size_t chunk = chunk_budget_bytes / per_plane;
    if (chunk < 1) chunk = 1;
    if (chunk > 65535) chunk = 65535;
    if (chunk > planes) chunk = planes;

    dev_mem din, dout, doffs, didx, dmult, dcount, dplane, dbad;
    if (!din.alloc(chunk * hw * sizeof(double)) || !dout.alloc(chunk * nc * sizeof(cufftDoubleComplex)) ||
        !doffs.alloc((n_bins + 1) * sizeof(uint32_t)) || !didx.alloc(nc * sizeof(uint32_t)) ||
        !dmult.alloc(nc) || !dcount.alloc(n_bins * sizeof(double)) ||
        !dplane.alloc(chunk * n_bins * sizeof(double)) || !dbad.alloc(sizeof(unsigned long long)))
        return gb_fail(GB_ENV, "spectrum on the GPU: out of device memory for %zu planes of %zu x %zu; "
                               "run the metric with --device cpu", chunk, h, w);
    if (!hplane.alloc(chunk * n_bins * sizeof(double)))
        return gb_fail(GB_ENV, "spectrum on the GPU: out of host memory");
    GB_CUDA_CHECK(cudaMemcpy(doffs.p, offs, (n_bins + 1) * sizeof(uint32_t), cudaMemcpyHostToDevice));
    GB_CUDA_CHECK(cudaMemcpy(didx.p, idx, nc * sizeof(uint32_t), cudaMemcpyHostToDevice));
    GB_CUDA_CHECK(cudaMemcpy(dmult.p, mult, nc, cudaMemcpyHostToDevice));
    GB_CUDA_CHECK(cudaMemcpy(dcount.p, count, n_bins * sizeof(double), cudaMemcpyHostToDevice));

    fft_plan plan;
    const double norm = (double)hw * (double)hw;
    double *acc = static_cast<double *>(hcount.p); /* reuse: count now lives on the device */
    memset(acc, 0, n_bins * sizeof(double));
    const double *hp = static_cast<const double *>(hplane.p);
    for (size_t p0 = 0; p0 < planes; p0 += chunk) {
        const size_t np = planes - p0 < chunk ? planes - p0 : chunk;
        const unsigned long long none = ~0ull;
        GB_CUDA_CHECK(cudaMemcpy(dbad.p, &none, sizeof none, cudaMemcpyHostToDevice));
        spectrum_to_double_kernel<<<gb_cuda_grid(np * hw), GB_CUDA_BLOCK>>>(
            static_cast<double *>(din.p), imgs + p0 * hw, np * hw, static_cast<unsigned long long *>(dbad.p));
        GB_LAUNCH_CHECK(dev, "spectrum_to_double_kernel");
        unsigned long long bad = 0;
        GB_CUDA_CHECK(cudaMemcpy(&bad, dbad.p, sizeof bad, cudaMemcpyDeviceToHost));
        if (bad != none) {
            float v = 0.0f;
            GB_CUDA_CHECK(cudaMemcpy(&v, imgs + p0 * hw + bad, sizeof v, cudaMemcpyDeviceToHost));
            const size_t plane = p0 + (size_t)(bad / hw), pix = (size_t)(bad % hw);
            gb_fail(GB_INPUT, "spectrum: pixel (%zu, %zu) is %g", pix / w, pix % w, (double)v);
            return gb_fail_wrap(GB_INPUT, "image %zu, channel %zu", plane / c, plane % c);
        }
        GB_TRY(make_plan(&plan, h, w, np));
        GB_CUFFT_CHECK(cufftExecD2Z(plan.h, static_cast<cufftDoubleReal *>(din.p),
                                    static_cast<cufftDoubleComplex *>(dout.p)));
        dim3 grid((unsigned)((n_bins + 127) / 128), (unsigned)np);
        spectrum_bin_kernel<<<grid, 128>>>(static_cast<double *>(dplane.p),
                                           static_cast<const cufftDoubleComplex *>(dout.p),
                                           static_cast<const uint32_t *>(doffs.p),
                                           static_cast<const uint32_t *>(didx.p),
                                           static_cast<const unsigned char *>(dmult.p),
                                           static_cast<const double *>(dcount.p), n_bins, nc, norm);
        GB_LAUNCH_CHECK(dev, "spectrum_bin_kernel");
        GB_CUDA_CHECK(cudaMemcpy(hplane.p, dplane.p, np * n_bins * sizeof(double), cudaMemcpyDeviceToHost));
        for (size_t p = 0; p < np; p++)
            for (size_t k = 0; k < n_bins; k++) acc[k] += hp[p * n_bins + k];
    }
    for (size_t k = 0; k < n_bins; k++) spec[k] = acc[k] / (double)planes;
    return GB_OK;
}
