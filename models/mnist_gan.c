/* models/mnist_gan.c - forward and backward of the CS446 MNIST DNet and GNet (see mnist_gan.h). */
#include "mnist_gan.h"

#include <math.h>
#include <stdio.h>

static const gb_activation act_relu = {.kind = GB_ACT_RELU};
static const gb_activation act_leaky = {.kind = GB_ACT_LEAKY_RELU, .slope = 0.2f};
static const gb_activation act_sigmoid = {.kind = GB_ACT_SIGMOID};

/* ---- layer geometry, the one source of every shape -------------------------------------------- */

typedef struct {
    const char *name;
    int in_c, out_c, size, pad; /* square input of side `size`, 3x3 kernel, stride 1 */
} conv_def;

/* In execution order; DNet first, then GNet. */
static const conv_def dnet_convs[3] = {
    {"conv1", 1, 2, 28, 1}, {"conv2", 2, 4, 14, 1}, {"conv3", 4, 8, 7, 0}};
static const conv_def gnet_convs[3] = {
    {"conv1", 32, 16, 14, 1}, {"conv2", 16, 8, 28, 1}, {"conv3", 8, 1, 28, 1}};
enum { D_FC_IN = 200, G_FC_OUT = 32 * 7 * 7 };

static gb_conv_shape conv_shape(const conv_def *c, size_t batch) {
    return (gb_conv_shape){.batch = (int)batch, .in_channels = c->in_c, .in_height = c->size,
                           .in_width = c->size, .out_channels = c->out_c, .kernel_h = 3,
                           .kernel_w = 3, .stride_h = 1, .stride_w = 1, .pad_h = c->pad,
                           .pad_w = c->pad};
}

static gb_pool_shape pool_shape(int channels, int size, size_t batch) {
    return (gb_pool_shape){.batch = (int)batch, .channels = channels, .in_height = size,
                           .in_width = size, .kernel_h = 2, .kernel_w = 2, .stride_h = 2,
                           .stride_w = 2};
}

size_t gb_mnist_gan_conv_shapes(int batch, gb_conv_shape *out, const char **names, size_t cap) {
    static const char *const labels[6] = {"dnet.conv1", "dnet.conv2", "dnet.conv3",
                                          "gnet.conv1", "gnet.conv2", "gnet.conv3"};
    for (size_t i = 0; i < 6 && i < cap; i++) {
        const conv_def *c = i < 3 ? &dnet_convs[i] : &gnet_convs[i - 3];
        if (out) out[i] = conv_shape(c, (size_t)batch);
        if (names) names[i] = labels[i];
    }
    return 6;
}

size_t gb_mnist_gan_linear_shapes(int batch, gb_linear_shape *out, const char **names,
                                  size_t cap) {
    const gb_linear_shape s[2] = {{(size_t)batch, D_FC_IN, 1},
                                  {(size_t)batch, GB_MNIST_GAN_ZDIM, G_FC_OUT}};
    static const char *const labels[2] = {"dnet.fc", "gnet.fc"};
    for (size_t i = 0; i < 2 && i < cap; i++) {
        if (out) out[i] = s[i];
        if (names) names[i] = labels[i];
    }
    return 2;
}

/* ---- parameter tables ---------------------------------------------------------------------------- */

/* kaiming_uniform_ with a = 0: gain sqrt(2), bound gain * sqrt(3 / fan_in) = sqrt(6 / fan_in). */
static float kaiming_bound(int fan_in) { return (float)sqrt(6.0 / (double)fan_in); }

static size_t add_conv(gb_param_spec *s, size_t n, const conv_def *c) {
    s[n] = (gb_param_spec){.ndim = 4, .shape = {c->out_c, c->in_c, 3, 3}, .init = GB_INIT_UNIFORM,
                           .init_scale = kaiming_bound(c->in_c * 9)};
    s[n + 1] = (gb_param_spec){.ndim = 1, .shape = {c->out_c}, .init = GB_INIT_ZEROS};
    snprintf(s[n].name, sizeof s[n].name, "%s.weight", c->name);
    snprintf(s[n + 1].name, sizeof s[n + 1].name, "%s.bias", c->name);
    return n + 2;
}

static size_t add_fc(gb_param_spec *s, size_t n, int in, int out) {
    s[n] = (gb_param_spec){.ndim = 2, .shape = {out, in}, .init = GB_INIT_UNIFORM,
                           .init_scale = kaiming_bound(in)};
    s[n + 1] = (gb_param_spec){.ndim = 1, .shape = {out}, .init = GB_INIT_ZEROS};
    snprintf(s[n].name, sizeof s[n].name, "fc.weight");
    snprintf(s[n + 1].name, sizeof s[n + 1].name, "fc.bias");
    return n + 2;
}

enum { N_SPECS = 8 };
/* Table indices (weight; bias is +1). */
enum { DW_CONV1 = 0, DW_CONV2 = 2, DW_CONV3 = 4, DW_FC = 6 };
enum { GW_FC = 0, GW_CONV1 = 2, GW_CONV2 = 4, GW_CONV3 = 6 };

static size_t dnet_specs(gb_param_spec *s) {
    size_t n = 0;
    for (int i = 0; i < 3; i++) n = add_conv(s, n, &dnet_convs[i]);
    return add_fc(s, n, D_FC_IN, 1);
}

static size_t gnet_specs(gb_param_spec *s) {
    size_t n = add_fc(s, 0, GB_MNIST_GAN_ZDIM, G_FC_OUT);
    for (int i = 0; i < 3; i++) n = add_conv(s, n, &gnet_convs[i]);
    return n;
}

static size_t table_numel(const gb_param_spec *s, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += gb_param_numel(&s[i]);
    return total;
}

size_t gb_mnist_dnet_param_count(void) {
    gb_param_spec s[N_SPECS];
    return table_numel(s, dnet_specs(s));
}

size_t gb_mnist_gnet_param_count(void) {
    gb_param_spec s[N_SPECS];
    return table_numel(s, gnet_specs(s));
}

/* ---- arenas ---------------------------------------------------------------------------------------- */

static void *arena_alloc(void *dev, size_t bytes) { return gb_dev_alloc(dev, bytes); }
static void arena_free(void *dev, void *p) { gb_dev_free(dev, p); }

static void dnet_layout(gb_mnist_dnet *d) {
    gb_arena *a = &d->arena;
    size_t b = d->max_batch;
    const size_t n1 = b * 2 * 28 * 28, q1 = b * 2 * 14 * 14, n2 = b * 4 * 14 * 14,
                 q2 = b * 4 * 7 * 7, n3 = b * D_FC_IN;
    d->c1 = gb_arena_floats(a, n1), d->r1 = gb_arena_floats(a, n1), d->p1 = gb_arena_floats(a, q1);
    d->c2 = gb_arena_floats(a, n2), d->r2 = gb_arena_floats(a, n2), d->p2 = gb_arena_floats(a, q2);
    d->c3 = gb_arena_floats(a, n3), d->r3 = gb_arena_floats(a, n3);
    d->out = gb_arena_floats(a, b);
    /* int32 argmax in float-sized slots (the arena hands out 4-byte units) */
    d->arg1 = (int32_t *)gb_arena_floats(a, q1);
    d->arg2 = (int32_t *)gb_arena_floats(a, q2);
    d->dr3 = gb_arena_floats(a, n3), d->dc3 = gb_arena_floats(a, n3);
    d->dp2 = gb_arena_floats(a, q2), d->dr2 = gb_arena_floats(a, n2), d->dc2 = gb_arena_floats(a, n2);
    d->dp1 = gb_arena_floats(a, q1), d->dr1 = gb_arena_floats(a, n1), d->dc1 = gb_arena_floats(a, n1);
}

static void gnet_layout(gb_mnist_gnet *g) {
    gb_arena *a = &g->arena;
    size_t b = g->max_batch;
    const size_t nf = b * G_FC_OUT, nc1 = b * 16 * 14 * 14, nc2 = b * 8 * 28 * 28, nc3 = b * 28 * 28;
    g->f = gb_arena_floats(a, nf), g->a0 = gb_arena_floats(a, nf);
    g->c1 = gb_arena_floats(a, nc1), g->a1 = gb_arena_floats(a, nc1);
    g->c2 = gb_arena_floats(a, nc2), g->a2 = gb_arena_floats(a, nc2);
    g->c3 = gb_arena_floats(a, nc3), g->out = gb_arena_floats(a, nc3);
    g->dc3 = gb_arena_floats(a, nc3), g->da2 = gb_arena_floats(a, nc2), g->dc2 = gb_arena_floats(a, nc2);
    g->da1 = gb_arena_floats(a, nc1), g->dc1 = gb_arena_floats(a, nc1);
    g->da0 = gb_arena_floats(a, nf), g->df = gb_arena_floats(a, nf);
}

void gb_mnist_dnet_create(gb_mnist_dnet *d, gb_device *dev, size_t max_batch) {
    *d = (gb_mnist_dnet){.max_batch = max_batch};
    gb_param_spec s[N_SPECS];
    gb_params_create(&d->params, dev, s, dnet_specs(s));
    d->arena = gb_arena_measure();
    dnet_layout(d);
    gb_arena_allocate(&d->arena, dev, arena_alloc, arena_free);
    dnet_layout(d);
}

void gb_mnist_gnet_create(gb_mnist_gnet *g, gb_device *dev, size_t max_batch) {
    *g = (gb_mnist_gnet){.max_batch = max_batch};
    gb_param_spec s[N_SPECS];
    gb_params_create(&g->params, dev, s, gnet_specs(s));
    g->arena = gb_arena_measure();
    gnet_layout(g);
    gb_arena_allocate(&g->arena, dev, arena_alloc, arena_free);
    gnet_layout(g);
}

void gb_mnist_dnet_destroy(gb_mnist_dnet *d, gb_device *dev) {
    gb_params_destroy(&d->params, dev);
    gb_arena_release(&d->arena);
}

void gb_mnist_gnet_destroy(gb_mnist_gnet *g, gb_device *dev) {
    gb_params_destroy(&g->params, dev);
    gb_arena_release(&g->arena);
}

/* ---- DNet ------------------------------------------------------------------------------------------ */

float *gb_mnist_dnet_forward(gb_mnist_dnet *d, gb_device *dev, size_t batch, const float *x) {
    GB_ASSERT(batch <= d->max_batch, "mnist dnet: batch %zu > max %zu", batch, d->max_batch);
    const gb_param_block *p = &d->params;
    gb_conv_shape s1 = conv_shape(&dnet_convs[0], batch), s2 = conv_shape(&dnet_convs[1], batch),
                  s3 = conv_shape(&dnet_convs[2], batch);
    gb_pool_shape q1 = pool_shape(2, 28, batch), q2 = pool_shape(4, 14, batch);
    gb_linear_shape sf = {batch, D_FC_IN, 1};
    d->x = x;
    gb_conv2d_forward(dev, d->c1, x, gb_param(p, DW_CONV1), gb_param(p, DW_CONV1 + 1), &s1);
    gb_activation_forward(dev, d->r1, d->c1, batch * 2 * 28 * 28, &act_relu);
    gb_maxpool2d_forward(dev, d->p1, d->arg1, d->r1, &q1);
    gb_conv2d_forward(dev, d->c2, d->p1, gb_param(p, DW_CONV2), gb_param(p, DW_CONV2 + 1), &s2);
    gb_activation_forward(dev, d->r2, d->c2, batch * 4 * 14 * 14, &act_relu);
    gb_maxpool2d_forward(dev, d->p2, d->arg2, d->r2, &q2);
    gb_conv2d_forward(dev, d->c3, d->p2, gb_param(p, DW_CONV3), gb_param(p, DW_CONV3 + 1), &s3);
    gb_activation_forward(dev, d->r3, d->c3, batch * D_FC_IN, &act_relu);
    /* [B,8,5,5] is already the row-major flatten [B,200] */
    gb_linear_forward(dev, d->out, d->r3, gb_param(p, DW_FC), gb_param(p, DW_FC + 1), &sf);
    return d->out;
}

void gb_mnist_dnet_backward(gb_mnist_dnet *d, gb_device *dev, size_t batch, const float *dout,
                            float *dx) {
    const gb_param_block *p = &d->params;
    gb_conv_shape s1 = conv_shape(&dnet_convs[0], batch), s2 = conv_shape(&dnet_convs[1], batch),
                  s3 = conv_shape(&dnet_convs[2], batch);
    gb_pool_shape q1 = pool_shape(2, 28, batch), q2 = pool_shape(4, 14, batch);
    gb_linear_shape sf = {batch, D_FC_IN, 1};
    gb_linear_backward(dev, d->dr3, gb_grad(p, DW_FC), gb_grad(p, DW_FC + 1), dout, d->r3,
                       gb_param(p, DW_FC), &sf);
    gb_activation_backward(dev, d->dc3, d->dr3, d->c3, batch * D_FC_IN, &act_relu);
    gb_conv2d_backward(dev, d->dp2, gb_grad(p, DW_CONV3), gb_grad(p, DW_CONV3 + 1), d->dc3, d->p2,
                       gb_param(p, DW_CONV3), &s3);
    gb_maxpool2d_backward(dev, d->dr2, d->dp2, d->arg2, &q2);
    gb_activation_backward(dev, d->dc2, d->dr2, d->c2, batch * 4 * 14 * 14, &act_relu);
    gb_conv2d_backward(dev, d->dp1, gb_grad(p, DW_CONV2), gb_grad(p, DW_CONV2 + 1), d->dc2, d->p1,
                       gb_param(p, DW_CONV2), &s2);
    gb_maxpool2d_backward(dev, d->dr1, d->dp1, d->arg1, &q1);
    gb_activation_backward(dev, d->dc1, d->dr1, d->c1, batch * 2 * 28 * 28, &act_relu);
    gb_conv2d_backward(dev, dx, gb_grad(p, DW_CONV1), gb_grad(p, DW_CONV1 + 1), d->dc1, d->x,
                       gb_param(p, DW_CONV1), &s1);
}

/* ---- GNet ------------------------------------------------------------------------------------------ */

float *gb_mnist_gnet_forward(gb_mnist_gnet *g, gb_device *dev, size_t batch, const float *z) {
    GB_ASSERT(batch <= g->max_batch, "mnist gnet: batch %zu > max %zu", batch, g->max_batch);
    const gb_param_block *p = &g->params;
    gb_conv_shape s1 = conv_shape(&gnet_convs[0], batch), s2 = conv_shape(&gnet_convs[1], batch),
                  s3 = conv_shape(&gnet_convs[2], batch);
    gb_linear_shape sf = {batch, GB_MNIST_GAN_ZDIM, G_FC_OUT};
    g->z = z;
    gb_linear_forward(dev, g->f, z, gb_param(p, GW_FC), gb_param(p, GW_FC + 1), &sf);
    /* [B,1568] read as [B,32,7,7] (row-major view, as .view(-1, 32, 7, 7)) */
    gb_activation_forward(dev, g->a0, g->f, batch * G_FC_OUT, &act_leaky);
    /* nearest x2 upsample + conv in one op (kernels/kernels.h upsample_conv2d) */
    gb_upsample_conv2d_forward(dev, g->c1, g->a0, gb_param(p, GW_CONV1), gb_param(p, GW_CONV1 + 1), &s1);
    gb_activation_forward(dev, g->a1, g->c1, batch * 16 * 14 * 14, &act_leaky);
    gb_upsample_conv2d_forward(dev, g->c2, g->a1, gb_param(p, GW_CONV2), gb_param(p, GW_CONV2 + 1), &s2);
    gb_activation_forward(dev, g->a2, g->c2, batch * 8 * 28 * 28, &act_leaky);
    gb_conv2d_forward(dev, g->c3, g->a2, gb_param(p, GW_CONV3), gb_param(p, GW_CONV3 + 1), &s3);
    gb_activation_forward(dev, g->out, g->c3, batch * 28 * 28, &act_sigmoid);
    return g->out;
}

void gb_mnist_gnet_backward(gb_mnist_gnet *g, gb_device *dev, size_t batch, const float *dout) {
    const gb_param_block *p = &g->params;
    gb_conv_shape s1 = conv_shape(&gnet_convs[0], batch), s2 = conv_shape(&gnet_convs[1], batch),
                  s3 = conv_shape(&gnet_convs[2], batch);
    gb_linear_shape sf = {batch, GB_MNIST_GAN_ZDIM, G_FC_OUT};
    gb_activation_backward(dev, g->dc3, dout, g->c3, batch * 28 * 28, &act_sigmoid);
    gb_conv2d_backward(dev, g->da2, gb_grad(p, GW_CONV3), gb_grad(p, GW_CONV3 + 1), g->dc3, g->a2,
                       gb_param(p, GW_CONV3), &s3);
    gb_activation_backward(dev, g->dc2, g->da2, g->c2, batch * 8 * 28 * 28, &act_leaky);
    gb_upsample_conv2d_backward(dev, g->da1, gb_grad(p, GW_CONV2), gb_grad(p, GW_CONV2 + 1), g->dc2, g->a1,
                                gb_param(p, GW_CONV2), &s2);
    gb_activation_backward(dev, g->dc1, g->da1, g->c1, batch * 16 * 14 * 14, &act_leaky);
    gb_upsample_conv2d_backward(dev, g->da0, gb_grad(p, GW_CONV1), gb_grad(p, GW_CONV1 + 1), g->dc1, g->a0,
                                gb_param(p, GW_CONV1), &s1);
    gb_activation_backward(dev, g->df, g->da0, g->f, batch * G_FC_OUT, &act_leaky);
    gb_linear_backward(dev, NULL, gb_grad(p, GW_FC), gb_grad(p, GW_FC + 1), g->df, g->z,
                       gb_param(p, GW_FC), &sf);
}
