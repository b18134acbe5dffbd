/* models/mnist_gan.h - the CS446 HW5 MNIST GAN (specs/pipelines.md 5.5): DNet and GNet.
 *
 *   DNet: x [B,1,28,28] -> conv1 (1->2, 3x3, p1) ReLU MaxPool2 -> conv2 (2->4, p1) ReLU
 *         MaxPool2 -> conv3 (4->8, p0) ReLU -> flatten 200 -> fc (200->1) logit. 593 parameters.
 *   GNet: z [B,64] -> fc (64->1568) LeakyReLU(0.2) -> [32,7,7] -> nearest x2 -> conv1
 *         (32->16, p1) LeakyReLU(0.2) -> nearest x2 -> conv2 (16->8, p1) LeakyReLU(0.2) ->
 *         conv3 (8->1, p1) Sigmoid -> [B,1,28,28]. 107,777 parameters.
 *
 * The starter leaves the layers as a TODO, so the parameter names are ours, PyTorch style
 * (conv1.weight [out, in, 3, 3], conv1.bias, ..., fc.weight [out, in], fc.bias), in
 * definition order: DNet conv1, conv2, conv3, fc; GNet fc, conv1, conv2, conv3. Init as the
 * spec: kaiming_uniform_ (a = 0: U(+-sqrt(6 / fan_in)), fan_in = in * kh * kw) on every weight,
 * zero biases.
 *
 * Activations live in one arena per network sized for max_batch; inputs (x, z) are caller
 * pointers that must stay unchanged until the matching backward. Gradient contract: parameter
 * gradients accumulate, input gradients overwrite, NULL = not needed.
 * Tested by tests/test_mnist_gan.c against PyTorch autograd and torch.optim.Adam
 * (tests/peers/mnist_gan_ref.py).
 */
#ifndef GB_MNIST_GAN_H
#define GB_MNIST_GAN_H

#include "../core/arena.h"
#include "../core/params.h"

#define GB_MNIST_GAN_ZDIM 64
#define GB_MNIST_GAN_PIXELS 784 /* 1 x 28 x 28 */

/* Parameter counts from the tables alone (no allocation): 593 and 107,777. */
size_t gb_mnist_dnet_param_count(void);
size_t gb_mnist_gnet_param_count(void);

/* Every conv (linear) op of one DNet and one GNet forward at `batch`, in execution order, for
 * the benchmark harness: fills min(cap, total) entries of out and names (either NULL when cap
 * is 0) and returns the total. Names are "dnet.<layer>" / "gnet.<layer>". */
size_t gb_mnist_gan_conv_shapes(int batch, gb_conv_shape *out, const char **names, size_t cap);
size_t gb_mnist_gan_linear_shapes(int batch, gb_linear_shape *out, const char **names,
                                  size_t cap);

typedef struct {
    size_t max_batch;
    gb_param_block params;
    gb_arena arena;
    const float *x;              /* the last forward's input (caller memory) */
    float *c1, *r1, *p1;         /* [B,2,28,28], [B,2,28,28], [B,2,14,14] */
    float *c2, *r2, *p2;         /* [B,4,14,14], [B,4,14,14], [B,4,7,7] */
    float *c3, *r3;              /* [B,8,5,5] = [B,200] */
    float *out;                  /* [B,1] logits */
    int32_t *arg1, *arg2;        /* max-pool argmax of p1, p2 */
    float *dr3, *dc3, *dp2, *dr2, *dc2, *dp1, *dr1, *dc1; /* backward scratch, same shapes */
} gb_mnist_dnet;

typedef struct {
    size_t max_batch;
    gb_param_block params;
    gb_arena arena;
    const float *z;
    float *f, *a0;               /* [B,1568] = [B,32,7,7] */
    float *c1, *a1;              /* [B,16,14,14] x2 */
    float *c2, *a2;              /* [B,8,28,28] x2 */
    float *c3, *out;             /* [B,1,28,28] */
    float *dc3, *da2, *dc2, *da1, *dc1, *da0, *df; /* backward scratch */
} gb_mnist_gnet;

/* Build the tables and arenas for batches up to max_batch; parameters are not initialised
 * (gb_params_init(&net->params, dev, seed)). */
void gb_mnist_dnet_create(gb_mnist_dnet *d, gb_device *dev, size_t max_batch);
void gb_mnist_gnet_create(gb_mnist_gnet *g, gb_device *dev, size_t max_batch);
void gb_mnist_dnet_destroy(gb_mnist_dnet *d, gb_device *dev);
void gb_mnist_gnet_destroy(gb_mnist_gnet *g, gb_device *dev);

/* D(x [B,1,28,28]) -> returns d->out [B,1] (logits). */
float *gb_mnist_dnet_forward(gb_mnist_dnet *d, gb_device *dev, size_t batch, const float *x);
/* dout [B,1] -> parameter gradients (+=) and, when dx is not NULL, dx [B,1,28,28] (=). */
void gb_mnist_dnet_backward(gb_mnist_dnet *d, gb_device *dev, size_t batch, const float *dout,
                            float *dx);
/* G(z [B,64]) -> returns g->out [B,1,28,28] in (0, 1). */
float *gb_mnist_gnet_forward(gb_mnist_gnet *g, gb_device *dev, size_t batch, const float *z);
/* dout [B,1,28,28] -> parameter gradients (+=); z is data (no input gradient). */
void gb_mnist_gnet_backward(gb_mnist_gnet *g, gb_device *dev, size_t batch, const float *dout);

#endif
