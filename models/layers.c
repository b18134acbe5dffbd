/* models/layers.c - parameter-table builder and the conv / linear / BatchNorm layer helpers
 * (see layers.h). */
#include "layers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

size_t gb_layer_table_add(gb_layer_table *t, const char *prefix, const char *suffix, int ndim,
                          const int64_t *shape, gb_init_kind init, float init_scale) {
    GB_ASSERT(t->n < t->cap, "layer table full (%zu specs) adding %s.%s", t->cap, prefix, suffix);
    GB_ASSERT(ndim >= 1 && ndim <= GB_PARAM_MAX_DIMS, "%s.%s: ndim %d", prefix, suffix, ndim);
    gb_param_spec *s = &t->specs[t->n];
    memset(s, 0, sizeof *s);
    int len = snprintf(s->name, sizeof s->name, "%s.%s", prefix, suffix);
    GB_ASSERT(len > 0 && (size_t)len < sizeof s->name, "parameter name %s.%s too long", prefix, suffix);
    s->ndim = ndim;
    for (int d = 0; d < ndim; d++) s->shape[d] = shape[d];
    s->init = init;
    s->init_scale = init_scale;
    return t->n++;
}

/* "G.layers.0.conv" -> "layers.0.conv": the model tag is not part of the state-dict name. */
static const char *state_dict_prefix(const char *name) {
    const char *dot = strchr(name, '.');
    return dot ? dot + 1 : name;
}

/* ---- conv ---------------------------------------------------------------------------------- */

gb_conv_layer gb_conv_layer_add(gb_layer_table *t, const char *name, int in_channels,
                                int out_channels, int kernel, int pad, int bias, int height,
                                int width) {
    const char *p = state_dict_prefix(name);
    float bound = 1.0f / sqrtf((float)(in_channels * kernel * kernel));
    int64_t wshape[4] = {out_channels, in_channels, kernel, kernel}, bshape[1] = {out_channels};
    gb_conv_layer l = {.name = name, .in_channels = in_channels, .out_channels = out_channels,
                       .kernel = kernel, .pad = pad, .height = height, .width = width};
    l.weight = gb_layer_table_add(t, p, "weight", 4, wshape, GB_INIT_UNIFORM, bound);
    l.bias = bias ? gb_layer_table_add(t, p, "bias", 1, bshape, GB_INIT_UNIFORM, bound) : GB_NO_PARAM;
    return l;
}

gb_conv_shape gb_conv_layer_shape(const gb_conv_layer *l, int batch) {
    return (gb_conv_shape){.batch = batch, .in_channels = l->in_channels, .in_height = l->height,
                           .in_width = l->width, .out_channels = l->out_channels,
                           .kernel_h = l->kernel, .kernel_w = l->kernel, .stride_h = 1,
                           .stride_w = 1, .pad_h = l->pad, .pad_w = l->pad};
}

size_t gb_conv_layer_out_floats(const gb_conv_layer *l, int batch) {
    gb_conv_shape s = gb_conv_layer_shape(l, batch);
    return (size_t)batch * (size_t)l->out_channels * (size_t)gb_conv_out_h(&s) * (size_t)gb_conv_out_w(&s);
}

/* The conv-family entries a layer runs through: conv2d, or upsample_conv2d (UpSampleConv2D). */
typedef void (*conv_forward_fn)(gb_device *, float *, const float *, const float *, const float *,
                                const gb_conv_shape *);
typedef void (*conv_backward_fn)(gb_device *, float *, float *, float *, const float *, const float *,
                                 const float *, const gb_conv_shape *);

static void layer_forward(conv_forward_fn op, gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                          float *out, const float *inp, int batch, int with_bias) {
    gb_conv_shape s = gb_conv_layer_shape(l, batch);
    const float *bias = with_bias && l->bias != GB_NO_PARAM ? gb_param(pb, l->bias) : NULL;
    op(dev, out, inp, gb_param(pb, l->weight), bias, &s);
}

static void layer_backward(conv_backward_fn op, gb_device *dev, const gb_param_block *pb,
                           const gb_conv_layer *l, float *dinp, const float *dout, const float *inp,
                           int batch, gb_layer_grads grads) {
    gb_conv_shape s = gb_conv_layer_shape(l, batch);
    float *dw = grads & GB_GRADS_WEIGHT ? gb_grad(pb, l->weight) : NULL;
    float *db = grads & GB_GRADS_BIAS && l->bias != GB_NO_PARAM ? gb_grad(pb, l->bias) : NULL;
    if (!dinp && !dw && !db) return;
    op(dev, dinp, dw, db, dout, inp, gb_param(pb, l->weight), &s);
}

void gb_conv_layer_forward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                           float *out, const float *inp, int batch, int with_bias) {
    layer_forward(dev->ops->conv2d_forward, dev, pb, l, out, inp, batch, with_bias);
}

void gb_conv_layer_backward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                            float *dinp, const float *dout, const float *inp, int batch,
                            gb_layer_grads grads) {
    layer_backward(dev->ops->conv2d_backward, dev, pb, l, dinp, dout, inp, batch, grads);
}

void gb_upsample_conv_forward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                              float *out, const float *inp, int batch, int with_bias) {
    layer_forward(dev->ops->upsample_conv2d_forward, dev, pb, l, out, inp, batch, with_bias);
}

void gb_upsample_conv_backward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                               float *dinp, const float *dout, const float *inp, int batch,
                               gb_layer_grads grads) {
    layer_backward(dev->ops->upsample_conv2d_backward, dev, pb, l, dinp, dout, inp, batch, grads);
}

static gb_pool_shape mean_pool_shape(const gb_conv_layer *l, int batch) {
    return (gb_pool_shape){.batch = batch, .channels = l->in_channels, .in_height = 2 * l->height,
                           .in_width = 2 * l->width, .kernel_h = 2, .kernel_w = 2, .stride_h = 2,
                           .stride_w = 2, .count_include_pad = 1};
}

void gb_downsample_conv_forward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                                float *out, float *pooled, const float *inp, int batch,
                                int with_bias) {
    gb_pool_shape ps = mean_pool_shape(l, batch);
    gb_avgpool2d_forward(dev, pooled, inp, &ps);
    gb_conv_layer_forward(dev, pb, l, out, pooled, batch, with_bias);
}

void gb_downsample_conv_backward(gb_device *dev, const gb_param_block *pb, const gb_conv_layer *l,
                                 float *dinp, float *dpooled, const float *dout,
                                 const float *pooled, int batch, gb_layer_grads grads) {
    gb_conv_layer_backward(dev, pb, l, dinp ? dpooled : NULL, dout, pooled, batch, grads);
    if (dinp) {
        gb_pool_shape ps = mean_pool_shape(l, batch);
        gb_avgpool2d_backward(dev, dinp, dpooled, &ps);
    }
}

/* ---- linear ---------------------------------------------------------------------------------- */

gb_linear_layer gb_linear_layer_add(gb_layer_table *t, const char *name, int in_features,
                                    int out_features) {
    const char *p = state_dict_prefix(name);
    float bound = 1.0f / sqrtf((float)in_features);
    int64_t wshape[2] = {out_features, in_features}, bshape[1] = {out_features};
    gb_linear_layer l = {.name = name, .in_features = in_features, .out_features = out_features};
    l.weight = gb_layer_table_add(t, p, "weight", 2, wshape, GB_INIT_UNIFORM, bound);
    l.bias = gb_layer_table_add(t, p, "bias", 1, bshape, GB_INIT_UNIFORM, bound);
    return l;
}

gb_linear_shape gb_linear_layer_shape(const gb_linear_layer *l, int batch) {
    return (gb_linear_shape){(size_t)batch, (size_t)l->in_features, (size_t)l->out_features};
}

void gb_linear_layer_forward(gb_device *dev, const gb_param_block *pb, const gb_linear_layer *l,
                             float *out, const float *inp, int batch, int with_bias) {
    gb_linear_shape s = gb_linear_layer_shape(l, batch);
    gb_linear_forward(dev, out, inp, gb_param(pb, l->weight), with_bias ? gb_param(pb, l->bias) : NULL, &s);
}

void gb_linear_layer_backward(gb_device *dev, const gb_param_block *pb, const gb_linear_layer *l,
                              float *dinp, const float *dout, const float *inp, int batch,
                              gb_layer_grads grads) {
    gb_linear_shape s = gb_linear_layer_shape(l, batch);
    float *dw = grads & GB_GRADS_WEIGHT ? gb_grad(pb, l->weight) : NULL;
    float *db = grads & GB_GRADS_BIAS ? gb_grad(pb, l->bias) : NULL;
    if (!dinp && !dw && !db) return;
    gb_linear_backward(dev, dinp, dw, db, dout, inp, gb_param(pb, l->weight), &s);
}

/* ---- BatchNorm2d ------------------------------------------------------------------------------ */

gb_bn_layer gb_bn_layer_add(gb_layer_table *params, gb_layer_table *buffers, const char *name,
                            int channels, int spatial) {
    const char *p = state_dict_prefix(name);
    int64_t shape[1] = {channels};
    gb_bn_layer l = {.name = name, .channels = channels, .spatial = spatial, .eps = 1e-5f,
                     .momentum = 0.1f};
    l.gamma = gb_layer_table_add(params, p, "weight", 1, shape, GB_INIT_ONES, 0.0f);
    l.beta = gb_layer_table_add(params, p, "bias", 1, shape, GB_INIT_ZEROS, 0.0f);
    l.running_mean = gb_layer_table_add(buffers, p, "running_mean", 1, shape, GB_INIT_ZEROS, 0.0f);
    l.running_var = gb_layer_table_add(buffers, p, "running_var", 1, shape, GB_INIT_ONES, 0.0f);
    return l;
}

static gb_norm_shape bn_shape(const gb_bn_layer *l, int batch) {
    return (gb_norm_shape){.batch = batch, .channels = l->channels, .spatial = l->spatial,
                           .groups = 1, .eps = l->eps};
}

void gb_bn_layer_forward_train(gb_device *dev, const gb_param_block *pb,
                               const gb_param_block *buffers, const gb_bn_layer *l, float *out,
                               float *save_mean, float *save_rstd, const float *inp, int batch) {
    gb_norm_shape s = bn_shape(l, batch);
    float *rm = buffers ? gb_param(buffers, l->running_mean) : NULL;
    float *rv = buffers ? gb_param(buffers, l->running_var) : NULL;
    gb_batchnorm_forward_train(dev, out, save_mean, save_rstd, rm, rv, inp, gb_param(pb, l->gamma),
                               gb_param(pb, l->beta), &s, l->momentum);
}

void gb_bn_layer_backward_train(gb_device *dev, const gb_param_block *pb, const gb_bn_layer *l,
                                float *dinp, const float *dout, const float *inp,
                                const float *save_mean, const float *save_rstd, int batch,
                                gb_layer_grads grads) {
    gb_norm_shape s = bn_shape(l, batch);
    float *dg = grads & GB_GRADS_WEIGHT ? gb_grad(pb, l->gamma) : NULL;
    float *db = grads & GB_GRADS_BIAS ? gb_grad(pb, l->beta) : NULL;
    gb_batchnorm_backward_train(dev, dinp, dg, db, dout, inp, gb_param(pb, l->gamma), save_mean,
                                save_rstd, &s);
}
