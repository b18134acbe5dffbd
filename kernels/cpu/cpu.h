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

/* -- normalisation -- */

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
void gb_conv2d_backward_cpu(gb_device *dev, float *dinp, float *dweight, float *dbias,
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

/* -- losses, optimiser helpers, time embeddings, coupling -- */

#endif
