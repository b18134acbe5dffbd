/* kernels/cpu/elementwise.c - elementwise arithmetic (CPU): fill, add, mul, axpy, scale_by.
 *
 * One float rounding per operation (axpy: two, alpha*x then the add, with no FMA contraction),
 * so every result is the float expression written in the table comment, bit for bit, and
 * matches PyTorch's a + b, a * b, y.add_(x, alpha=alpha) (which also rounds alpha*x first on
 * the CPU without FMA) and alpha * x. out may alias any input (no restrict: GCC versions the
 * loops with an overlap check and still vectorises them).
 * Tested by tests/test_kernels_pointwise.c (bitwise against the same expressions evaluated
 * in double and rounded once, aliasing, sizes 0, 1 and odd).
 */
#include "kernels/cpu/cpu.h"

void gb_fill_cpu(gb_device *dev, float *out, float value, size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++) out[i] = value;
}

void gb_add_cpu(gb_device *dev, float *out, const float *a, const float *b, size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void gb_mul_cpu(gb_device *dev, float *out, const float *a, const float *b, size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++) out[i] = a[i] * b[i];
}

void gb_axpy_cpu(gb_device *dev, float *y, float alpha, const float *x, size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++) y[i] = y[i] + alpha * x[i];
}

void gb_scale_by_cpu(gb_device *dev, float *out, float alpha, const float *inp, size_t n) {
    (void)dev;
    for (size_t i = 0; i < n; i++) out[i] = alpha * inp[i];
}
