/* kernels/kernels.h - the backend table: the closed vocabulary of ops.
 *
 * Model and pipeline code is written once against the inline wrappers at the
 * bottom of this file and runs on whichever backend filled the table
 * (kernels/cpu/ or kernels/cuda/). Pointers passed to ops are backend memory
 * (host memory on the CPU backend, device memory on CUDA) obtained from
 * gb_dev_alloc. All tensors are contiguous, row-major (NCHW for images).
 *
 * Gradient contract (DESIGN.md section 3), stated once for every op here:
 *   - parameter gradients ACCUMULATE (+=), so one zero-grad per step suffices;
 *   - input gradients OVERWRITE (=); a NULL input-gradient pointer means
 *     "not needed" (e.g. the first layer's input);
 *   - what forward saves for backward lives in caller-owned buffers.
 *
 * Argument order: device first, then outputs, then inputs, then a const shape.
 * Tested by tests/test_kernels_cpu.c (float64 finite differences, PyTorch
 * fixtures from tests/peers/kernel_fixtures.py, the accumulation contract).
 */
#ifndef GB_KERNELS_H
#define GB_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "../core/status.h"

typedef struct gb_device gb_device;

/* out[n, out_features] = inp[n, in_features] @ weight[out_features, in_features]^T + bias */
typedef struct {
    size_t rows;         /* n: batch rows */
    size_t in_features;  /* columns of inp and of weight */
    size_t out_features; /* rows of weight, columns of out */
} gb_linear_shape;

/* Adam / AdamW hyperparameters, PyTorch semantics (bias-corrected, eps added
 * outside the square root). weight_decay is decoupled (AdamW) when
 * decoupled_weight_decay != 0, otherwise L2-added to the gradient (Adam). */
typedef struct {
    float lr;
    float beta1;
    float beta2;
    float eps;
    float weight_decay;
    int decoupled_weight_decay;
} gb_adam_hparams;

/* The per-step scalars of an Adam/AdamW update. torch.optim.Adam computes
 * them with Python floats (double) and ATen rounds each to float where it meets
 * a float tensor; gb_adam_scalars_compute (kernels/cpu/adam.c) does the same
 * once on the host, and every backend's elementwise update uses these values,
 * so the backends agree with each other bit for bit. */
typedef struct {
    float beta1, one_minus_beta1; /* m = beta1*m + one_minus_beta1*g */
    float beta2, one_minus_beta2; /* v = beta2*v + one_minus_beta2*g*g */
    float step_size;              /* lr / (1 - beta1^step) */
    float bc2_sqrt;               /* sqrt(1 - beta2^step) */
    float eps;
    float l2_decay;               /* Adam: g += l2_decay*p first (0: off) */
    float decay_factor;           /* AdamW: p *= decay_factor first (1 - lr*wd; 1: off) */
} gb_adam_scalars;

/* step is 1-based; aborts (programmer error) when step < 1. */
gb_adam_scalars gb_adam_scalars_compute(const gb_adam_hparams *hp, long step);

typedef struct gb_backend {
    const char *name; /* "cpu" or "cuda" */

    /* memory */
    void *(*alloc)(gb_device *dev, size_t bytes); /* aborts with the size on OOM */
    void (*free)(gb_device *dev, void *ptr);
    void (*upload)(gb_device *dev, void *dst, const void *host_src, size_t bytes);
    void (*download)(gb_device *dev, void *host_dst, const void *src, size_t bytes);
    void (*copy)(gb_device *dev, void *dst, const void *src, size_t bytes);
    void (*zero)(gb_device *dev, void *ptr, size_t bytes);
    void (*sync)(gb_device *dev);

    /* linear: out = inp @ W^T + b (bias may be NULL) */
    void (*linear_forward)(gb_device *dev, float *out, const float *inp, const float *weight,
                           const float *bias, const gb_linear_shape *shape);
    /* dinp = dout @ W (NULL: skip); dweight += dout^T @ inp; dbias += colsum(dout) (NULL: skip) */
    void (*linear_backward)(gb_device *dev, float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp, const float *weight,
                            const gb_linear_shape *shape);

    /* softplus with beta 1 and PyTorch's threshold 20: x > 20 ? x : log1p(exp(x)) */
    void (*softplus_forward)(gb_device *dev, float *out, const float *inp, size_t n);
    /* dinp = dout * sigmoid(inp) (x > 20: dout) */
    void (*softplus_backward)(gb_device *dev, float *dinp, const float *dout, const float *inp,
                              size_t n);

    /* Half squared error averaged over rows, fused forward+backward:
     *   loss[0] = (1/rows) * sum_r 0.5 * ||pred_r - target_r||^2   (sum over cols)
     *   dpred   = (pred - target) / rows                           (overwrite)
     * loss is one float in backend memory; the reduction is in double, in a
     * fixed order, so the result is deterministic. dpred may be NULL. */
    void (*half_sq_error)(gb_device *dev, float *loss, float *dpred, const float *pred,
                          const float *target, size_t rows, size_t cols);

    /* One Adam/AdamW step on a contiguous block; step is 1-based (bias correction). */
    void (*adam_update)(gb_device *dev, float *params, const float *grads, float *m, float *v,
                        size_t n, const gb_adam_hparams *hp, long step);
} gb_backend;

/* A backend instance: the table plus the state it needs (thread count, handles). */
struct gb_device {
    const gb_backend *ops;
    int threads;          /* CPU BLAS threads (recorded in the manifest) */
    char name[128];       /* e.g. "cpu (OpenBLAS 0.3.21, 2 threads)" or the GPU's name */
    void *impl;           /* backend-private state */
};

/* Open a backend by name ("cpu", "cuda", or "auto": cuda when a GPU is present).
 * "cuda" without a usable GPU returns GB_ENV with the reason. */
gb_status gb_device_open(gb_device *dev, const char *name, int threads);
void gb_device_close(gb_device *dev);
/* 1 when this build has the CUDA backend and a GPU is visible. */
int gb_cuda_available(void);

/* ---- the wrappers models call -------------------------------------------- */

static inline void *gb_dev_alloc(gb_device *d, size_t bytes) { return d->ops->alloc(d, bytes); }
static inline void gb_dev_free(gb_device *d, void *p) { d->ops->free(d, p); }
static inline void gb_upload(gb_device *d, void *dst, const void *src, size_t bytes) { d->ops->upload(d, dst, src, bytes); }
static inline void gb_download(gb_device *d, void *dst, const void *src, size_t bytes) { d->ops->download(d, dst, src, bytes); }
static inline void gb_dev_copy(gb_device *d, void *dst, const void *src, size_t bytes) { d->ops->copy(d, dst, src, bytes); }
static inline void gb_dev_zero(gb_device *d, void *p, size_t bytes) { d->ops->zero(d, p, bytes); }
static inline void gb_dev_sync(gb_device *d) { d->ops->sync(d); }

static inline void gb_linear_forward(gb_device *d, float *out, const float *inp, const float *w,
                                     const float *b, const gb_linear_shape *s) {
    d->ops->linear_forward(d, out, inp, w, b, s);
}
static inline void gb_linear_backward(gb_device *d, float *dinp, float *dw, float *db,
                                      const float *dout, const float *inp, const float *w,
                                      const gb_linear_shape *s) {
    d->ops->linear_backward(d, dinp, dw, db, dout, inp, w, s);
}
static inline void gb_softplus_forward(gb_device *d, float *out, const float *inp, size_t n) {
    d->ops->softplus_forward(d, out, inp, n);
}
static inline void gb_softplus_backward(gb_device *d, float *dinp, const float *dout,
                                        const float *inp, size_t n) {
    d->ops->softplus_backward(d, dinp, dout, inp, n);
}
static inline void gb_half_sq_error(gb_device *d, float *loss, float *dpred, const float *pred,
                                    const float *target, size_t rows, size_t cols) {
    d->ops->half_sq_error(d, loss, dpred, pred, target, rows, cols);
}
static inline void gb_adam_update(gb_device *d, float *p, const float *g, float *m, float *v,
                                  size_t n, const gb_adam_hparams *hp, long step) {
    d->ops->adam_update(d, p, g, m, v, n, hp, step);
}

#endif
