/* models/zsl_gan.c - forward, backward and the exact WGAN-GP parameter gradient of the
 * GAZSL / CIZSL networks (see zsl_gan.h).
 *
 * The penalty gradient, by forward-mode tangents (Pearlmutter's R-operator), chosen over a
 * double backward because it reuses the ops' forward and jvp kernels and needs no graph:
 *
 * The critic's WGAN head on one sample x (the interpolate):
 *     a = W1 x + b1,  h = f(a),  y = w2 . h + b2            (f = ReLU in the spec)
 * Its input gradient (backward with dy = 1):
 *     g = W1^T (f'(a) * w2)
 * The penalty P = lambda * mean_r (||g_r|| - 1)^2 depends on the parameters theta only through
 * g, so with v = dP/dg (the gradient_penalty op's dg, held fixed):
 *     dP/dtheta = (dg/dtheta)^T v = d/dtheta [ v . g(x; theta) ].
 * And v . g = v . grad_x y = the directional derivative of y along v, which is the tangent
 * output y_t of a forward-mode pass with x_t = v (biases have no tangent):
 *     a_t = W1 v,  h_t = f'(a) * a_t,  y_t = w2 . h_t   ( = v . g )
 * So dP/dtheta is the reverse-mode gradient of sum_r y_t through the pair (primal, tangent)
 * with adjoints dy_t = 1 and dy = 0:
 *     D_gan:    dw2 += dy_t h_t^T (+ dy h^T = 0);  db2 += dy = 0;  dh_t = w2 dy_t;  dh = 0
 *     f:        da_t = f'(a) dh_t;  da = f'(a) dh + f''(a) a_t dh_t = f''(a) a_t dh_t
 *               (activation_jvp_backward)
 *     D_shared: dW1 += da_t v^T + da x^T;  db1 += da   (a_t has no bias term)
 * For the piecewise-linear critics (ReLU here, leaky ReLU) f'' = 0 almost everywhere, so da is
 * exactly 0 and its two products are skipped (one [B, h] x [B, x_dim] GEMM less per critic
 * step); PyTorch's double backward gives exactly 0 to b1 and b2 as well. A smooth f runs the
 * whole formula (the suite checks both). The D_aux head never enters: its gradients stay as
 * they were.
 */
#include "zsl_gan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const gb_activation act_leaky = {.kind = GB_ACT_LEAKY_RELU, .slope = 0.01f};
static const gb_activation act_tanh = {.kind = GB_ACT_TANH};

gb_zsl_gan_config gb_zsl_gan_config_text(size_t text_dim, size_t x_dim, size_t n_seen, int cizsl) {
    return (gb_zsl_gan_config){.cond = GB_ZSL_COND_TEXT, .cond_dim = text_dim, .rdc_dim = 1000,
                               .z_dim = 100, .h_dim = cizsl ? 4086 : 4096, .x_dim = x_dim,
                               .n_seen = n_seen, .d_act = {.kind = GB_ACT_RELU}};
}

gb_zsl_gan_config gb_zsl_gan_config_attribute(size_t att_dim, size_t z_dim, size_t x_dim,
                                              size_t n_seen) {
    return (gb_zsl_gan_config){.cond = GB_ZSL_COND_ATTRIBUTE, .cond_dim = att_dim, .rdc_dim = 0,
                               .z_dim = z_dim, .h_dim = 4096, .x_dim = x_dim, .n_seen = n_seen,
                               .d_act = {.kind = GB_ACT_RELU}};
}

static int is_text(const gb_zsl_gan_config *c) { return c->cond == GB_ZSL_COND_TEXT; }
/* Width of main.0's input: [z, rdc] or [z, att]. */
static size_t cat_dim(const gb_zsl_gan_config *c) {
    return c->z_dim + (is_text(c) ? c->rdc_dim : c->cond_dim);
}

/* ---- parameter tables ---------------------------------------------------------------------- */

/* One Linear's two rows of the table: xavier_normal weight [out, in], zero bias. */
static size_t add_linear(gb_param_spec *s, size_t n, const char *prefix, size_t in, size_t out) {
    s[n] = (gb_param_spec){.ndim = 2, .shape = {(int64_t)out, (int64_t)in}, .init = GB_INIT_NORMAL,
                           .init_scale = (float)sqrt(2.0 / (double)(in + out))};
    s[n + 1] = (gb_param_spec){.ndim = 1, .shape = {(int64_t)out}, .init = GB_INIT_ZEROS};
    snprintf(s[n].name, sizeof s[n].name, "%s.weight", prefix);
    snprintf(s[n + 1].name, sizeof s[n + 1].name, "%s.bias", prefix);
    return n + 2;
}

enum { G_MAX_SPECS = 6, D_SPECS = 6 };
/* Indices into the tables (the text generator's rdc_text comes first, as in its state dict). */
enum { D_SHARED_W, D_SHARED_B, D_GAN_W, D_GAN_B, D_AUX_W, D_AUX_B };

static size_t netg_specs(const gb_zsl_gan_config *c, gb_param_spec *s) {
    size_t n = 0;
    if (is_text(c)) n = add_linear(s, n, "rdc_text", c->cond_dim, c->rdc_dim);
    n = add_linear(s, n, "main.0", cat_dim(c), c->h_dim);
    return add_linear(s, n, "main.2", c->h_dim, c->x_dim);
}

static size_t netd_specs(const gb_zsl_gan_config *c, gb_param_spec *s) {
    size_t n = add_linear(s, 0, "D_shared.0", c->x_dim, c->h_dim);
    n = add_linear(s, n, "D_gan", c->h_dim, 1);
    return add_linear(s, n, "D_aux", c->h_dim, c->n_seen);
}

static size_t table_numel(const gb_param_spec *s, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += gb_param_numel(&s[i]);
    return total;
}

size_t gb_zsl_netg_param_count(const gb_zsl_gan_config *cfg) {
    gb_param_spec s[G_MAX_SPECS];
    return table_numel(s, netg_specs(cfg, s));
}

size_t gb_zsl_netd_param_count(const gb_zsl_gan_config *cfg) {
    gb_param_spec s[D_SPECS];
    return table_numel(s, netd_specs(cfg, s));
}

size_t gb_zsl_gan_linear_shapes(const gb_zsl_gan_config *c, int batch, gb_linear_shape *out,
                                const char **names, size_t cap) {
    size_t b = (size_t)batch;
    const struct {
        const char *name;
        gb_linear_shape s;
        int on;
    } ops[] = {
        {"netG.rdc_text", {b, c->cond_dim, c->rdc_dim}, is_text(c)},
        {"netG.main.0", {b, cat_dim(c), c->h_dim}, 1},
        {"netG.main.2", {b, c->h_dim, c->x_dim}, 1},
        {"netD.D_shared.0", {b, c->x_dim, c->h_dim}, 1},
        {"netD.D_gan", {b, c->h_dim, 1}, 1},
        {"netD.D_aux", {b, c->h_dim, c->n_seen}, 1},
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (!ops[i].on) continue;
        if (n < cap) {
            if (out) out[n] = ops[i].s;
            if (names) names[n] = ops[i].name;
        }
        n++;
    }
    return n;
}

/* ---- arenas ---------------------------------------------------------------------------------- */

static void *arena_alloc(void *dev, size_t bytes) { return gb_dev_alloc(dev, bytes); }
static void arena_free(void *dev, void *p) { gb_dev_free(dev, p); }

/* The one layout per network, run twice: measuring, then carving (core/arena.h). */
static void netg_layout(gb_zsl_netg *g) {
    gb_arena *a = &g->arena;
    const gb_zsl_gan_config *c = &g->cfg;
    size_t b = g->max_batch, text = is_text(c);
    g->rdc = text ? gb_arena_floats(a, b * c->rdc_dim) : NULL;
    g->cat = gb_arena_floats(a, b * cat_dim(c));
    g->pre1 = gb_arena_floats(a, b * c->h_dim);
    g->act1 = gb_arena_floats(a, b * c->h_dim);
    g->pre2 = gb_arena_floats(a, b * c->x_dim);
    g->out = gb_arena_floats(a, b * c->x_dim);
    g->dpre2 = gb_arena_floats(a, b * c->x_dim);
    g->dact1 = gb_arena_floats(a, b * c->h_dim);
    g->dpre1 = gb_arena_floats(a, b * c->h_dim);
    g->dcat = text ? gb_arena_floats(a, b * cat_dim(c)) : NULL;
    g->drdc = text ? gb_arena_floats(a, b * c->rdc_dim) : NULL;
}

static void netd_layout(gb_zsl_netd *d) {
    gb_arena *a = &d->arena;
    const gb_zsl_gan_config *c = &d->cfg;
    size_t b = d->max_batch;
    float **hidden[] = {&d->pre, &d->hid, &d->dhid, &d->dhid_aux, &d->dpre,
                        &d->pre_t, &d->hid_t, &d->dpre_t};
    for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
        *hidden[i] = gb_arena_floats(a, b * c->h_dim);
    d->gan = gb_arena_floats(a, b);
    d->aux = gb_arena_floats(a, b * c->n_seen);
    d->ones = gb_arena_floats(a, b);
    d->g = gb_arena_floats(a, b * c->x_dim);
    d->v = gb_arena_floats(a, b * c->x_dim);
}

static void check_config(const gb_zsl_gan_config *c) {
    GB_ASSERT(c->cond == GB_ZSL_COND_TEXT || c->cond == GB_ZSL_COND_ATTRIBUTE,
              "zsl_gan: unknown condition kind %d", (int)c->cond);
    GB_ASSERT(c->cond_dim && c->z_dim && c->h_dim && c->x_dim && c->n_seen &&
                  (!is_text(c) || c->rdc_dim),
              "zsl_gan: every size must be positive (cond %zu rdc %zu z %zu h %zu x %zu n_seen %zu)",
              c->cond_dim, c->rdc_dim, c->z_dim, c->h_dim, c->x_dim, c->n_seen);
}

void gb_zsl_netg_create(gb_zsl_netg *g, gb_device *dev, const gb_zsl_gan_config *cfg,
                        size_t max_batch) {
    check_config(cfg);
    *g = (gb_zsl_netg){.cfg = *cfg, .max_batch = max_batch};
    gb_param_spec s[G_MAX_SPECS];
    gb_params_create(&g->params, dev, s, netg_specs(cfg, s));
    g->arena = gb_arena_measure();
    netg_layout(g);
    gb_arena_allocate(&g->arena, dev, arena_alloc, arena_free);
    netg_layout(g);
}

void gb_zsl_netd_create(gb_zsl_netd *d, gb_device *dev, const gb_zsl_gan_config *cfg,
                        size_t max_batch) {
    check_config(cfg);
    *d = (gb_zsl_netd){.cfg = *cfg, .max_batch = max_batch};
    gb_param_spec s[D_SPECS];
    gb_params_create(&d->params, dev, s, netd_specs(cfg, s));
    d->arena = gb_arena_measure();
    netd_layout(d);
    gb_arena_allocate(&d->arena, dev, arena_alloc, arena_free);
    netd_layout(d);
    gb_fill(dev, d->ones, 1.0f, max_batch);
}

void gb_zsl_netg_destroy(gb_zsl_netg *g, gb_device *dev) {
    gb_params_destroy(&g->params, dev);
    gb_arena_release(&g->arena);
}

void gb_zsl_netd_destroy(gb_zsl_netd *d, gb_device *dev) {
    gb_params_destroy(&d->params, dev);
    gb_arena_release(&d->arena);
}

/* ---- generator ------------------------------------------------------------------------------- */

float *gb_zsl_netg_forward(gb_zsl_netg *g, gb_device *dev, size_t batch, const float *z,
                           const float *cond) {
    const gb_zsl_gan_config *c = &g->cfg;
    GB_ASSERT(batch <= g->max_batch, "zsl netG: batch %zu > max %zu", batch, g->max_batch);
    const gb_param_block *p = &g->params;
    size_t li = 0; /* index of main.0.weight */
    g->cond = cond;
    if (is_text(c)) {
        gb_linear_shape s = {batch, c->cond_dim, c->rdc_dim};
        gb_linear_forward(dev, g->rdc, cond, gb_param(p, 0), gb_param(p, 1), &s);
        gb_concat_channels_forward(dev, g->cat, z, g->rdc, (int)batch, (int)c->z_dim,
                                   (int)c->rdc_dim, 1);
        li = 2;
    } else {
        gb_concat_channels_forward(dev, g->cat, z, cond, (int)batch, (int)c->z_dim,
                                   (int)c->cond_dim, 1);
    }
    gb_linear_shape s0 = {batch, cat_dim(c), c->h_dim}, s2 = {batch, c->h_dim, c->x_dim};
    gb_linear_forward(dev, g->pre1, g->cat, gb_param(p, li), gb_param(p, li + 1), &s0);
    gb_activation_forward(dev, g->act1, g->pre1, batch * c->h_dim, &act_leaky);
    gb_linear_forward(dev, g->pre2, g->act1, gb_param(p, li + 2), gb_param(p, li + 3), &s2);
    gb_activation_forward(dev, g->out, g->pre2, batch * c->x_dim, &act_tanh);
    return g->out;
}

void gb_zsl_netg_backward(gb_zsl_netg *g, gb_device *dev, size_t batch, const float *dout) {
    const gb_zsl_gan_config *c = &g->cfg;
    const gb_param_block *p = &g->params;
    size_t li = is_text(c) ? 2 : 0;
    gb_linear_shape s0 = {batch, cat_dim(c), c->h_dim}, s2 = {batch, c->h_dim, c->x_dim};
    gb_activation_backward(dev, g->dpre2, dout, g->pre2, batch * c->x_dim, &act_tanh);
    gb_linear_backward(dev, g->dact1, gb_grad(p, li + 2), gb_grad(p, li + 3), g->dpre2, g->act1,
                       gb_param(p, li + 2), &s2);
    gb_activation_backward(dev, g->dpre1, g->dact1, g->pre1, batch * c->h_dim, &act_leaky);
    /* z and attributes are data: main.0's input gradient is needed only for rdc_text. */
    gb_linear_backward(dev, is_text(c) ? g->dcat : NULL, gb_grad(p, li), gb_grad(p, li + 1),
                       g->dpre1, g->cat, gb_param(p, li), &s0);
    if (!is_text(c)) return;
    gb_concat_channels_backward(dev, NULL, g->drdc, g->dcat, (int)batch, (int)c->z_dim,
                                (int)c->rdc_dim, 1);
    gb_linear_shape sr = {batch, c->cond_dim, c->rdc_dim};
    gb_linear_backward(dev, NULL, gb_grad(p, 0), gb_grad(p, 1), g->drdc, g->cond, gb_param(p, 0),
                       &sr);
}

/* ---- critic ---------------------------------------------------------------------------------- */

void gb_zsl_netd_forward(gb_zsl_netd *d, gb_device *dev, size_t batch, const float *x) {
    const gb_zsl_gan_config *c = &d->cfg;
    GB_ASSERT(batch <= d->max_batch, "zsl netD: batch %zu > max %zu", batch, d->max_batch);
    const gb_param_block *p = &d->params;
    d->x = x;
    gb_linear_shape s0 = {batch, c->x_dim, c->h_dim}, sg = {batch, c->h_dim, 1},
                    sa = {batch, c->h_dim, c->n_seen};
    gb_linear_forward(dev, d->pre, x, gb_param(p, D_SHARED_W), gb_param(p, D_SHARED_B), &s0);
    gb_activation_forward(dev, d->hid, d->pre, batch * c->h_dim, &c->d_act);
    gb_linear_forward(dev, d->gan, d->hid, gb_param(p, D_GAN_W), gb_param(p, D_GAN_B), &sg);
    gb_linear_forward(dev, d->aux, d->hid, gb_param(p, D_AUX_W), gb_param(p, D_AUX_B), &sa);
}

void gb_zsl_netd_backward(gb_zsl_netd *d, gb_device *dev, size_t batch, const float *dgan,
                          const float *daux, float *dx) {
    const gb_zsl_gan_config *c = &d->cfg;
    const gb_param_block *p = &d->params;
    if (!dgan && !daux) return;
    gb_linear_shape s0 = {batch, c->x_dim, c->h_dim}, sg = {batch, c->h_dim, 1},
                    sa = {batch, c->h_dim, c->n_seen};
    size_t nh = batch * c->h_dim;
    /* hid fans out to both heads: the second head's input gradient is added to the first's. */
    float *dhid = NULL;
    if (dgan) {
        gb_linear_backward(dev, d->dhid, gb_grad(p, D_GAN_W), gb_grad(p, D_GAN_B), dgan, d->hid,
                           gb_param(p, D_GAN_W), &sg);
        dhid = d->dhid;
    }
    if (daux) {
        float *into = dhid ? d->dhid_aux : d->dhid;
        gb_linear_backward(dev, into, gb_grad(p, D_AUX_W), gb_grad(p, D_AUX_B), daux, d->hid,
                           gb_param(p, D_AUX_W), &sa);
        if (dhid) gb_axpy(dev, d->dhid, 1.0f, d->dhid_aux, nh);
    }
    gb_activation_backward(dev, d->dpre, d->dhid, d->pre, nh, &c->d_act);
    gb_linear_backward(dev, dx, gb_grad(p, D_SHARED_W), gb_grad(p, D_SHARED_B), d->dpre, d->x,
                       gb_param(p, D_SHARED_W), &s0);
}

static int piecewise_linear(const gb_activation *a) {
    return a->kind == GB_ACT_RELU || a->kind == GB_ACT_LEAKY_RELU || a->kind == GB_ACT_IDENTITY;
}

void gb_zsl_netd_gradient_penalty(gb_zsl_netd *d, gb_device *dev, size_t batch,
                                  const float *x_hat, float lambda, float *loss) {
    const gb_zsl_gan_config *c = &d->cfg;
    GB_ASSERT(batch <= d->max_batch, "zsl netD: batch %zu > max %zu", batch, d->max_batch);
    const gb_param_block *p = &d->params;
    gb_linear_shape s0 = {batch, c->x_dim, c->h_dim}, sg = {batch, c->h_dim, 1};
    size_t nh = batch * c->h_dim;
    const float *w1 = gb_param(p, D_SHARED_W), *w2 = gb_param(p, D_GAN_W);

    /* (1) the primal pre-activation a (h and y are not needed: dy = 0) */
    gb_linear_forward(dev, d->pre, x_hat, w1, gb_param(p, D_SHARED_B), &s0);
    /* (2) g = grad_x y: backward from dy = 1, no parameter gradients */
    gb_linear_backward(dev, d->dhid, NULL, NULL, d->ones, NULL /* read for dweight only */, w2,
                       &sg);
    gb_activation_backward(dev, d->dpre, d->dhid, d->pre, nh, &c->d_act);
    gb_linear_backward(dev, d->g, NULL, NULL, d->dpre, x_hat, w1, &s0);
    /* (3) the loss and v = dP/dg */
    gb_gradient_penalty(dev, loss, d->v, d->g, batch, c->x_dim, lambda);
    /* (4) tangents along x_t = v: a_t = W1 v (no bias), h_t = f'(a) a_t */
    gb_linear_forward(dev, d->pre_t, d->v, w1, NULL, &s0);
    gb_activation_jvp(dev, d->hid_t, d->pre, d->pre_t, nh, &c->d_act);
    /* (5) reverse through (primal, tangent) with dy_t = 1, dy = 0. dh_t = w2 dy_t is the dhid
     * of step (2), which had the same all-ones adjoint. */
    gb_linear_backward(dev, NULL, gb_grad(p, D_GAN_W), NULL, d->ones, d->hid_t, w2, &sg);
    gb_activation_jvp_backward(dev, d->dpre, d->dpre_t, NULL, d->dhid, d->pre, d->pre_t, nh,
                               &c->d_act);
    gb_linear_backward(dev, NULL, gb_grad(p, D_SHARED_W), NULL, d->dpre_t, d->v, w1, &s0);
    if (!piecewise_linear(&c->d_act)) /* else dpre is exactly 0 (see the top of this file) */
        gb_linear_backward(dev, NULL, gb_grad(p, D_SHARED_W), gb_grad(p, D_SHARED_B), d->dpre,
                           x_hat, w1, &s0);
}
