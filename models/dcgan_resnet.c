/* models/dcgan_resnet.c - the ResNet GAN generator and critic: definitions, arenas, forward and
 * backward (see dcgan_resnet.h; the WGAN-GP penalty is in dcgan_resnet_gp.c).
 *
 * The critic's passes are written once for both the primal and the tangent pass of the
 * R-operator: critic_pass runs the network on an activation set, either as itself or, given the
 * primal set, as its forward-mode tangent (ReLU -> activation_jvp at the primal pre-activation,
 * convs and the dense layer without bias, pooling / sum / residual adds unchanged because they
 * are linear). critic_reverse is the reverse pass with the ReLU masks of the primal set and the
 * weight gradients formed from a chosen set: the primal (the ordinary gradient) or the tangent
 * (the penalty's, see dcgan_resnet_gp.c).
 */
#include "dcgan_resnet.h"

#include <stdlib.h>

#include "dcgan_resnet_internal.h"

static const gb_activation RELU = {GB_ACT_RELU, 0.0f};
static const gb_activation TANH = {GB_ACT_TANH, 0.0f};

/* Layer names: "<model>.<state-dict prefix>", static storage (layers.h). */
static const char *const G_BN1[3] = {"G.layers.0.layers.0", "G.layers.1.layers.0", "G.layers.2.layers.0"};
static const char *const G_CONV1[3] = {"G.layers.0.layers.2", "G.layers.1.layers.2", "G.layers.2.layers.2"};
static const char *const G_BN2[3] = {"G.layers.0.layers.3", "G.layers.1.layers.3", "G.layers.2.layers.3"};
static const char *const G_RES[3] = {"G.layers.0.residual.conv", "G.layers.1.residual.conv",
                                     "G.layers.2.residual.conv"};
static const char *const G_SHORT[3] = {"G.layers.0.shortcut.conv", "G.layers.1.shortcut.conv",
                                       "G.layers.2.shortcut.conv"};
static const char *const D_CONV1[2] = {"D.layers.0.layers.1", "D.layers.1.layers.1"};
static const char *const D_RES[2] = {"D.layers.0.residual.conv", "D.layers.1.residual.conv"};
static const char *const D_SHORT[2] = {"D.layers.0.shortcut.conv", "D.layers.1.shortcut.conv"};
static const char *const D_BLOCK_CONV1[2] = {"D.layers.2.layers.1", "D.layers.3.layers.1"};
static const char *const D_BLOCK_CONV2[2] = {"D.layers.2.layers.3", "D.layers.3.layers.3"};

enum { C = GB_DCGAN_CHANNELS, G_SPECS = 33, G_BUFFERS = 14, D_SPECS = 22 };

/* The table, in PyTorch's state-dict order (module registration order of gan/networks.py). */
void gb_dcgan_generator_define(gb_dcgan_generator *g, gb_layer_table *pt, gb_layer_table *bt) {
    g->dense = gb_linear_layer_add(pt, "G.dense", GB_DCGAN_Z_DIM, C * 4 * 4);
    for (int k = 0; k < 3; k++) {
        int h = 4 << k;
        gb_dcgan_res_up *b = &g->blocks[k];
        b->bn1 = gb_bn_layer_add(pt, bt, G_BN1[k], C, h * h);
        b->conv1 = gb_conv_layer_add(pt, G_CONV1[k], C, C, 3, 1, 0, h, h);
        b->bn2 = gb_bn_layer_add(pt, bt, G_BN2[k], C, h * h);
        b->residual = gb_conv_layer_add(pt, G_RES[k], C, C, 3, 1, 1, 2 * h, 2 * h);
        b->shortcut = gb_conv_layer_add(pt, G_SHORT[k], C, C, 1, 0, 1, 2 * h, 2 * h);
    }
    g->bn = gb_bn_layer_add(pt, bt, "G.layers.3", C, 32 * 32);
    g->conv = gb_conv_layer_add(pt, "G.layers.5", C, 3, 3, 1, 1, 32, 32);
}

void gb_dcgan_critic_define(gb_dcgan_critic *d, gb_layer_table *pt) {
    for (int b = 0; b < 2; b++) {
        int h = 32 >> b, cin = b == 0 ? 3 : C;
        gb_dcgan_res_down *r = &d->down[b];
        r->conv1 = gb_conv_layer_add(pt, D_CONV1[b], cin, C, 3, 1, 1, h, h);
        r->residual = gb_conv_layer_add(pt, D_RES[b], C, C, 3, 1, 1, h / 2, h / 2);
        r->shortcut = gb_conv_layer_add(pt, D_SHORT[b], cin, C, 1, 0, 1, h / 2, h / 2);
    }
    for (int i = 0; i < 2; i++) {
        d->res[i].conv1 = gb_conv_layer_add(pt, D_BLOCK_CONV1[i], C, C, 3, 1, 1, 8, 8);
        d->res[i].conv2 = gb_conv_layer_add(pt, D_BLOCK_CONV2[i], C, C, 3, 1, 1, 8, 8);
    }
    d->dense = gb_linear_layer_add(pt, "D.dense", C, 1);
}

static void *arena_alloc(void *dev, size_t bytes) { return gb_dev_alloc(dev, bytes); }
static void arena_free(void *dev, void *p) { gb_dev_free(dev, p); }

/* ---- generator ------------------------------------------------------------------------------ */

static void generator_layout(gb_dcgan_generator *g) {
    gb_arena *a = &g->arena;
    size_t b = (size_t)g->max_batch;
    g->x0 = gb_arena_floats(a, b * C * 16);
    for (int k = 0; k < 3; k++) {
        size_t hw = (size_t)(4 << k) * (size_t)(4 << k);
        gb_dcgan_res_up_acts *s = &g->acts[k];
        s->a1 = gb_arena_floats(a, b * C * hw);
        s->mean1 = gb_arena_floats(a, C);
        s->rstd1 = gb_arena_floats(a, C);
        s->r1 = gb_arena_floats(a, b * C * hw);
        s->c1 = gb_arena_floats(a, b * C * hw);
        s->a2 = gb_arena_floats(a, b * C * hw);
        s->mean2 = gb_arena_floats(a, C);
        s->rstd2 = gb_arena_floats(a, C);
        s->r2 = gb_arena_floats(a, b * C * hw);
        s->y = gb_arena_floats(a, b * C * 4 * hw);
    }
    g->af = gb_arena_floats(a, b * C * 1024);
    g->meanf = gb_arena_floats(a, C);
    g->rstdf = gb_arena_floats(a, C);
    g->rf = gb_arena_floats(a, b * C * 1024);
    g->cf = gb_arena_floats(a, b * GB_DCGAN_IMAGE_FLOATS);
    g->out = gb_arena_floats(a, b * GB_DCGAN_IMAGE_FLOATS);
    g->t1 = gb_arena_floats(a, b * C * 1024);
    g->t2 = gb_arena_floats(a, b * C * 1024);
    g->p1 = gb_arena_floats(a, b * C * 256);
    g->p2 = gb_arena_floats(a, b * C * 256);
    g->p3 = gb_arena_floats(a, b * C * 256);
    g->dcf = gb_arena_floats(a, b * GB_DCGAN_IMAGE_FLOATS);
}

/* The shortcut, a 1x1 conv of the upsampled block input, commutes with the nearest upsampling
 * (every output pixel is W x + b of the one input pixel it copies), so it runs at the input
 * size and its output is upsampled: a quarter of the multiply-adds, and no upsampled copy of
 * the input. Forward values are the same dot products; the backward sums each input pixel's
 * four output gradients first (upsample backward, in double, rounded once) and then runs the
 * 1x1 conv backward at the low size, so dW, db and dx round differently from the
 * high-resolution form (a few float ulps; tests/test_dcgan_resnet.c and tests/test_gan_step.c
 * compare with PyTorch within their tolerances). */
static gb_conv_layer shortcut_low(const gb_dcgan_res_up *l) {
    gb_conv_layer sc = l->shortcut;
    sc.height /= 2;
    sc.width /= 2;
    return sc;
}

void gb_dcgan_generator_create(gb_dcgan_generator *g, gb_device *dev, int max_batch) {
    GB_ASSERT(max_batch >= 2, "generator: max_batch %d (BatchNorm in training mode needs >= 2)", max_batch);
    *g = (gb_dcgan_generator){.max_batch = max_batch};
    gb_param_spec specs[G_SPECS], bufs[G_BUFFERS];
    gb_layer_table pt = {specs, 0, G_SPECS}, bt = {bufs, 0, G_BUFFERS};
    gb_dcgan_generator_define(g, &pt, &bt);
    GB_ASSERT(pt.n == G_SPECS && bt.n == G_BUFFERS, "generator table: %zu specs, %zu buffers", pt.n, bt.n);
    gb_params_create(&g->params, dev, specs, pt.n);
    gb_params_create(&g->buffers, dev, bufs, bt.n);
    g->arena = gb_arena_measure();
    generator_layout(g);
    gb_arena_allocate(&g->arena, dev, arena_alloc, arena_free);
    generator_layout(g);
}

void gb_dcgan_generator_init(gb_dcgan_generator *g, gb_device *dev, uint64_t seed) {
    gb_params_init(&g->params, dev, seed);
    gb_params_init(&g->buffers, dev, seed);
}

float *gb_dcgan_generator_forward(gb_dcgan_generator *g, gb_device *dev, int batch, const float *z) {
    GB_ASSERT(batch >= 2 && batch <= g->max_batch, "generator: batch %d outside [2, %d]", batch, g->max_batch);
    const gb_param_block *pb = &g->params, *bb = &g->buffers;
    size_t B = (size_t)batch;
    g->z = z;
    g->batch = batch;
    gb_linear_layer_forward(dev, pb, &g->dense, g->x0, z, batch, 1);
    const float *x = g->x0;
    for (int k = 0; k < 3; k++) {
        const gb_dcgan_res_up *l = &g->blocks[k];
        gb_dcgan_res_up_acts *s = &g->acts[k];
        size_t n = B * C * (size_t)l->bn1.spatial;
        gb_bn_layer_forward_train(dev, pb, bb, &l->bn1, s->a1, s->mean1, s->rstd1, x, batch);
        gb_activation_forward(dev, s->r1, s->a1, n, &RELU);
        gb_conv_layer_forward(dev, pb, &l->conv1, s->c1, s->r1, batch, 1);
        gb_bn_layer_forward_train(dev, pb, bb, &l->bn2, s->a2, s->mean2, s->rstd2, s->c1, batch);
        gb_activation_forward(dev, s->r2, s->a2, n, &RELU);
        gb_upsample_conv_forward(dev, pb, &l->residual, s->y, s->r2, batch, 1);
        /* the 1x1 shortcut at the block's input size, then upsampled (see shortcut_low) */
        gb_conv_layer sc = shortcut_low(l);
        gb_conv_layer_forward(dev, pb, &sc, g->p1, x, batch, 1);
        gb_upsample_nearest2x_forward(dev, g->t1, g->p1, B * C, sc.height, sc.width);
        gb_add(dev, s->y, s->y, g->t1, 4 * n);
        x = s->y;
    }
    gb_bn_layer_forward_train(dev, pb, bb, &g->bn, g->af, g->meanf, g->rstdf, x, batch);
    gb_activation_forward(dev, g->rf, g->af, B * C * 1024, &RELU);
    gb_conv_layer_forward(dev, pb, &g->conv, g->cf, g->rf, batch, 1);
    gb_activation_forward(dev, g->out, g->cf, B * GB_DCGAN_IMAGE_FLOATS, &TANH);
    return g->out;
}

void gb_dcgan_generator_backward(gb_dcgan_generator *g, gb_device *dev, const float *dout, float *dz) {
    const gb_param_block *pb = &g->params;
    int batch = g->batch;
    size_t B = (size_t)batch;
    gb_activation_backward(dev, g->dcf, dout, g->cf, B * GB_DCGAN_IMAGE_FLOATS, &TANH);
    gb_conv_layer_backward(dev, pb, &g->conv, g->t1, g->dcf, g->rf, batch, GB_GRADS_ALL);
    gb_activation_backward(dev, g->t1, g->t1, g->af, B * C * 1024, &RELU);
    gb_bn_layer_backward_train(dev, pb, &g->bn, g->t2, g->t1, g->acts[2].y, g->meanf, g->rstdf,
                               batch, GB_GRADS_ALL);
    /* t2 holds the gradient of the current block's output; each block overwrites it with the
     * gradient of its input, the sum of the shortcut's (p1) and the layers' (p3) fan-out. */
    for (int k = 2; k >= 0; k--) {
        const gb_dcgan_res_up *l = &g->blocks[k];
        const gb_dcgan_res_up_acts *s = &g->acts[k];
        const float *x = k == 0 ? g->x0 : g->acts[k - 1].y;
        size_t n = B * C * (size_t)l->bn1.spatial;
        gb_conv_layer sc = shortcut_low(l);
        gb_upsample_nearest2x_backward(dev, g->p3, g->t2, B * C, sc.height, sc.width);
        gb_conv_layer_backward(dev, pb, &sc, g->p1, g->p3, x, batch, GB_GRADS_ALL);
        gb_upsample_conv_backward(dev, pb, &l->residual, g->p2, g->t2, s->r2, batch, GB_GRADS_ALL);
        gb_activation_backward(dev, g->p2, g->p2, s->a2, n, &RELU);
        gb_bn_layer_backward_train(dev, pb, &l->bn2, g->p3, g->p2, s->c1, s->mean2, s->rstd2, batch,
                                   GB_GRADS_ALL);
        gb_conv_layer_backward(dev, pb, &l->conv1, g->p2, g->p3, s->r1, batch, GB_GRADS_ALL);
        gb_activation_backward(dev, g->p2, g->p2, s->a1, n, &RELU);
        gb_bn_layer_backward_train(dev, pb, &l->bn1, g->p3, g->p2, x, s->mean1, s->rstd1, batch,
                                   GB_GRADS_ALL);
        gb_add(dev, g->t2, g->p3, g->p1, n);
    }
    gb_linear_layer_backward(dev, pb, &g->dense, dz, g->t2, g->z, batch, GB_GRADS_ALL);
}

void gb_dcgan_generator_destroy(gb_dcgan_generator *g, gb_device *dev) {
    gb_params_destroy(&g->params, dev);
    gb_params_destroy(&g->buffers, dev);
    gb_arena_release(&g->arena);
}

/* ---- critic ------------------------------------------------------------------------------- */

static void critic_acts_layout(gb_arena *a, gb_dcgan_critic_acts *s, size_t b) {
    for (int k = 0; k < 2; k++) {
        size_t h = (size_t)(32 >> k), cin = k == 0 ? 3 : C;
        s->r0[k] = gb_arena_floats(a, b * cin * h * h);
        s->c1[k] = gb_arena_floats(a, b * C * h * h);
        s->r1[k] = gb_arena_floats(a, b * C * h * h);
        s->p1[k] = gb_arena_floats(a, b * C * h * h / 4);
        s->px[k] = gb_arena_floats(a, b * cin * h * h / 4);
        s->y[k] = gb_arena_floats(a, b * C * h * h / 4);
    }
    for (int i = 0; i < 2; i++) {
        s->ra[i] = gb_arena_floats(a, b * C * 64);
        s->ca[i] = gb_arena_floats(a, b * C * 64);
        s->rb[i] = gb_arena_floats(a, b * C * 64);
        s->yb[i] = gb_arena_floats(a, b * C * 64);
    }
    s->rf = gb_arena_floats(a, b * C * 64);
    s->s = gb_arena_floats(a, b * C);
    s->out = gb_arena_floats(a, b);
}

static void critic_layout(gb_dcgan_critic *d) {
    gb_arena *a = &d->arena;
    size_t b = (size_t)d->max_batch;
    critic_acts_layout(a, &d->act, b);
    critic_acts_layout(a, &d->tan, b);
    d->s1 = gb_arena_floats(a, b * C * 256);
    d->s2 = gb_arena_floats(a, b * C * 1024);
    d->s3 = gb_arena_floats(a, b * C * 256);
    d->g1 = gb_arena_floats(a, b * C * 256);
    d->g2 = gb_arena_floats(a, b * C * 256);
    d->ds = gb_arena_floats(a, b * C);
    d->ones = gb_arena_floats(a, b);
    d->grad_input = gb_arena_floats(a, b * GB_DCGAN_IMAGE_FLOATS);
    d->direction = gb_arena_floats(a, b * GB_DCGAN_IMAGE_FLOATS);
    d->interp = gb_arena_floats(a, b * GB_DCGAN_IMAGE_FLOATS);
    d->mixed = gb_arena_floats(a, b * GB_DCGAN_IMAGE_FLOATS);
    d->eps_scale = gb_arena_floats(a, b * 3);
    d->eps_scale_c = gb_arena_floats(a, b * 3);
    d->dout = gb_arena_floats(a, b);
}

void gb_dcgan_critic_create(gb_dcgan_critic *d, gb_device *dev, int max_batch) {
    GB_ASSERT(max_batch >= 1, "critic: max_batch %d", max_batch);
    *d = (gb_dcgan_critic){.max_batch = max_batch};
    gb_param_spec specs[D_SPECS];
    gb_layer_table pt = {specs, 0, D_SPECS};
    gb_dcgan_critic_define(d, &pt);
    GB_ASSERT(pt.n == D_SPECS, "critic table: %zu specs", pt.n);
    gb_params_create(&d->params, dev, specs, pt.n);
    d->arena = gb_arena_measure();
    critic_layout(d);
    gb_arena_allocate(&d->arena, dev, arena_alloc, arena_free);
    critic_layout(d);
    gb_fill(dev, d->ones, 1.0f, (size_t)max_batch);
    d->eps_host = malloc((size_t)max_batch * sizeof(float));
    d->scale_host = malloc((size_t)max_batch * 6 * sizeof(float));
    GB_ASSERT(d->eps_host && d->scale_host, "critic: out of host memory for batch %d", max_batch);
}

void gb_dcgan_critic_init(gb_dcgan_critic *d, gb_device *dev, uint64_t seed) {
    gb_params_init(&d->params, dev, seed);
}

/* ReLU of a pass: itself on the primal pass (primal_inp NULL), its tangent f'(x) inp_t on the
 * tangent pass (primal_inp = x, the primal pre-activation). */
static void relu_pass(gb_device *dev, float *out, const float *inp, const float *primal_inp, size_t n) {
    if (primal_inp)
        gb_activation_jvp(dev, out, primal_inp, inp, n, &RELU);
    else
        gb_activation_forward(dev, out, inp, n, &RELU);
}

void gb_dcgan_critic_pass(gb_dcgan_critic *d, gb_device *dev, int batch, gb_dcgan_critic_acts *a,
                          const gb_dcgan_critic_acts *p) {
    const gb_param_block *pb = &d->params;
    size_t B = (size_t)batch;
    int bias = p == NULL;
    const float *x = a->x, *px = p ? p->x : NULL;
    for (int k = 0; k < 2; k++) {
        const gb_dcgan_res_down *l = &d->down[k];
        size_t hw = (size_t)l->conv1.height * (size_t)l->conv1.width;
        size_t nin = B * (size_t)l->conv1.in_channels * hw, n = B * C * hw;
        relu_pass(dev, a->r0[k], x, px, nin);
        gb_conv_layer_forward(dev, pb, &l->conv1, a->c1[k], a->r0[k], batch, bias);
        relu_pass(dev, a->r1[k], a->c1[k], p ? p->c1[k] : NULL, n);
        gb_downsample_conv_forward(dev, pb, &l->residual, a->y[k], a->p1[k], a->r1[k], batch, bias);
        gb_downsample_conv_forward(dev, pb, &l->shortcut, d->s1, a->px[k], x, batch, bias);
        gb_add(dev, a->y[k], a->y[k], d->s1, n / 4);
        x = a->y[k];
        px = p ? p->y[k] : NULL;
    }
    size_t n = B * C * 64;
    for (int i = 0; i < 2; i++) {
        const gb_dcgan_res_block *l = &d->res[i];
        relu_pass(dev, a->ra[i], x, px, n);
        gb_conv_layer_forward(dev, pb, &l->conv1, a->ca[i], a->ra[i], batch, bias);
        relu_pass(dev, a->rb[i], a->ca[i], p ? p->ca[i] : NULL, n);
        gb_conv_layer_forward(dev, pb, &l->conv2, d->s1, a->rb[i], batch, bias);
        gb_add(dev, a->yb[i], x, d->s1, n);
        x = a->yb[i];
        px = p ? p->yb[i] : NULL;
    }
    relu_pass(dev, a->rf, x, px, n);
    gb_spatial_sum_forward(dev, a->s, a->rf, B * C, 64, 1.0f);
    gb_linear_layer_forward(dev, pb, &d->dense, a->out, a->s, batch, bias);
}

void gb_dcgan_critic_reverse(gb_dcgan_critic *d, gb_device *dev, int batch, const float *dout,
                             float *dx, const gb_dcgan_critic_acts *w, gb_layer_grads grads) {
    const gb_param_block *pb = &d->params;
    const gb_dcgan_critic_acts *p = &d->act;
    size_t B = (size_t)batch, n = B * C * 64;
    gb_linear_layer_backward(dev, pb, &d->dense, d->ds, dout, w->s, batch, grads);
    gb_spatial_sum_backward(dev, d->g1, d->ds, B * C, 64, 1.0f);
    gb_activation_backward(dev, d->g1, d->g1, p->yb[1], n, &RELU);
    /* dy: gradient of the current block's output; dnext receives its input's, the identity
     * fan-out dy plus the layers' path. */
    float *dy = d->g1, *dnext = d->g2;
    for (int i = 1; i >= 0; i--) {
        const gb_dcgan_res_block *l = &d->res[i];
        const float *x = i == 0 ? p->y[1] : p->yb[0];
        gb_conv_layer_backward(dev, pb, &l->conv2, d->s1, dy, w->rb[i], batch, grads);
        gb_activation_backward(dev, d->s1, d->s1, p->ca[i], n, &RELU);
        gb_conv_layer_backward(dev, pb, &l->conv1, d->s3, d->s1, w->ra[i], batch, grads);
        gb_activation_backward(dev, d->s3, d->s3, x, n, &RELU);
        gb_add(dev, dnext, dy, d->s3, n);
        float *t = dy;
        dy = dnext;
        dnext = t;
    }
    for (int k = 1; k >= 0; k--) {
        const gb_dcgan_res_down *l = &d->down[k];
        const float *x = k == 0 ? p->x : p->y[0];
        float *dxk = k == 0 ? dx : dnext;
        size_t hw = (size_t)l->conv1.height * (size_t)l->conv1.width;
        size_t nin = B * (size_t)l->conv1.in_channels * hw, nmid = B * C * hw;
        /* the shortcut writes dxk, the layers' path is added to it (the block input's fan-out) */
        gb_downsample_conv_backward(dev, pb, &l->shortcut, dxk, d->s1, dy, w->px[k], batch, grads);
        gb_downsample_conv_backward(dev, pb, &l->residual, d->s2, d->s1, dy, w->p1[k], batch, grads);
        gb_activation_backward(dev, d->s2, d->s2, p->c1[k], nmid, &RELU);
        gb_conv_layer_backward(dev, pb, &l->conv1, dxk ? d->s3 : NULL, d->s2, w->r0[k], batch, grads);
        if (dxk) {
            gb_activation_backward(dev, d->s3, d->s3, x, nin, &RELU);
            gb_add(dev, dxk, dxk, d->s3, nin);
        }
        dy = dxk;
    }
}

float *gb_dcgan_critic_forward(gb_dcgan_critic *d, gb_device *dev, int batch, const float *x) {
    GB_ASSERT(batch >= 1 && batch <= d->max_batch, "critic: batch %d outside [1, %d]", batch, d->max_batch);
    d->batch = batch;
    d->act.x = x;
    gb_dcgan_critic_pass(d, dev, batch, &d->act, NULL);
    return d->act.out;
}

void gb_dcgan_critic_backward(gb_dcgan_critic *d, gb_device *dev, const float *dout, float *dx,
                              int param_grads) {
    gb_dcgan_critic_reverse(d, dev, d->batch, dout, dx, &d->act, param_grads ? GB_GRADS_ALL : GB_GRADS_NONE);
}

void gb_dcgan_critic_destroy(gb_dcgan_critic *d, gb_device *dev) {
    gb_params_destroy(&d->params, dev);
    gb_arena_release(&d->arena);
    free(d->eps_host);
    free(d->scale_host);
}

/* ---- shapes for the benchmark harness --------------------------------------------------------- */

static void put_conv(size_t *n, const gb_conv_layer *l, int batch, gb_conv_shape *out,
                     const char **names, size_t cap) {
    if (*n < cap) {
        if (out) out[*n] = gb_conv_layer_shape(l, batch);
        if (names) names[*n] = l->name;
    }
    (*n)++;
}

size_t gb_dcgan_conv_shapes(int batch, gb_conv_shape *out, const char **names, size_t cap) {
    gb_dcgan_generator g;
    gb_dcgan_critic d;
    gb_param_spec specs[G_SPECS], bufs[G_BUFFERS];
    gb_layer_table pt = {specs, 0, G_SPECS}, bt = {bufs, 0, G_BUFFERS};
    gb_dcgan_generator_define(&g, &pt, &bt);
    pt.n = 0;
    gb_dcgan_critic_define(&d, &pt);
    size_t n = 0;
    for (int k = 0; k < 3; k++) {
        gb_conv_layer sc = shortcut_low(&g.blocks[k]); /* the shape it runs at */
        put_conv(&n, &sc, batch, out, names, cap);
        put_conv(&n, &g.blocks[k].conv1, batch, out, names, cap);
        put_conv(&n, &g.blocks[k].residual, batch, out, names, cap);
    }
    put_conv(&n, &g.conv, batch, out, names, cap);
    for (int k = 0; k < 2; k++) {
        put_conv(&n, &d.down[k].conv1, batch, out, names, cap);
        put_conv(&n, &d.down[k].residual, batch, out, names, cap);
        put_conv(&n, &d.down[k].shortcut, batch, out, names, cap);
    }
    for (int i = 0; i < 2; i++) {
        put_conv(&n, &d.res[i].conv1, batch, out, names, cap);
        put_conv(&n, &d.res[i].conv2, batch, out, names, cap);
    }
    return n;
}

size_t gb_dcgan_linear_shapes(int batch, gb_linear_shape *out, const char **names, size_t cap) {
    gb_dcgan_generator g;
    gb_dcgan_critic d;
    gb_param_spec specs[G_SPECS], bufs[G_BUFFERS];
    gb_layer_table pt = {specs, 0, G_SPECS}, bt = {bufs, 0, G_BUFFERS};
    gb_dcgan_generator_define(&g, &pt, &bt);
    pt.n = 0;
    gb_dcgan_critic_define(&d, &pt);
    const gb_linear_layer *ls[2] = {&g.dense, &d.dense};
    for (size_t i = 0; i < 2 && i < cap; i++) {
        if (out) out[i] = gb_linear_layer_shape(ls[i], batch);
        if (names) names[i] = ls[i]->name;
    }
    return 2;
}

size_t gb_dcgan_upsample_conv_shapes(int batch, gb_conv_shape *out, const char **names, size_t cap) {
    gb_dcgan_generator g;
    gb_param_spec specs[G_SPECS], bufs[G_BUFFERS];
    gb_layer_table pt = {specs, 0, G_SPECS}, bt = {bufs, 0, G_BUFFERS};
    gb_dcgan_generator_define(&g, &pt, &bt);
    size_t n = 0;
    for (int k = 0; k < 3; k++) put_conv(&n, &g.blocks[k].residual, batch, out, names, cap);
    return n;
}
