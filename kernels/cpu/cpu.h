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

/* -- pooling, resampling, layout, softmax family, reductions, attention -- */

/* -- losses, optimiser helpers, time embeddings, coupling -- */

#endif
