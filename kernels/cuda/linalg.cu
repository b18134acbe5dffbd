/* kernels/cuda/linalg.cu - the symmetric eigendecomposition of the Frechet distance on the GPU
 * (cuSOLVER cusolverDnDsyevd, double), declared in kernels/cuda/cuda_linalg.h.
 *
 * Same contract as the LAPACKE_dsyevd(LAPACK_COL_MAJOR, jobz, 'L', ...) calls of
 * metrics/fid.c, so the Frechet code can swap one for the other: host matrices in and out
 * (the covariances live on the host; at d = 2048 the copies take a few milliseconds against
 * the solve's tens). cuSOLVER's divide-and-conquer is LAPACK's algorithm; eigenvalues agree
 * with LAPACK's to the backward-error level r * eps * |largest| that fid.c's noise floor
 * already allows for. cusolverDnSetDeterministicMode(CUSOLVER_DETERMINISTIC_RESULTS) asks
 * cuSOLVER for run-to-run identical bits on one GPU model (set explicitly, whatever the
 * library's default is). A cuSOLVER handle is made per call: the
 * metric runs once per evaluation, and the device state stays free of metric resources.
 * Tested by tests/test_cuda_linalg.c (LAPACKE on the same matrices, known spectra, run twice).
 */
#include "kernels/cuda/cuda_linalg.h"

#include <limits.h>
#include <string.h>

#include "kernels/cuda/common.cuh"

namespace {

/* Device memory released when the scope ends (every return path of the solver). */
struct dev_mem {
    void *p = nullptr;
    ~dev_mem() {
        if (p) GB_CUDA_CHECK(cudaFree(p));
    }
    bool alloc(size_t bytes) {
        if (cudaMalloc(&p, bytes ? bytes : 1) == cudaSuccess) return true;
        cudaGetLastError(); /* clear it: the caller reports GB_ENV */
        p = nullptr;
        return false;
    }
};

struct solver {
    cusolverDnHandle_t h = nullptr;
    ~solver() {
        if (h) GB_CUSOLVER_CHECK(cusolverDnDestroy(h));
    }
};

} // namespace

extern "C" gb_status gb_cuda_dsyevd(gb_device *dev, char jobz, size_t n, double *a, double *w) {
    GB_ASSERT(dev && dev->ops && strcmp(dev->ops->name, "cuda") == 0,
              "gb_cuda_dsyevd needs a device opened as \"cuda\"");
    GB_ASSERT(jobz == 'V' || jobz == 'N', "gb_cuda_dsyevd: jobz '%c' must be 'V' or 'N'", jobz);
    GB_ASSERT(n <= (size_t)INT_MAX, "gb_cuda_dsyevd: order %zu exceeds cuSOLVER's int range", n);
    if (n == 0) return GB_OK;
    GB_ASSERT(a && w, "gb_cuda_dsyevd: NULL matrix or eigenvalue array");
    const int ni = (int)n;
    const cusolverEigMode_t mode = jobz == 'V' ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR;
    const size_t abytes = n * n * sizeof(double);

    solver s;
    const cusolverStatus_t made = cusolverDnCreate(&s.h);
    if (made != CUSOLVER_STATUS_SUCCESS) { /* ALLOC_FAILED or NOT_INITIALIZED: the GPU's state */
        s.h = nullptr;
        return gb_fail(GB_ENV, "cuSOLVER: cusolverDnCreate returned status %d for an order-%zu eigenproblem "
                               "(out of device memory or no usable GPU); run the metric with --device cpu",
                       (int)made, n);
    }
    GB_CUSOLVER_CHECK(cusolverDnSetDeterministicMode(s.h, CUSOLVER_DETERMINISTIC_RESULTS));
    dev_mem da, dw, dinfo, dwork;
    if (!da.alloc(abytes) || !dw.alloc(n * sizeof(double)) || !dinfo.alloc(sizeof(int)))
        return gb_fail(GB_ENV, "eigendecomposition on the GPU: out of device memory for a %zu x %zu "
                               "matrix; run the metric with --device cpu", n, n);
    double *A = static_cast<double *>(da.p), *W = static_cast<double *>(dw.p);
    int lwork = 0;
    GB_CUSOLVER_CHECK(cusolverDnDsyevd_bufferSize(s.h, mode, CUBLAS_FILL_MODE_LOWER, ni, A, ni, W, &lwork));
    if (!dwork.alloc((size_t)lwork * sizeof(double)))
        return gb_fail(GB_ENV, "eigendecomposition on the GPU: out of device memory for the %d-double "
                               "cuSOLVER workspace; run the metric with --device cpu", lwork);
    GB_CUDA_CHECK(cudaMemcpy(A, a, abytes, cudaMemcpyHostToDevice));
    GB_CUSOLVER_CHECK(cusolverDnDsyevd(s.h, mode, CUBLAS_FILL_MODE_LOWER, ni, A, ni, W,
                                       static_cast<double *>(dwork.p), lwork,
                                       static_cast<int *>(dinfo.p)));
    int info = 0;
    GB_CUDA_CHECK(cudaMemcpy(&info, dinfo.p, sizeof info, cudaMemcpyDeviceToHost));
    GB_ASSERT(info >= 0, "cusolverDnDsyevd: parameter %d is wrong", -info);
    if (info > 0)
        return gb_fail(GB_NUMERIC, "eigendecomposition on the GPU (cusolverDnDsyevd) did not converge: "
                                   "%d off-diagonal elements of the tridiagonal form stayed non-zero "
                                   "(%zu x %zu matrix); check the covariance for NaN or huge values",
                       info, n, n);
    GB_CUDA_CHECK(cudaMemcpy(w, W, n * sizeof(double), cudaMemcpyDeviceToHost));
    if (jobz == 'V') GB_CUDA_CHECK(cudaMemcpy(a, A, abytes, cudaMemcpyDeviceToHost));
    return GB_OK;
}
