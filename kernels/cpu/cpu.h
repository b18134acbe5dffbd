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

/* -- pooling, resampling, layout, softmax family, reductions, attention -- */

/* -- losses, optimiser helpers, time embeddings, coupling -- */

#endif
