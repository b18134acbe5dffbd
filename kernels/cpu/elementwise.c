/* kernels/cpu/elementwise.c - elementwise arithmetic (CPU): fill, add, mul, axpy, scale_by.
 *
 * One float rounding per operation (axpy: two, alpha*x then the add, with no FMA contraction),
 * so every result is the float expression written in the table comment, bit for bit, and
 * matches PyTorch's a + b, a * b, y.add_(x, alpha=alpha) (which also rounds alpha*x first on
 * the CPU without FMA) and alpha * x. out may alias any input (no restrict: GCC versions the
 * loops with an overlap check and still vectorises them). The range is cut into per-thread
 * slices (kernels/cpu/parallel.h).
 * Tested by tests/test_kernels_pointwise.c (bitwise against the same expressions evaluated
 * in double and rounded once, aliasing, sizes 0, 1 and odd, the same bits with 1, 2 and 3
 * threads).
 */
#include "kernels/cpu/cpu.h"

#include "kernels/cpu/parallel.h"

/* Each op's element range is cut into gb_parallel_for slices (elementwise: any split gives
 * the same bits). */
typedef struct {
    float *out;
    const float *a, *b;
    float alpha;
} ew_job;

enum { EW_GRAIN = 16384 };

static void fill_slice(void *ctx, size_t i0, size_t i1, int slice) {
    (void)slice;
    const ew_job *j = ctx;
    for (size_t i = i0; i < i1; i++) j->out[i] = j->alpha;
}

void gb_fill_cpu(gb_device *dev, float *out, float value, size_t n) {
    ew_job j = {.out = out, .alpha = value};
    gb_parallel_for(dev, n, EW_GRAIN, fill_slice, &j);
}

static void add_slice(void *ctx, size_t i0, size_t i1, int slice) {
    (void)slice;
    const ew_job *j = ctx;
    float *out = j->out;
    const float *a = j->a, *b = j->b;
    for (size_t i = i0; i < i1; i++) out[i] = a[i] + b[i];
}

void gb_add_cpu(gb_device *dev, float *out, const float *a, const float *b, size_t n) {
    ew_job j = {.out = out, .a = a, .b = b};
    gb_parallel_for(dev, n, EW_GRAIN, add_slice, &j);
}

static void mul_slice(void *ctx, size_t i0, size_t i1, int slice) {
    (void)slice;
    const ew_job *j = ctx;
    float *out = j->out;
    const float *a = j->a, *b = j->b;
    for (size_t i = i0; i < i1; i++) out[i] = a[i] * b[i];
}

void gb_mul_cpu(gb_device *dev, float *out, const float *a, const float *b, size_t n) {
    ew_job j = {.out = out, .a = a, .b = b};
    gb_parallel_for(dev, n, EW_GRAIN, mul_slice, &j);
}

static void axpy_slice(void *ctx, size_t i0, size_t i1, int slice) {
    (void)slice;
    const ew_job *j = ctx;
    float *y = j->out, alpha = j->alpha;
    const float *x = j->a;
    for (size_t i = i0; i < i1; i++) y[i] = y[i] + alpha * x[i];
}

void gb_axpy_cpu(gb_device *dev, float *y, float alpha, const float *x, size_t n) {
    ew_job j = {.out = y, .a = x, .alpha = alpha};
    gb_parallel_for(dev, n, EW_GRAIN, axpy_slice, &j);
}

static void scale_by_slice(void *ctx, size_t i0, size_t i1, int slice) {
    (void)slice;
    const ew_job *j = ctx;
    float *out = j->out, alpha = j->alpha;
    const float *inp = j->a;
    for (size_t i = i0; i < i1; i++) out[i] = alpha * inp[i];
}

void gb_scale_by_cpu(gb_device *dev, float *out, float alpha, const float *inp, size_t n) {
    ew_job j = {.out = out, .a = inp, .alpha = alpha};
    gb_parallel_for(dev, n, EW_GRAIN, scale_by_slice, &j);
}
