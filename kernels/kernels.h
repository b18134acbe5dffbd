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
#include "shapes.h"

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
    /* rows rows of row_bytes each, row r from src + r * src_pitch to dst + r * dst_pitch (both
     * pitches >= row_bytes; the regions do not overlap): a channel slice of every image of a
     * batch in one call (CUDA: one cudaMemcpy2D instead of a launch per image) */
    void (*copy_rows)(gb_device *dev, void *dst, size_t dst_pitch, const void *src, size_t src_pitch,
                      size_t row_bytes, size_t rows);
    void (*zero)(gb_device *dev, void *ptr, size_t bytes);
    void (*sync)(gb_device *dev);

    /* linear: out = inp @ W^T + b (bias may be NULL) */
    void (*linear_forward)(gb_device *dev, float *out, const float *inp, const float *weight,
                           const float *bias, const gb_linear_shape *shape);
    /* dinp = dout @ W; dweight += dout^T @ inp; dbias += colsum(dout); each NULL: skip
     * (inp is read only for dweight, so it may be NULL when dweight is) */
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

    /* ---- elementwise arithmetic ------------------------------------------------
     * out may alias any input. */
    void (*fill)(gb_device *dev, float *out, float value, size_t n);
    /* out = a + b */
    void (*add)(gb_device *dev, float *out, const float *a, const float *b, size_t n);
    /* out = a * b */
    void (*mul)(gb_device *dev, float *out, const float *a, const float *b, size_t n);
    /* y += alpha * x (how a fanned-out tensor's second gradient is added) */
    void (*axpy)(gb_device *dev, float *y, float alpha, const float *x, size_t n);
    /* out = alpha * inp */
    void (*scale_by)(gb_device *dev, float *out, float alpha, const float *inp, size_t n);

    /* ---- activations -------------------------------------------------------------
     * inp is the pre-activation; forward may run in place (out == inp) only when
     * the caller keeps no backward. The jvp pair is the forward-mode tangent
     * (Pearlmutter's R-operator) that the exact WGAN-GP penalty gradient runs
     * through (DESIGN.md section 3):
     *   jvp:          out_t = f'(x) * inp_t
     *   jvp_backward: dinp = f'(x) * dout + f''(x) * inp_t * dout_t   (dout NULL: 0)
     *                 dinp_t = f'(x) * dout_t
     * both dinp and dinp_t overwrite; f'' is 0 almost everywhere for relu/leaky_relu. */
    void (*activation_forward)(gb_device *dev, float *out, const float *inp, size_t n,
                               const gb_activation *act);
    /* dinp = f'(inp) * dout */
    void (*activation_backward)(gb_device *dev, float *dinp, const float *dout, const float *inp,
                                size_t n, const gb_activation *act);
    void (*activation_jvp)(gb_device *dev, float *out_t, const float *inp, const float *inp_t,
                           size_t n, const gb_activation *act);
    void (*activation_jvp_backward)(gb_device *dev, float *dinp, float *dinp_t, const float *dout,
                                    const float *dout_t, const float *inp, const float *inp_t,
                                    size_t n, const gb_activation *act);

    /* ---- FiLM: per-(sample, channel) scale and shift ----------------------------
     * out[n,c,s] = inp[n,c,s] * (1 + scale[n,c]) + shift[n,c]; scale or shift NULL
     * means 0 (the U-Net ResnetBlock's x*(scale+1)+shift; ScoreNet's Dense bias map).
     * backward: dinp = dout*(1+scale); dscale[n,c] = sum_s dout*inp; dshift[n,c] =
     * sum_s dout. All three overwrite (scale/shift come from an MLP, not parameters);
     * any may be NULL. shape: batch, channels, spatial (groups, eps unused). */
    void (*film_forward)(gb_device *dev, float *out, const float *inp, const float *scale,
                         const float *shift, const gb_norm_shape *shape);
    void (*film_backward)(gb_device *dev, float *dinp, float *dscale, float *dshift,
                          const float *dout, const float *inp, const float *scale,
                          const gb_norm_shape *shape);

    /* ---- normalisation -------------------------------------------------------------
     * gamma/beta [channels]; save_mean/save_rstd are caller-owned: [channels] for
     * batchnorm, [batch*groups] for groupnorm, [batch*spatial] for channel layernorm.
     * Statistics are reduced in double in a fixed order. dgamma/dbeta accumulate. */
    /* Training mode: batch statistics (biased variance) normalise; running_mean/var
     * (may be NULL) are updated in place with momentum, the variance unbiased
     * (n/(n-1)), exactly as torch.nn.BatchNorm2d. */
    void (*batchnorm_forward_train)(gb_device *dev, float *out, float *save_mean, float *save_rstd,
                                    float *running_mean, float *running_var, const float *inp,
                                    const float *gamma, const float *beta,
                                    const gb_norm_shape *shape, float momentum);
    void (*batchnorm_backward_train)(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                     const float *dout, const float *inp, const float *gamma,
                                     const float *save_mean, const float *save_rstd,
                                     const gb_norm_shape *shape);
    /* Eval mode: running statistics normalise (an affine map per channel). */
    void (*batchnorm_forward_eval)(gb_device *dev, float *out, const float *inp, const float *gamma,
                                   const float *beta, const float *running_mean,
                                   const float *running_var, const gb_norm_shape *shape);
    void (*batchnorm_backward_eval)(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                    const float *dout, const float *inp, const float *gamma,
                                    const float *running_mean, const float *running_var,
                                    const gb_norm_shape *shape);
    void (*groupnorm_forward)(gb_device *dev, float *out, float *save_mean, float *save_rstd,
                              const float *inp, const float *gamma, const float *beta,
                              const gb_norm_shape *shape);
    void (*groupnorm_backward)(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                               const float *dout, const float *inp, const float *gamma,
                               const float *save_mean, const float *save_rstd,
                               const gb_norm_shape *shape);
    /* Channel layernorm with a gain only (no bias), the U-Net's LayerNorm. */
    void (*layernorm_channels_forward)(gb_device *dev, float *out, float *save_mean,
                                       float *save_rstd, const float *inp, const float *gain,
                                       const gb_norm_shape *shape);
    void (*layernorm_channels_backward)(gb_device *dev, float *dinp, float *dgain,
                                        const float *dout, const float *inp, const float *gain,
                                        const float *save_mean, const float *save_rstd,
                                        const gb_norm_shape *shape);

    /* ---- convolution -------------------------------------------------------------
     * Layouts in kernels/shapes.h; bias may be NULL. Scratch (im2col, FFT planes)
     * comes from gb_dev_scratch. backward: dinp overwrites (NULL: skip), dweight
     * and dbias accumulate (NULL: skip). Both are linear in inp, so the R-operator
     * tangent of a conv is the same forward on the tangent without bias. */
    void (*conv2d_forward)(gb_device *dev, float *out, const float *inp, const float *weight,
                           const float *bias, const gb_conv_shape *shape);
    void (*conv2d_backward)(gb_device *dev, float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp, const float *weight,
                            const gb_conv_shape *shape);
    /* UpSampleConv2D: conv2d(nearest x2 upsample of inp). shape is the conv's at the
     * upsampled size (in_height/in_width = twice inp's), stride 1, odd kernels with
     * pad (k-1)/2; inp [batch, in_channels, in_height/2, in_width/2]. The contract is
     * conv2d's (dinp =, dweight and dbias +=, NULL skips; inp may be NULL when dweight
     * is); dinp is at inp's size. */
    void (*upsample_conv2d_forward)(gb_device *dev, float *out, const float *inp,
                                    const float *weight, const float *bias,
                                    const gb_conv_shape *shape);
    void (*upsample_conv2d_backward)(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                     const float *dout, const float *inp, const float *weight,
                                     const gb_conv_shape *shape);
    void (*conv_transpose2d_forward)(gb_device *dev, float *out, const float *inp,
                                     const float *weight, const float *bias,
                                     const gb_conv_shape *shape);
    void (*conv_transpose2d_backward)(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                      const float *dout, const float *inp, const float *weight,
                                      const gb_conv_shape *shape);
    /* Weight standardisation (the U-Net's WSConv): for each of out_channels rows of
     * fan_in weights, out = (w - mean) * rsqrt(var_biased + eps); save_rstd
     * [out_channels]. backward: dweight += d(out)/dw^T dout (dweight accumulates:
     * w is a parameter). */
    void (*weight_standardize_forward)(gb_device *dev, float *out, float *save_rstd,
                                       const float *weight, int out_channels, int fan_in, float eps);
    void (*weight_standardize_backward)(gb_device *dev, float *dweight, const float *dout,
                                        const float *out, const float *save_rstd, int out_channels,
                                        int fan_in);

    /* ---- pooling, resampling, layout ------------------------------------------------
     * Every backward overwrites its input gradient. */
    /* argmax [batch*channels*out_h*out_w] int32, caller-owned (index into the
     * input plane); may be NULL when no backward follows. Padding is -inf. */
    void (*maxpool2d_forward)(gb_device *dev, float *out, int32_t *argmax, const float *inp,
                              const gb_pool_shape *shape);
    void (*maxpool2d_backward)(gb_device *dev, float *dinp, const float *dout,
                               const int32_t *argmax, const gb_pool_shape *shape);
    void (*avgpool2d_forward)(gb_device *dev, float *out, const float *inp,
                              const gb_pool_shape *shape);
    void (*avgpool2d_backward)(gb_device *dev, float *dinp, const float *dout,
                               const gb_pool_shape *shape);
    /* out[p] = scale * sum_s inp[p, s] over `planes` rows of `spatial` values
     * (sum over H and W: scale 1; global average pooling: scale 1/spatial). */
    void (*spatial_sum_forward)(gb_device *dev, float *out, const float *inp, size_t planes,
                                size_t spatial, float scale);
    void (*spatial_sum_backward)(gb_device *dev, float *dinp, const float *dout, size_t planes,
                                 size_t spatial, float scale);
    /* Nearest-neighbour x2: inp [planes, height, width] -> out [planes, 2h, 2w]. */
    void (*upsample_nearest2x_forward)(gb_device *dev, float *out, const float *inp, size_t planes,
                                       int height, int width);
    void (*upsample_nearest2x_backward)(gb_device *dev, float *dinp, const float *dout,
                                        size_t planes, int height, int width);
    /* out [batch, ca+cb, spatial] = cat(a [batch, ca, spatial], b [batch, cb, spatial]) */
    void (*concat_channels_forward)(gb_device *dev, float *out, const float *a, const float *b,
                                    int batch, int ca, int cb, size_t spatial);
    /* da, db (either may be NULL) = the two slices of dout */
    void (*concat_channels_backward)(gb_device *dev, float *da, float *db, const float *dout,
                                     int batch, int ca, int cb, size_t spatial);
    /* RealNVP squeeze (= pixel_unshuffle 2): [batch, c, h, w] -> [batch, 4c, h/2, w/2],
     * out channel c*4 + i*2 + j takes inp[c, 2y+i, 2x+j]. unsqueeze is its inverse
     * (pixel_shuffle 2). Each is the other's backward. */
    void (*squeeze2x_forward)(gb_device *dev, float *out, const float *inp, int batch,
                              int channels, int height, int width);
    void (*unsqueeze2x_forward)(gb_device *dev, float *out, const float *inp, int batch,
                                int channels, int height, int width); /* channels, h, w of out */

    /* ---- softmax family and reductions (rows x cols, over the last axis) ------------ */
    void (*softmax_forward)(gb_device *dev, float *out, const float *inp, size_t rows, size_t cols);
    /* dinp = out * (dout - sum(dout * out)) */
    void (*softmax_backward)(gb_device *dev, float *dinp, const float *dout, const float *out,
                             size_t rows, size_t cols);
    void (*log_softmax_forward)(gb_device *dev, float *out, const float *inp, size_t rows,
                                size_t cols);
    /* dinp = dout - exp(out) * sum(dout) */
    void (*log_softmax_backward)(gb_device *dev, float *dinp, const float *dout, const float *out,
                                 size_t rows, size_t cols);
    /* out [rows] */
    void (*logsumexp_forward)(gb_device *dev, float *out, const float *inp, size_t rows,
                              size_t cols);
    void (*logsumexp_backward)(gb_device *dev, float *dinp, const float *dout, const float *inp,
                               const float *out, size_t rows, size_t cols);
    /* out[0] = scale * sum(inp): double accumulation in a fixed order (mean: 1/n) */
    void (*sum_forward)(gb_device *dev, float *out, const float *inp, size_t n, float scale);
    /* dinp[i] = scale * dout[0] */
    void (*sum_backward)(gb_device *dev, float *dinp, const float *dout, size_t n, float scale);

    /* ---- attention (layouts in kernels/shapes.h) ---------------------------------------
     * saved: gb_attention_saved_floats / gb_linear_attention_saved_floats floats,
     * caller-owned, written by forward and read by backward. dqkv overwrites. */
    void (*attention_forward)(gb_device *dev, float *out, float *saved, const float *qkv,
                              const gb_attention_shape *shape);
    void (*attention_backward)(gb_device *dev, float *dqkv, const float *dout, const float *qkv,
                               const float *saved, const gb_attention_shape *shape);
    void (*linear_attention_forward)(gb_device *dev, float *out, float *saved, const float *qkv,
                                     const gb_attention_shape *shape);
    void (*linear_attention_backward)(gb_device *dev, float *dqkv, const float *dout,
                                      const float *qkv, const float *saved,
                                      const gb_attention_shape *shape);

    /* ---- losses ------------------------------------------------------------------------
     * Each writes one float `loss` in backend memory (reduced in double, fixed order)
     * and the gradient of that loss to its input (overwrite; NULL: skip). A NULL
     * target means every target equals target_value (a GAN's all-ones labels). */
    /* loss = weight * mean_i [max(x,0) - x*t + log1p(exp(-|x|))] */
    void (*bce_with_logits)(gb_device *dev, float *loss, float *dlogits, const float *logits,
                            const float *target, float target_value, size_t n, float weight);
    /* loss = sum_i (pred - t)^2 / divisor (MSE: n; per-sample sum averaged: rows;
     * LSGAN's 1/2 E[(D-1)^2]: 2n); dpred = 2 (pred - t) / divisor */
    void (*sq_error)(gb_device *dev, float *loss, float *dpred, const float *pred,
                     const float *target, float target_value, size_t n, double divisor);
    /* loss = weight * mean_r [logsumexp(logits_r) - logits_r[label_r]]; labels int32
     * in [0, classes) (checked: out of range is a programmer error). */
    void (*cross_entropy)(gb_device *dev, float *loss, float *dlogits, const float *logits,
                          const int32_t *labels, size_t rows, size_t classes, float weight);
    /* loss = weight * mean_r sum_j [-log_std - 1/2 + (exp(2 log_std) + mu^2) / 2]
     * (KL(N(mu, std^2) || N(0, 1)), specs/pipelines.md 4.5) */
    void (*gaussian_kl)(gb_device *dev, float *loss, float *dmu, float *dlog_std, const float *mu,
                        const float *log_std, size_t rows, size_t cols, float weight);
    /* z = mu + exp(log_std) * eps */
    void (*reparameterize_forward)(gb_device *dev, float *z, const float *mu, const float *log_std,
                                   const float *eps, size_t n);
    /* dmu += dz; dlog_std += dz * exp(log_std) * eps. These ACCUMULATE: mu and
     * log_std fan out to the KL term, whose gradient gaussian_kl wrote first. */
    void (*reparameterize_backward)(gb_device *dev, float *dmu, float *dlog_std, const float *dz,
                                    const float *log_std, const float *eps, size_t n);

    /* WGAN-GP penalty on the per-sample input gradients g [rows, cols] of the critic:
     *   loss = lambda * mean_r (||g_r||_2 - 1)^2
     *   dg_r = 2 lambda (||g_r|| - 1) / (rows ||g_r||) * g_r   (overwrite; 0 where ||g_r|| = 0,
     *          as PyTorch's norm backward). dg is the tangent direction of the R-operator
     *          pass that turns this into the exact parameter gradient (DESIGN.md section 3). */
    void (*gradient_penalty)(gb_device *dev, float *loss, float *dg, const float *g, size_t rows,
                             size_t cols, float lambda);

    /* ---- optimiser helpers ------------------------------------------------------------ */
    /* torch.nn.utils.clip_grad_norm_ on one contiguous gradient block: total =
     * ||grads||_2 (double accumulation), written to total_norm (one float in
     * backend memory, may be NULL); when max_norm / (total + 1e-6) < 1 the grads are
     * scaled by it. The decision stays on the device (no host round trip). */
    void (*clip_grad_norm)(gb_device *dev, float *grads, size_t n, float max_norm,
                           float *total_norm);

    /* ---- time embeddings ------------------------------------------------------------------ */
    /* Gaussian Fourier projection: out [n, 2*half] = [sin(2 pi t w), cos(2 pi t w)]
     * with w [half] fixed (not trained). backward: dt [n] overwrites. */
    void (*fourier_embedding_forward)(gb_device *dev, float *out, const float *t, const float *w,
                                      size_t n, size_t half);
    void (*fourier_embedding_backward)(gb_device *dev, float *dt, const float *dout,
                                       const float *t, const float *w, size_t n, size_t half);
    /* Sinusoidal: out [n, dim] = [sin(t f_k), cos(t f_k)], f_k = exp(-k ln(10000) /
     * (dim/2 - 1)), k = 0..dim/2-1 (lucidrains' SinusoidalPosEmb). dt overwrites. */
    void (*sinusoidal_embedding_forward)(gb_device *dev, float *out, const float *t, size_t n,
                                         size_t dim);
    void (*sinusoidal_embedding_backward)(gb_device *dev, float *dt, const float *dout,
                                          const float *t, size_t n, size_t dim);

    /* ---- RealNVP affine coupling (mask in kernels/shapes.h) -------------------------------
     * y = b*x + (1-b)*(x*exp(s) + t);  logdet[n] += sum over masked-out elements of s.
     * s and t are the coupling network's outputs (any squashing, e.g. tanh scaling,
     * is the model's, through the activation ops); their values at b = 1 are ignored. */
    void (*coupling_forward)(gb_device *dev, float *y, float *logdet, const float *x,
                             const float *s, const float *t, const gb_coupling_shape *shape);
    /* dx = b*dy + (1-b)*dy*exp(s) (overwrite: the direct path only; the caller adds the
     * path through the coupling network, which reads b*x); ds = (1-b)*(dy*x*exp(s) +
     * dlogdet[n]); dt = (1-b)*dy (overwrite). dlogdet [batch] may be NULL (0). */
    void (*coupling_backward)(gb_device *dev, float *dx, float *ds, float *dt, const float *dy,
                              const float *dlogdet, const float *x, const float *s,
                              const gb_coupling_shape *shape);
    /* x = b*y + (1-b)*(y - t)*exp(-s) (sampling) */
    void (*coupling_inverse)(gb_device *dev, float *x, const float *y, const float *s,
                             const float *t, const gb_coupling_shape *shape);
} gb_backend;

/* A backend instance: the table plus the state it needs (thread count, handles). */
struct gb_device {
    const gb_backend *ops;
    int threads;          /* CPU BLAS threads (recorded in the manifest) */
    int fast_conv;        /* 1 (`--conv fast`): the CPU's faster conv routes, whose rounding is
                           * not PyTorch's: 3x3 convs by Winograd F(4x4,3x3) where it measured
                           * faster (kernels/cpu/conv2d.c), upsample_conv2d by four phase convs
                           * (kernels/cpu/conv_upsample.c); 0 (default): GEMM lowering of the
                           * plain definitions, whose training steps match PyTorch's
                           * (tests/test_gan_step.c) */
    char name[128];       /* e.g. "cpu (OpenBLAS 0.3.21, 2 threads)" or the GPU's name */
    void *impl;           /* backend-private state */
    void *scratch;        /* gb_dev_scratch's buffer (backend memory) */
    size_t scratch_bytes;
    void *staging;        /* gb_dev_staging's buffer (backend memory) */
    size_t staging_bytes;
};

/* Open a backend by name ("cpu", "cuda", or "auto": cuda when a GPU is present).
 * "cuda" without a usable GPU returns GB_ENV with the reason; a backend whose
 * table still lacks an op returns GB_ENV naming it (see gb_backend_missing_op). */
gb_status gb_device_open(gb_device *dev, const char *name, int threads);
/* The file the NVIDIA kernel driver publishes while it is loaded. */
#define GB_NVIDIA_DRIVER_FILE "/proc/driver/nvidia/version"
/* "auto": cuda when a GPU is usable, else cpu; when driver_file exists (the driver is loaded)
 * but CUDA is unusable, a warning names CUDA's error first (once per process). gb_device_open passes
 * GB_NVIDIA_DRIVER_FILE; tests pass their own file. */
gb_status gb_device_open_auto(gb_device *dev, int threads, const char *driver_file);
void gb_device_close(gb_device *dev);
/* 1 when this build has the CUDA backend and a GPU is visible. */
int gb_cuda_available(void);

/* Backend memory free now: on CUDA the device's (cudaMemGetInfo); SIZE_MAX on the CPU, whose
 * allocations are host memory. For a clear GB_ENV before a large allocation (a batch size that
 * does not fit) instead of the allocator's abort. */
size_t gb_device_free_bytes(gb_device *dev);

/* Host memory for data the device uploads in bulk (the FID network's input batches): on CUDA
 * page-locked (cudaMallocHost; about twice the upload rate of pageable memory), else malloc,
 * which is also the fallback when page-locked memory cannot be had. NULL when out of memory.
 * Free with gb_device_host_free on the same device. */
void *gb_device_host_alloc(gb_device *dev, size_t bytes);
void gb_device_host_free(gb_device *dev, void *p);

/* `--nondeterministic`: let the backend pick its fastest algorithms even where they are not
 * bitwise reproducible run to run (CUDA: cuDNN's heuristics, which may use atomics). The CPU
 * backend has no such algorithms: there it changes nothing and returns 0; 1 when the device now
 * runs in that mode. */
int gb_device_set_nondeterministic(gb_device *dev, int on);
/* The algorithms the device chose so far, as text for the manifest (CUDA: one line with the
 * cuDNN version and mode, then one per convolution shape: gb_cuda_conv_algorithms); "" on the
 * CPU, whose routes are fixed by the code. snprintf's contract: at most cap bytes, the length
 * the whole record needs returned. */
size_t gb_device_algorithm_record(gb_device *dev, char *buf, size_t cap);

/* The name of the first table entry that is NULL, or NULL when the table is complete. */
const char *gb_backend_missing_op(const gb_backend *ops);

/* Scratch memory for ops that need a workspace (im2col, FFT buffers, cuDNN).
 * Returns at least `bytes` of backend memory owned by the device, valid until the
 * next gb_dev_scratch call; it grows (never shrinks) and is freed by
 * gb_device_close. Ops call it; after a model's first step it no longer grows,
 * so training loops do not allocate (DESIGN.md section 3, "Memory"). */
void *gb_dev_scratch(gb_device *dev, size_t bytes);
/* A second buffer of the same kind, for an op built from other ops (which take
 * gb_dev_scratch for themselves): it holds the op's intermediate tensors across
 * those calls, e.g. upsample_conv2d's upsampled image on its plain route. Valid
 * until the next gb_dev_staging call; grows, never shrinks; freed by gb_device_close. */
void *gb_dev_staging(gb_device *dev, size_t bytes);

#include "ops.h"

#endif
