/* kernels/cuda/linear.cu - fully connected layer, forward and backward (CUDA).
 *
 *   forward:  out[n, o]  = sum_i inp[n, i] * weight[o, i] + bias[o]
 *   backward: dinp[n, i]  = sum_o dout[n, o] * weight[o, i]   (overwrite; NULL: skip)
 *             dweight[o, i] += sum_n dout[n, o] * inp[n, i]   (accumulate)
 *             dbias[o]      += sum_n dout[n, o]               (accumulate; NULL: skip)
 *
 * cublasSgemm is column-major: a row-major [r, c] matrix is its column-major
 * transpose, so each product is issued transposed (C^T = B^T A^T) with no
 * copies. The bias gradient is one kernel with 32 columns per block (reads of
 * a row stay coalesced) and 8 row lanes per column; each lane sums its rows
 * in ascending order in double, then the lanes meet in a fixed tree, so the
 * result is deterministic (no atomics).
 * Tested by tests/test_kernels_cuda.c against kernels/cpu/linear.c.
 */
#include "kernels/cuda/common.cuh"

#include <limits.h>

enum { BIAS_COLS = 32, BIAS_LANES = 8 };

__global__ void linear_bias_add_kernel(float *out, const float *bias, size_t rows, size_t cols) {
    const size_t n = rows * cols;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        out[i] = __fadd_rn(out[i], bias[i % cols]);
}

__global__ void linear_bias_grad_kernel(float *dbias, const float *dout, size_t rows, size_t cols) {
    __shared__ double part[BIAS_LANES][BIAS_COLS];
    const size_t c = (size_t)blockIdx.x * BIAS_COLS + threadIdx.x;
    double acc = 0.0;
    if (c < cols)
        for (size_t r = threadIdx.y; r < rows; r += BIAS_LANES)
            acc = __dadd_rn(acc, (double)dout[r * cols + c]);
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    for (int half = BIAS_LANES / 2; half > 0; half /= 2) {
        if ((int)threadIdx.y < half)
            part[threadIdx.y][threadIdx.x] =
                __dadd_rn(part[threadIdx.y][threadIdx.x], part[threadIdx.y + half][threadIdx.x]);
        __syncthreads();
    }
    if (threadIdx.y == 0 && c < cols) dbias[c] = (float)__dadd_rn((double)dbias[c], part[0][threadIdx.x]);
}

static void check_shape(const gb_linear_shape *s) {
    GB_ASSERT(s->rows <= INT_MAX && s->in_features <= INT_MAX && s->out_features <= INT_MAX,
              "linear shape %zu x %zu -> %zu exceeds cuBLAS int range", s->rows, s->in_features,
              s->out_features);
}

static void bias_grad(gb_device *dev, float *dbias, const float *dout, size_t rows, size_t cols) {
    if (cols == 0) return;
    dim3 block(BIAS_COLS, BIAS_LANES);
    dim3 grid((unsigned)((cols + BIAS_COLS - 1) / BIAS_COLS));
    linear_bias_grad_kernel<<<grid, block>>>(dbias, dout, rows, cols);
    GB_LAUNCH_CHECK(dev, "linear_bias_grad_kernel");
}

extern "C" void gb_linear_forward_cuda(gb_device *dev, float *out, const float *inp,
                                       const float *weight, const float *bias,
                                       const gb_linear_shape *shape) {
    check_shape(shape);
    const int n = (int)shape->rows, in = (int)shape->in_features, o = (int)shape->out_features;
    if (n == 0 || o == 0) return;
    const float one = 1.0f, zero = 0.0f;
    if (in == 0) {
        GB_CUDA_CHECK(cudaMemset(out, 0, (size_t)n * (size_t)o * sizeof(float)));
    } else {
        /* column-major: out^T[o, n] = weight[o, in] (stored as weight^T) ^T @ inp^T[in, n] */
        GB_CUBLAS_CHECK(cublasSgemm(gb_cuda_state_of(dev)->blas, CUBLAS_OP_T, CUBLAS_OP_N, o, n, in,
                                    &one, weight, in, inp, in, &zero, out, o));
    }
    if (!bias) return;
    const size_t total = (size_t)n * (size_t)o;
    linear_bias_add_kernel<<<gb_cuda_grid(total), GB_CUDA_BLOCK>>>(out, bias, (size_t)n, (size_t)o);
    GB_LAUNCH_CHECK(dev, "linear_bias_add_kernel");
}

extern "C" void gb_linear_backward_cuda(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                        const float *dout, const float *inp, const float *weight,
                                        const gb_linear_shape *shape) {
    check_shape(shape);
    const int n = (int)shape->rows, in = (int)shape->in_features, o = (int)shape->out_features;
    cublasHandle_t h = gb_cuda_state_of(dev)->blas;
    const float one = 1.0f, zero = 0.0f;
    if (in > 0 && n > 0 && dinp) {
        if (o == 0) {
            GB_CUDA_CHECK(cudaMemset(dinp, 0, (size_t)n * (size_t)in * sizeof(float)));
        } else {
            /* column-major: dinp^T[in, n] = weight^T[in, o] @ dout^T[o, n] */
            GB_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, in, n, o, &one, weight, in,
                                        dout, o, &zero, dinp, in));
        }
    }
    if (dweight && in > 0 && o > 0 && n > 0) {
        /* column-major: dweight^T[in, o] += inp^T[in, n] @ dout[n, o] */
        GB_CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, in, o, n, &one, inp, in, dout, o,
                                    &one, dweight, in));
    }
    if (dbias) bias_grad(dev, dbias, dout, shape->rows, shape->out_features);
}
