/* models/layers.h - small building blocks shared by the convolutional models: a parameter-table
 * builder, and conv / linear / BatchNorm layers that know their parameter indices and geometry,
 * with forward, tangent (R-operator) and backward helpers over the backend table.
 *
 * A layer is plain data: the indices of its tensors in the model's parameter table and the
 * sizes it runs at (models here have fixed image sizes, so a conv layer records its input
 * height and width). The helpers call kernels/ops.h and follow its gradient contract:
 * parameter gradients accumulate, input gradients overwrite, a NULL input gradient is skipped.
 * Which parameter gradients a backward call adds is chosen by a gb_layer_grads mask, so the
 * same helper serves the ordinary backward (weight and bias), an input-gradient-only pass
 * (none: e.g. the critic's input gradient inside WGAN-GP, or the generator step through a
 * frozen critic) and the WGAN-GP tangent pass (weight only: the tangent of a layer carries no
 * bias, see models/dcgan_resnet.c).
 *
 * Names: a layer's name is a string with static storage, "<model>.<state-dict prefix>" such
 * as "G.layers.0.residual.conv"; its tensors are named "<state-dict prefix>.weight" etc. (the
 * part after the first '.'), PyTorch's state-dict names, so weights map one to one.
 * BatchNorm running statistics are buffers, not trained parameters: they go in a second table
 * (running_mean zeros, running_var ones, PyTorch's initial values) whose block the model keeps
 * outside the Adam blocks; PyTorch's num_batches_tracked is not kept (momentum 0.1 never reads
 * it). Init: conv and linear weights and biases U(+-1/sqrt(fan_in)), PyTorch's default
 * (kaiming_uniform with a = sqrt(5) gives exactly that bound); BN weight 1, bias 0.
 * Tested through the models that use them: tests/test_dcgan_resnet.c, tests/test_wgan_gp.c.
 */
#ifndef GB_MODELS_LAYERS_H
#define GB_MODELS_LAYERS_H

#include "../core/params.h"

#define GB_NO_PARAM ((size_t)-1)

/* A parameter table under construction in caller-provided storage (cap specs). */
typedef struct {
    gb_param_spec *specs;
    size_t n, cap;
} gb_layer_table;

/* Append one tensor "<prefix>.<suffix>"; returns its index. Overflowing cap or a name longer
 * than GB_PARAM_NAME_MAX is a programmer error. */
size_t gb_layer_table_add(gb_layer_table *t, const char *prefix, const char *suffix, int ndim,
                          const int64_t *shape, gb_init_kind init, float init_scale);

/* Which parameter gradients a backward call accumulates. */
typedef enum {
    GB_GRADS_NONE = 0,
    GB_GRADS_WEIGHT = 1,
    GB_GRADS_BIAS = 2,
    GB_GRADS_ALL = 3,
} gb_layer_grads;

/* ---- Conv2d (square kernel, stride 1, zero padding) ------------------------------------ */
typedef struct {
    const char *name;          /* static storage, "<model>.<state-dict prefix>" */
    size_t weight, bias;       /* table indices; bias GB_NO_PARAM when bias=False */
    int in_channels, out_channels, kernel, pad;
    int height, width;         /* the input size the model runs this conv at */
} gb_conv_layer;

/* Adds "<prefix>.weight" [out, in, k, k] and, when bias, "<prefix>.bias" [out]. */
gb_conv_layer gb_conv_layer_add(gb_layer_table *t, const char *name, int in_channels,
                                int out_channels, int kernel, int pad, int bias, int height,
                                int width);
gb_conv_shape gb_conv_layer_shape(const gb_conv_layer *l, int batch);
size_t gb_conv_layer_out_floats(const gb_conv_layer *l, int batch);
/* out = conv(inp) (+ bias when with_bias and the layer has one; the tangent passes 0). */
void gb_conv_layer_forward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                           float *out, const float *inp, int batch, int with_bias);
/* dinp = conv^T(dout) (NULL: skip); dweight += (dout, inp) and dbias += (dout) as `grads` says. */
void gb_conv_layer_backward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                            float *dinp, const float *dout, const float *inp, int batch,
                            gb_layer_grads grads);

/* UpSampleConv2D: nearest-neighbour x2 upsample, then the conv (l->height/width are the
 * upsampled size; inp is [batch, in, height/2, width/2]), through the backend's
 * upsample_conv2d, which never needs the upsampled image: the backward reads inp. */
void gb_upsample_conv_forward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                              float *out, const float *inp, int batch, int with_bias);
void gb_upsample_conv_backward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                               float *dinp, const float *dout, const float *inp, int batch,
                               gb_layer_grads grads);

/* DownSampleConv2D (WGAN-GP's MeanPoolConv): 2x2 mean pool (stride 2), then the conv
 * (l->height/width are the pooled size). `pooled` receives the pooled input (saved). */
void gb_downsample_conv_forward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                                float *out, float *pooled, const float *inp, int batch,
                                int with_bias);
void gb_downsample_conv_backward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                                 float *dinp, float *dpooled, const float *dout,
                                 const float *pooled, int batch, gb_layer_grads grads);

/* ---- Linear ------------------------------------------------------------------------------ */
typedef struct {
    const char *name;
    size_t weight, bias;
    int in_features, out_features;
} gb_linear_layer;

/* Adds "<prefix>.weight" [out, in] and "<prefix>.bias" [out]. */
gb_linear_layer gb_linear_layer_add(gb_layer_table *t, const char *name, int in_features,
                                    int out_features);
gb_linear_shape gb_linear_layer_shape(const gb_linear_layer *l, int batch);
void gb_linear_layer_forward(gb_device *dev, const gb_param_block *pb, const gb_linear_layer *l,
                             float *out, const float *inp, int batch, int with_bias);
void gb_linear_layer_backward(gb_device *dev, const gb_param_block *pb, const gb_linear_layer *l,
                              float *dinp, const float *dout, const float *inp, int batch,
                              gb_layer_grads grads);

/* ---- BatchNorm2d, training mode ------------------------------------------------------------ */
typedef struct {
    const char *name;
    size_t gamma, beta;               /* parameter table: "<prefix>.weight", "<prefix>.bias" */
    size_t running_mean, running_var; /* buffer table: "<prefix>.running_mean", ".running_var" */
    int channels, spatial;            /* spatial = H*W the model runs it at */
    float eps, momentum;              /* PyTorch's defaults: 1e-5, 0.1 */
} gb_bn_layer;

gb_bn_layer gb_bn_layer_add(gb_layer_table *params, gb_layer_table *buffers, const char *name,
                            int channels, int spatial);
/* Batch statistics normalise; save_mean/save_rstd [channels] are kept for backward; the
 * running statistics in `buffers` (may be NULL: not updated) move with momentum. */
void gb_bn_layer_forward_train(gb_device *dev, const gb_param_block *pb,
                               const gb_param_block *buffers, const gb_bn_layer *l, float *out,
                               float *save_mean, float *save_rstd, const float *inp, int batch);
void gb_bn_layer_backward_train(gb_device *dev, const gb_param_block *pb, const gb_bn_layer *l,
                                float *dinp, const float *dout, const float *inp,
                                const float *save_mean, const float *save_rstd, int batch,
                                gb_layer_grads grads);

#endif
