/* models/dcgan_resnet_internal.h - what models/dcgan_resnet.c shares with dcgan_resnet_gp.c:
 * the table definitions and the critic's generic passes. Not for other callers. */
#ifndef GB_DCGAN_RESNET_INTERNAL_H
#define GB_DCGAN_RESNET_INTERNAL_H

#include "dcgan_resnet.h"

/* Fill the layer structs and append their tensors to the tables (state-dict order). */
void gb_dcgan_generator_define(gb_dcgan_generator *g, gb_layer_table *params, gb_layer_table *buffers);
void gb_dcgan_critic_define(gb_dcgan_critic *d, gb_layer_table *params);

/* Run the critic on a->x into a. p NULL: the primal pass. p = the primal set: the forward-mode
 * tangent of the network at p->x along a->x (ReLU -> f'(p's pre-activation) * tangent; convs
 * and the dense layer without bias; pooling, sum and residual adds unchanged, being linear). */
void gb_dcgan_critic_pass(gb_dcgan_critic *d, gb_device *dev, int batch, gb_dcgan_critic_acts *a,
                          const gb_dcgan_critic_acts *p);
/* Reverse pass from dout [batch] to dx (NULL: skip) with the ReLU derivatives of the primal set
 * d->act; weight gradients are formed from the layer inputs saved in w (d->act or d->tan) and
 * accumulate as grads says. */
void gb_dcgan_critic_reverse(gb_dcgan_critic *d, gb_device *dev, int batch, const float *dout,
                             float *dx, const gb_dcgan_critic_acts *w, gb_layer_grads grads);

#endif
