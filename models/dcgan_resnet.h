/* models/dcgan_resnet.h - the CMU 16-824 ResNet GAN (specs/pipelines.md 4.2): the generator and
 * the critic of the cub32-gan / cub32-lsgan / cub32-wgan-gp pipelines, forward and backward,
 * and the critic's exact WGAN-GP penalty gradient (4.3).
 *
 * Generator (1,204,099 parameters), z [B, 128] -> image [B, 3, 32, 32] in [-1, 1]:
 *   dense Linear(128 -> 2048), reshape [128, 4, 4]
 *   3 x ResBlockUp(128 -> 128): 4 -> 8 -> 16 -> 32
 *       layers:   BN -> ReLU -> Conv3x3(no bias, pad 1) -> BN -> ReLU -> UpSampleConv(3x3, pad 1)
 *       shortcut: UpSampleConv(1x1); output = layers + shortcut
 *   BN(128) -> ReLU -> Conv3x3(128 -> 3, pad 1) -> Tanh
 * BN is always in training mode (batch statistics; running statistics updated): the spec's
 * generator is never put in eval mode.
 *
 * Critic ("Discriminator", 1,053,825 parameters), image [B, 3, 32, 32] -> logit [B]:
 *   ResBlockDown(3 -> 128): 32 -> 16; ResBlockDown(128 -> 128): 16 -> 8
 *       layers:   ReLU -> Conv3x3(pad 1) -> ReLU -> DownSampleConv(3x3, pad 1)
 *       shortcut: DownSampleConv(1x1); output = layers + shortcut
 *   2 x ResBlock(128): ReLU -> Conv3x3 -> ReLU -> Conv3x3, plus identity
 *   ReLU, sum over H and W, dense Linear(128 -> 1)
 *
 * Parameter names are PyTorch's state-dict names of the spec's modules (gan/networks.py), in
 * state-dict order ("dense.weight", "layers.0.layers.0.weight", "layers.0.residual.conv.bias",
 * ...), so a state dict maps one to one; running statistics are in a separate buffer table
 * ("layers.0.layers.0.running_mean", ...), outside the Adam blocks, for checkpoints to save.
 *
 * Memory: every activation backward needs, and the backward scratch, come from one arena per
 * model sized for max_batch at create (DESIGN.md section 3); nothing is allocated after create.
 * A forward keeps pointers to its input (z, or the critic's image): the caller keeps that
 * memory unchanged until the matching backward. The critic's arena holds two activation sets,
 * the primal pass and the tangent pass of the WGAN-GP R-operator (models/dcgan_resnet_gp.c).
 *
 * Fan-outs (the gradient contract's exception): each residual block's input feeds both its
 * layers and its shortcut (identity for ResBlock); backward writes the shortcut's input
 * gradient and then adds the layers' (gb_add), so every public backward still OVERWRITES the
 * input gradient it is given.
 * Tested by tests/test_dcgan_resnet.c and tests/test_wgan_gp.c against PyTorch
 * (tests/peers/dcgan_resnet_ref.py).
 */
#ifndef GB_DCGAN_RESNET_H
#define GB_DCGAN_RESNET_H

#include "../core/arena.h"
#include "../core/params.h"
#include "../core/philox.h"
#include "layers.h"

#define GB_DCGAN_Z_DIM 128
#define GB_DCGAN_CHANNELS 128
#define GB_DCGAN_IMAGE_FLOATS (3 * 32 * 32) /* per sample */
#define GB_DCGAN_G_PARAMS 1204099
#define GB_DCGAN_D_PARAMS 1053825

/* ---- generator ----------------------------------------------------------------------------- */

typedef struct {
    gb_bn_layer bn1, bn2;
    gb_conv_layer conv1;    /* 3x3, no bias, at h x h */
    gb_conv_layer residual; /* UpSampleConv 3x3 at 2h x 2h */
    gb_conv_layer shortcut; /* UpSampleConv 1x1 at 2h x 2h (run at h x h, then upsampled) */
} gb_dcgan_res_up;

/* What one ResBlockUp saves (h = its input size): each [B, 128, h, h] unless noted. */
typedef struct {
    float *a1, *mean1, *rstd1; /* bn1 output, its batch statistics [128] */
    float *r1, *c1;            /* relu(a1), conv1(r1) */
    float *a2, *mean2, *rstd2; /* bn2 */
    float *r2;                 /* relu(a2) */
    float *y;                  /* block output [B, 128, 2h, 2h] */
} gb_dcgan_res_up_acts;

typedef struct {
    int max_batch;
    gb_linear_layer dense;
    gb_dcgan_res_up blocks[3];
    gb_bn_layer bn;
    gb_conv_layer conv;
    gb_param_block params;
    gb_param_block buffers; /* BN running_mean/running_var: only its params block is used */
    gb_arena arena;
    const float *z; /* input of the last forward (caller's memory) */
    int batch;      /* batch of the last forward */
    float *x0;      /* dense(z) [B, 2048] = [B, 128, 4, 4] */
    gb_dcgan_res_up_acts acts[3];
    float *af, *meanf, *rstdf, *rf, *cf; /* final BN, relu, conv (pre-tanh) */
    float *out;                          /* tanh(cf) [B, 3, 32, 32] */
    float *t1, *t2, *p1, *p2, *p3, *dcf; /* backward scratch */
} gb_dcgan_generator;

/* Build the tables and the arena for batches up to max_batch (>= 2: BN needs it). Parameters
 * and buffers are not initialised: call gb_dcgan_generator_init. */
void gb_dcgan_generator_create(gb_dcgan_generator *g, gb_device *dev, int max_batch);
/* PyTorch's default init from the "init/<name>" streams of seed; running stats 0 and 1. */
void gb_dcgan_generator_init(gb_dcgan_generator *g, gb_device *dev, uint64_t seed);
/* out [batch, 3, 32, 32] = G(z [batch, 128]); BN in training mode updates the running stats. */
float *gb_dcgan_generator_forward(gb_dcgan_generator *g, gb_device *dev, int batch, const float *z);
/* Backpropagate dout [batch, 3, 32, 32] of the last forward: parameter gradients +=,
 * dz [batch, 128] overwritten (NULL: skip). */
void gb_dcgan_generator_backward(gb_dcgan_generator *g, gb_device *dev, const float *dout, float *dz);
void gb_dcgan_generator_destroy(gb_dcgan_generator *g, gb_device *dev);

/* ---- critic -------------------------------------------------------------------------------- */

typedef struct {
    gb_conv_layer conv1;    /* 3x3 at h x h */
    gb_conv_layer residual; /* DownSampleConv 3x3 at h/2 */
    gb_conv_layer shortcut; /* DownSampleConv 1x1 at h/2 */
} gb_dcgan_res_down;

typedef struct {
    gb_conv_layer conv1, conv2; /* 3x3 at 8 x 8 */
} gb_dcgan_res_block;

/* One pass's activations (the primal pass, or the tangent pass of the R-operator). */
typedef struct {
    const float *x;                              /* input [B, 3, 32, 32] */
    float *r0[2], *c1[2], *r1[2], *p1[2], *px[2]; /* ResBlockDown b: relu(x), conv1, relu,
                                                    pooled r1, pooled x */
    float *y[2];                                 /* ResBlockDown outputs [B,128,16,16], [B,128,8,8] */
    float *ra[2], *ca[2], *rb[2], *yb[2];        /* ResBlock i: relu(x), conv1, relu, output */
    float *rf, *s, *out;                         /* final relu [B,128,8,8], sum [B,128], logit [B] */
} gb_dcgan_critic_acts;

typedef struct {
    int max_batch;
    gb_dcgan_res_down down[2];
    gb_dcgan_res_block res[2];
    gb_linear_layer dense;
    gb_param_block params;
    gb_arena arena;
    int batch;                        /* batch of the last forward */
    gb_dcgan_critic_acts act, tan;    /* primal and tangent activations */
    float *s1, *s2, *s3, *g1, *g2, *ds; /* backward scratch */
    float *ones;                      /* [max_batch] of 1 */
    float *grad_input, *direction;    /* WGAN-GP: g = grad_x D and v = dGP/dg, [B, 3072] */
    float *interp, *mixed;            /* [B, 3072]: eps fake + (1 - eps) real, and eps fake */
    float *eps_scale, *eps_scale_c;   /* [B, 3]: eps - 1 and -eps per (sample, channel) */
    float *dout;                      /* [B] */
    float *eps_host, *scale_host;     /* host [B], [2 B 3] */
} gb_dcgan_critic;

void gb_dcgan_critic_create(gb_dcgan_critic *d, gb_device *dev, int max_batch);
void gb_dcgan_critic_init(gb_dcgan_critic *d, gb_device *dev, uint64_t seed);
/* logits [batch] = D(x [batch, 3, 32, 32]); x must stay unchanged until the backward. */
float *gb_dcgan_critic_forward(gb_dcgan_critic *d, gb_device *dev, int batch, const float *x);
/* Backpropagate dout [batch] of the last forward: dx [batch, 3, 32, 32] overwritten (NULL:
 * skip); the parameter gradients accumulate when param_grads (0: the generator's step through
 * the critic, which only needs dx). */
void gb_dcgan_critic_backward(gb_dcgan_critic *d, gb_device *dev, const float *dout, float *dx,
                              int param_grads);
void gb_dcgan_critic_destroy(gb_dcgan_critic *d, gb_device *dev);

/* ---- WGAN-GP (models/dcgan_resnet_gp.c) ----------------------------------------------------
 * The penalty lambda * mean_r (||grad_{x_r} D(x_r)||_2 - 1)^2 at x [batch, 3, 32, 32] (norm per
 * sample over C*H*W, specs/pipelines.md 4.3): writes its value to penalty (one float, backend
 * memory) and ACCUMULATES its exact gradient with respect to every critic parameter (the
 * R-operator, derivation in dcgan_resnet_gp.c). Overwrites the critic's activations. */
void gb_dcgan_critic_gradient_penalty(gb_dcgan_critic *d, gb_device *dev, int batch,
                                      const float *x, float lambda, float *penalty);
/* The whole critic loss of a WGAN-GP step, E[D(fake)] - E[D(real)] + lambda GP at
 * interp = eps fake + (1 - eps) real (eps [batch] host floats, one per sample), and its
 * parameter gradient (accumulated). losses [4] in backend memory receive
 * {loss, E[D(real)], E[D(fake)], lambda GP}. */
void gb_dcgan_critic_wgan_gp_eps(gb_dcgan_critic *d, gb_device *dev, int batch, const float *real,
                                 const float *fake, const float *eps, float lambda, float *losses);
/* The same with eps ~ U(0, 1) drawn from `stream` (batch words, gb_stream_uniform). */
void gb_dcgan_critic_wgan_gp(gb_dcgan_critic *d, gb_device *dev, int batch, const float *real,
                             const float *fake, gb_stream *stream, float lambda, float *losses);

/* ---- shapes for the benchmark harness -----------------------------------------------------
 * Every conv of G then D, in forward order, at `batch`, with its name ("G.layers.0.residual.conv";
 * static storage). Writes min(total, cap) entries and returns the total (call with cap 0 to
 * size). The linear layers likewise ("G.dense", "D.dense"). */
size_t gb_dcgan_conv_shapes(int batch, gb_conv_shape *out, const char **names, size_t cap);
size_t gb_dcgan_linear_shapes(int batch, gb_linear_shape *out, const char **names, size_t cap);
/* The generator's UpSampleConv2D layers (the upsample_conv2d op; their conv at the upsampled
 * size, as gb_dcgan_conv_shapes lists it too), in forward order. */
size_t gb_dcgan_upsample_conv_shapes(int batch, gb_conv_shape *out, const char **names, size_t cap);

#endif
