/* kernels/cpu/linear.c - fully connected layer, forward and backward (CPU).
 *
 *   forward:  out[n, o]  = sum_i inp[n, i] * weight[o, i] + bias[o]
 *   backward: dinp[n, i]  = sum_o dout[n, o] * weight[o, i]   (overwrite; NULL: skip)
 *             dweight[o, i] += sum_n dout[n, o] * inp[n, i]   (accumulate)
 *             dbias[o]      += sum_n dout[n, o]               (accumulate; NULL: skip)
 *
 * The three matrix products are OpenBLAS sgemm calls (row-major). The bias add
 * and the bias-gradient column sums are plain loops in a fixed order (column
 * sums in double, rows in ascending order), so they do not depend on the thread
 * count. The products are OpenBLAS's, and its sgemm bits DO depend on its thread
 * count once the reduction is long: with K = 1291 (128 x 128 outputs) 1 and 2
 * threads differ in 2/3 of the elements (OpenBLAS 0.3.21; K = 64 or 200: no
 * difference). Runs are therefore bitwise reproducible for a fixed --threads,
 * which the checkpoint config records (a resume under another count is refused).
 * Tested by tests/test_kernels_cpu.c: float64 finite differences, the
 * accumulate/overwrite contract, PyTorch fixtures (torch.nn.functional.linear).
 */
#include "kernels/cpu/cpu.h"

#include <cblas.h>
#include <limits.h>

/* cblas takes int dimensions. */
static void check_shape(const gb_linear_shape *s) {
    GB_ASSERT(s->rows <= INT_MAX && s->in_features <= INT_MAX && s->out_features <= INT_MAX,
              "linear shape %zu x %zu -> %zu exceeds cblas int range", s->rows, s->in_features,
              s->out_features);
}

void gb_linear_forward_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                           const float *bias, const gb_linear_shape *shape) {
    (void)dev;
    check_shape(shape);
    const int n = (int)shape->rows, in = (int)shape->in_features, o = (int)shape->out_features;
    if (n == 0 || o == 0) return;
    /* out[n, o] = inp[n, in] @ weight[o, in]^T; with in == 0 sgemm writes beta*C = 0. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, o, in, 1.0f, inp, in > 0 ? in : 1,
                weight, in > 0 ? in : 1, 0.0f, out, o);
    if (!bias) return;
    for (int r = 0; r < n; r++) {
        float *row = out + (size_t)r * (size_t)o;
        for (int c = 0; c < o; c++) row[c] += bias[c];
    }
}

/* dbias[c] += sum_r dout[r, c], in blocks of columns so the row-major reads
 * stay contiguous; each column's sum runs over rows in ascending order. */
static void bias_grad(float *dbias, const float *dout, size_t rows, size_t cols) {
    enum { BLOCK = 64 };
    double acc[BLOCK];
    for (size_t c0 = 0; c0 < cols; c0 += BLOCK) {
        size_t w = cols - c0 < BLOCK ? cols - c0 : BLOCK;
        for (size_t j = 0; j < w; j++) acc[j] = 0.0;
        for (size_t r = 0; r < rows; r++) {
            const float *row = dout + r * cols + c0;
            for (size_t j = 0; j < w; j++) acc[j] += (double)row[j];
        }
        for (size_t j = 0; j < w; j++) dbias[c0 + j] = (float)((double)dbias[c0 + j] + acc[j]);
    }
}

void gb_linear_backward_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp, const float *weight,
                            const gb_linear_shape *shape) {
    (void)dev;
    check_shape(shape);
    const int n = (int)shape->rows, in = (int)shape->in_features, o = (int)shape->out_features;
    if (in == 0) {
        if (dbias) bias_grad(dbias, dout, shape->rows, shape->out_features);
        return;
    }
    if (dinp && n > 0) {
        /* dinp[n, in] = dout[n, o] @ weight[o, in] (beta 0: overwrite) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, in, o, 1.0f, dout, o > 0 ? o : 1,
                    weight, in, 0.0f, dinp, in);
    }
    if (dweight && o > 0 && n > 0) {
        /* dweight[o, in] += dout[n, o]^T @ inp[n, in] (beta 1: accumulate) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, in, n, 1.0f, dout, o, inp, in,
                    1.0f, dweight, in);
    }
    if (dbias) bias_grad(dbias, dout, shape->rows, shape->out_features);
}
