/* kernels/cpu/cpu.h - internal declarations of the CPU backend.
 *
 * Model code never calls these directly: it goes through the backend table in
 * kernels/kernels.h, which gb_cpu_backend (backend_cpu.c) fills with them.
 * Shapes and the gradient contract are documented on the table's entries.
 * Tested by tests/test_kernels_cpu.c.
 */
#ifndef GB_KERNELS_CPU_H
#define GB_KERNELS_CPU_H

#include "kernels/kernels.h"

extern const gb_backend gb_cpu_backend;

/* Fill dev for the CPU backend with `threads` OpenBLAS threads (>= 1). */
gb_status gb_cpu_device_open(gb_device *dev, int threads);

/* blas_threads.c: set OpenBLAS's thread count; on the first call, shorten how long its idle
 * threads spin (unless OPENBLAS_THREAD_TIMEOUT is set). gb_cpu_blas_spin names the setting in
 * force, for the device name. */
void gb_cpu_blas_threads(int threads);
const char *gb_cpu_blas_spin(void);

/* linear.c */
void gb_linear_forward_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                           const float *bias, const gb_linear_shape *shape);
void gb_linear_backward_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp, const float *weight,
                            const gb_linear_shape *shape);

/* softplus.c */
void gb_softplus_forward_cpu(gb_device *dev, float *out, const float *inp, size_t n);
void gb_softplus_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *inp,
                              size_t n);

/* loss.c */
void gb_half_sq_error_cpu(gb_device *dev, float *loss, float *dpred, const float *pred,
                          const float *target, size_t rows, size_t cols);

/* adam.c */
void gb_adam_update_cpu(gb_device *dev, float *params, const float *grads, float *m, float *v,
                        size_t n, const gb_adam_hparams *hp, long step);

/* ==== the op families below: each section lists its files, then its functions ==== */

/* -- elementwise arithmetic, activations, FiLM -- */

/* elementwise.c */
void gb_fill_cpu(gb_device *dev, float *out, float value, size_t n);
void gb_add_cpu(gb_device *dev, float *out, const float *a, const float *b, size_t n);
void gb_mul_cpu(gb_device *dev, float *out, const float *a, const float *b, size_t n);
void gb_axpy_cpu(gb_device *dev, float *y, float alpha, const float *x, size_t n);
void gb_scale_by_cpu(gb_device *dev, float *out, float alpha, const float *inp, size_t n);

/* activation.c */
void gb_activation_forward_cpu(gb_device *dev, float *out, const float *inp, size_t n,
                               const gb_activation *act);
void gb_activation_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *inp,
                                size_t n, const gb_activation *act);
void gb_activation_jvp_cpu(gb_device *dev, float *out_t, const float *inp, const float *inp_t,
                           size_t n, const gb_activation *act);
void gb_activation_jvp_backward_cpu(gb_device *dev, float *dinp, float *dinp_t, const float *dout,
                                    const float *dout_t, const float *inp, const float *inp_t,
                                    size_t n, const gb_activation *act);

/* film.c */
void gb_film_forward_cpu(gb_device *dev, float *out, const float *inp, const float *scale,
                         const float *shift, const gb_norm_shape *shape);
void gb_film_backward_cpu(gb_device *dev, float *dinp, float *dscale, float *dshift,
                          const float *dout, const float *inp, const float *scale,
                          const gb_norm_shape *shape);

/* -- normalisation -- */

/* batchnorm.c */
void gb_batchnorm_forward_train_cpu(gb_device *dev, float *out, float *save_mean, float *save_rstd,
                                    float *running_mean, float *running_var, const float *inp,
                                    const float *gamma, const float *beta,
                                    const gb_norm_shape *shape, float momentum);
void gb_batchnorm_backward_train_cpu(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                     const float *dout, const float *inp, const float *gamma,
                                     const float *save_mean, const float *save_rstd,
                                     const gb_norm_shape *shape);
void gb_batchnorm_forward_eval_cpu(gb_device *dev, float *out, const float *inp, const float *gamma,
                                   const float *beta, const float *running_mean,
                                   const float *running_var, const gb_norm_shape *shape);
void gb_batchnorm_backward_eval_cpu(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                                    const float *dout, const float *inp, const float *gamma,
                                    const float *running_mean, const float *running_var,
                                    const gb_norm_shape *shape);

/* groupnorm.c */
void gb_groupnorm_forward_cpu(gb_device *dev, float *out, float *save_mean, float *save_rstd,
                              const float *inp, const float *gamma, const float *beta,
                              const gb_norm_shape *shape);
void gb_groupnorm_backward_cpu(gb_device *dev, float *dinp, float *dgamma, float *dbeta,
                               const float *dout, const float *inp, const float *gamma,
                               const float *save_mean, const float *save_rstd,
                               const gb_norm_shape *shape);

/* layernorm.c */
void gb_layernorm_channels_forward_cpu(gb_device *dev, float *out, float *save_mean,
                                       float *save_rstd, const float *inp, const float *gain,
                                       const gb_norm_shape *shape);
void gb_layernorm_channels_backward_cpu(gb_device *dev, float *dinp, float *dgain,
                                        const float *dout, const float *inp, const float *gain,
                                        const float *save_mean, const float *save_rstd,
                                        const gb_norm_shape *shape);

/* -- convolution -- */
/* conv2d.c, conv_transpose2d.c, weight_standardize.c, conv_fft.c, im2col.c.
 * The table's conv2d_forward is gb_conv2d_forward_cpu, which runs the GEMM or the
 * FFT implementation as gb_conv2d_uses_fft(shape) says; both are exported so a
 * benchmark can time them separately. */
void gb_conv2d_forward_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                           const float *bias, const gb_conv_shape *shape);
void gb_conv2d_forward_gemm_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                const float *bias, const gb_conv_shape *shape);
void gb_conv2d_forward_fft_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                               const float *bias, const gb_conv_shape *shape);
/* 1 when gb_conv2d_forward_cpu takes the FFT path for this shape (rule and
 * measurements in kernels/cpu/conv2d.c). */
int gb_conv2d_uses_fft(const gb_conv_shape *shape);
/* conv_winograd.c: 3x3 stride-1 conv2d by Winograd F(4x4,3x3), any padding, batch,
 * channels and image size; the same contract as the GEMM path (dweight and dbias +=,
 * dinp =, NULL skips). gb_conv2d_forward_cpu / gb_conv2d_backward_cpu take it when
 * gb_conv2d_uses_winograd(shape) says (rule and measurements in kernels/cpu/conv2d.c). */
void gb_conv2d_forward_winograd_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                    const float *bias, const gb_conv_shape *shape);
void gb_conv2d_backward_winograd_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                     const float *dout, const float *inp, const float *weight,
                                     const gb_conv_shape *shape);
int gb_conv2d_uses_winograd(const gb_conv_shape *shape);
/* conv_direct.c: stride-1 conv2d with few output channels by direct loops (the GEMM lowering
 * degenerates there: a 3-row weight against a column matrix of kh*kw copies of the input). The
 * functions take up to GB_CONV_DIRECT_MAX_OUT outputs and 7x7 kernels with the GEMM path's
 * contract; gb_conv2d_forward_cpu / gb_conv2d_backward_cpu take them where
 * gb_conv2d_uses_direct(shape) says they win (the generators' 128 -> 3 last layer). */
enum { GB_CONV_DIRECT_MAX_OUT = 8, GB_CONV_DIRECT_MAX_TAPS = 49 };
int gb_conv2d_uses_direct(const gb_conv_shape *shape);
void gb_conv2d_forward_direct_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                  const float *bias, const gb_conv_shape *shape);
void gb_conv2d_backward_direct_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                   const float *dout, const float *inp, const float *weight,
                                   const gb_conv_shape *shape);
/* conv_few_inputs.c: the forward of a stride-1 conv2d with at most 4 input channels and at
 * least 8 outputs (the critic's RGB layers) by register-blocked direct loops, in the summation
 * order of conv_direct.c; gb_conv2d_forward_cpu takes it where gb_conv2d_uses_few_inputs(shape)
 * says. Its backward is the GEMM lowering's or, for 1x1, conv_small_planes.c's backward-data
 * (the note closing that file says why). */
int gb_conv2d_uses_few_inputs(const gb_conv_shape *shape);
void gb_conv2d_forward_few_inputs_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                      const float *bias, const gb_conv_shape *shape);
/* conv_small_planes.c: 3x3 stride-1 padding-1 convs on planes up to 160x160 positions, and
 * unpadded stride-1 1x1 convs over whole 16-lane vectors of positions, with channel counts that are multiples of 8 (every 128 -> 128
 * layer of the GAN models, up to 256 channels), by AVX-512 register tiles over the unlowered
 * input, forward and backward; gb_conv2d_backward_cpu takes them where
 * gb_conv2d_uses_small_planes(shape) says, gb_conv2d_forward_cpu where
 * gb_conv2d_uses_small_planes_forward(shape) says. */
int gb_conv2d_uses_small_planes(const gb_conv_shape *shape);
/* The forward's own rule: gb_conv2d_uses_small_planes, and 3x3, 5x5, 1x7 and 7x1 "same" convs
 * on any plane, where the forward loops measured faster than the lowering. */
int gb_conv2d_uses_small_planes_forward(const gb_conv_shape *shape);
void gb_conv2d_forward_small_planes_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                        const float *bias, const gb_conv_shape *shape);
void gb_conv2d_backward_small_planes_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                         const float *dout, const float *inp, const float *weight,
                                         const gb_conv_shape *shape);
/* the backward-data alone, for 1x1 convs with any input count (the 3 -> 128 shortcut) */
int gb_conv2d_uses_small_planes_data(const gb_conv_shape *shape);
void gb_conv2d_backward_data_small_planes_cpu(gb_device *dev, float *dinp, const float *dout, const float *weight,
                                              const gb_conv_shape *shape);
/* the GEMM backward, exported so a benchmark can time it next to Winograd */
void gb_conv2d_backward_gemm_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                 const float *dout, const float *inp, const float *weight,
                                 const gb_conv_shape *shape);
void gb_conv2d_backward_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp, const float *weight,
                            const gb_conv_shape *shape);
/* conv_upsample.c: the table's upsample_conv2d_*. The plain route (default) upsamples into
 * gb_dev_staging and runs conv2d: PyTorch's arithmetic. With dev->fast_conv it takes the phase
 * route: four convs at the input's resolution with summed taps (2.25x fewer multiply-adds for
 * 3x3), exported so tests and benchmarks can call it on any device. */
void gb_upsample_conv2d_forward_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                    const float *bias, const gb_conv_shape *shape);
void gb_upsample_conv2d_backward_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                     const float *dout, const float *inp, const float *weight,
                                     const gb_conv_shape *shape);
void gb_upsample_conv2d_forward_phases_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                                           const float *bias, const gb_conv_shape *shape);
void gb_upsample_conv2d_backward_phases_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                            const float *dout, const float *inp, const float *weight,
                                            const gb_conv_shape *shape);
void gb_conv_transpose2d_forward_cpu(gb_device *dev, float *out, const float *inp,
                                     const float *weight, const float *bias,
                                     const gb_conv_shape *shape);
void gb_conv_transpose2d_backward_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                      const float *dout, const float *inp, const float *weight,
                                      const gb_conv_shape *shape);
void gb_weight_standardize_forward_cpu(gb_device *dev, float *out, float *save_rstd,
                                       const float *weight, int out_channels, int fan_in, float eps);
void gb_weight_standardize_backward_cpu(gb_device *dev, float *dweight, const float *dout,
                                        const float *out, const float *save_rstd, int out_channels,
                                        int fan_in);

/* -- pooling, resampling, layout, softmax family, reductions, attention -- */

/* pool.c */
void gb_maxpool2d_forward_cpu(gb_device *dev, float *out, int32_t *argmax, const float *inp,
                              const gb_pool_shape *shape);
void gb_maxpool2d_backward_cpu(gb_device *dev, float *dinp, const float *dout, const int32_t *argmax,
                               const gb_pool_shape *shape);
void gb_avgpool2d_forward_cpu(gb_device *dev, float *out, const float *inp,
                              const gb_pool_shape *shape);
void gb_avgpool2d_backward_cpu(gb_device *dev, float *dinp, const float *dout,
                               const gb_pool_shape *shape);

/* layout.c */
void gb_spatial_sum_forward_cpu(gb_device *dev, float *out, const float *inp, size_t planes,
                                size_t spatial, float scale);
void gb_spatial_sum_backward_cpu(gb_device *dev, float *dinp, const float *dout, size_t planes,
                                 size_t spatial, float scale);
void gb_upsample_nearest2x_forward_cpu(gb_device *dev, float *out, const float *inp, size_t planes,
                                       int height, int width);
void gb_upsample_nearest2x_backward_cpu(gb_device *dev, float *dinp, const float *dout,
                                        size_t planes, int height, int width);
void gb_concat_channels_forward_cpu(gb_device *dev, float *out, const float *a, const float *b,
                                    int batch, int ca, int cb, size_t spatial);
void gb_concat_channels_backward_cpu(gb_device *dev, float *da, float *db, const float *dout,
                                     int batch, int ca, int cb, size_t spatial);
void gb_squeeze2x_forward_cpu(gb_device *dev, float *out, const float *inp, int batch, int channels,
                              int height, int width);
void gb_unsqueeze2x_forward_cpu(gb_device *dev, float *out, const float *inp, int batch,
                                int channels, int height, int width);

/* softmax.c */
void gb_softmax_forward_cpu(gb_device *dev, float *out, const float *inp, size_t rows, size_t cols);
void gb_softmax_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *out,
                             size_t rows, size_t cols);
void gb_log_softmax_forward_cpu(gb_device *dev, float *out, const float *inp, size_t rows,
                                size_t cols);
void gb_log_softmax_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *out,
                                 size_t rows, size_t cols);
void gb_logsumexp_forward_cpu(gb_device *dev, float *out, const float *inp, size_t rows,
                              size_t cols);
void gb_logsumexp_backward_cpu(gb_device *dev, float *dinp, const float *dout, const float *inp,
                               const float *out, size_t rows, size_t cols);
void gb_sum_forward_cpu(gb_device *dev, float *out, const float *inp, size_t n, float scale);
void gb_sum_backward_cpu(gb_device *dev, float *dinp, const float *dout, size_t n, float scale);

/* attention.c */
void gb_attention_forward_cpu(gb_device *dev, float *out, float *saved, const float *qkv,
                              const gb_attention_shape *shape);
void gb_attention_backward_cpu(gb_device *dev, float *dqkv, const float *dout, const float *qkv,
                               const float *saved, const gb_attention_shape *shape);

/* linear_attention.c */
void gb_linear_attention_forward_cpu(gb_device *dev, float *out, float *saved, const float *qkv,
                                     const gb_attention_shape *shape);
void gb_linear_attention_backward_cpu(gb_device *dev, float *dqkv, const float *dout,
                                      const float *qkv, const float *saved,
                                      const gb_attention_shape *shape);

/* -- losses, optimiser helpers, time embeddings, coupling -- */

/* gradient_penalty.c */
void gb_gradient_penalty_cpu(gb_device *dev, float *loss, float *dg, const float *g, size_t rows,
                             size_t cols, float lambda);

/* losses.c */
void gb_bce_with_logits_cpu(gb_device *dev, float *loss, float *dlogits, const float *logits,
                            const float *target, float target_value, size_t n, float weight);
void gb_sq_error_cpu(gb_device *dev, float *loss, float *dpred, const float *pred,
                     const float *target, float target_value, size_t n, double divisor);
void gb_cross_entropy_cpu(gb_device *dev, float *loss, float *dlogits, const float *logits,
                          const int32_t *labels, size_t rows, size_t classes, float weight);
void gb_gaussian_kl_cpu(gb_device *dev, float *loss, float *dmu, float *dlog_std, const float *mu,
                        const float *log_std, size_t rows, size_t cols, float weight);
void gb_reparameterize_forward_cpu(gb_device *dev, float *z, const float *mu, const float *log_std,
                                   const float *eps, size_t n);
void gb_reparameterize_backward_cpu(gb_device *dev, float *dmu, float *dlog_std, const float *dz,
                                    const float *log_std, const float *eps, size_t n);

/* clip.c */
void gb_clip_grad_norm_cpu(gb_device *dev, float *grads, size_t n, float max_norm,
                           float *total_norm);

/* embedding.c */
void gb_fourier_embedding_forward_cpu(gb_device *dev, float *out, const float *t, const float *w,
                                      size_t n, size_t half);
void gb_fourier_embedding_backward_cpu(gb_device *dev, float *dt, const float *dout,
                                       const float *t, const float *w, size_t n, size_t half);
void gb_sinusoidal_embedding_forward_cpu(gb_device *dev, float *out, const float *t, size_t n,
                                         size_t dim);
void gb_sinusoidal_embedding_backward_cpu(gb_device *dev, float *dt, const float *dout,
                                          const float *t, size_t n, size_t dim);

/* coupling.c */
void gb_coupling_forward_cpu(gb_device *dev, float *y, float *logdet, const float *x,
                             const float *s, const float *t, const gb_coupling_shape *shape);
void gb_coupling_backward_cpu(gb_device *dev, float *dx, float *ds, float *dt, const float *dy,
                              const float *dlogdet, const float *x, const float *s,
                              const gb_coupling_shape *shape);
void gb_coupling_inverse_cpu(gb_device *dev, float *x, const float *y, const float *s,
                             const float *t, const gb_coupling_shape *shape);

#endif
