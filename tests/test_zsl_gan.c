/* tests/test_zsl_gan.c - the GAZSL / CIZSL networks (models/zsl_gan.c) and the exact WGAN-GP
 * parameter gradient of their MLP critic.
 *
 * References:
 *   - PyTorch (tests/peers/zsl_gan_ref.py): the same weights and inputs, uploaded into our
 *     parameter blocks; forward outputs, every parameter gradient of the critic step and of the
 *     generator step of specs/pipelines.md 1.3, and the penalty's parameter gradient from
 *     torch.autograd.grad(gp, netD.parameters()) with gp built with create_graph=True exactly as
 *     GAZSL's calc_gradient_penalty (ReLU critic of the spec, and a tanh critic whose second-order
 *     term is not 0);
 *   - a float64 transcription of the penalty as a function of the critic's parameters,
 *     differentiated by central finite differences (independent of PyTorch);
 *   - the spec's parameter counts (1.2) and xavier_normal statistics;
 *   - the gradient contract (parameter gradients accumulate over calls).
 * Tolerances, with their reasons: tests/tolerances.md, "WGAN-GP penalty gradient", subsection
 * "MLP critic of GAZSL/CIZSL".
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../models/zsl_gan.h"
#include "fixture.h"
#include "gradcheck.h"

/* The peer's sizes. */
enum { B = 7, X = 64, H = 96, TEXT = 50, RDC = 40, Z = 12, NSEEN = 5, ATT = 20, ZATT = 10 };

/* float32 network vs PyTorch float32, both with K <= 96 term sums in different orders (see
 * tolerances.md): forward values and parameter gradients, relative to the tensor's largest
 * element (atol) and to the element (rtol). */
#define FWD_TOL 2e-6
#define GRAD_TOL 5e-6
#define GP_TOL 2e-5

static gb_device dev;
static void open_cpu(void) { cr_assert_eq(gb_device_open(&dev, "cpu", 1), GB_OK, "%s", gb_last_error()); }
static void close_cpu(void) { gb_device_close(&dev); }

static gb_zsl_gan_config text_config(void) {
    return (gb_zsl_gan_config){.cond = GB_ZSL_COND_TEXT, .cond_dim = TEXT, .rdc_dim = RDC, .z_dim = Z,
                               .h_dim = H, .x_dim = X, .n_seen = NSEEN, .d_act = {.kind = GB_ACT_RELU}};
}

static gb_zsl_gan_config att_config(void) {
    return (gb_zsl_gan_config){.cond = GB_ZSL_COND_ATTRIBUTE, .cond_dim = ATT, .z_dim = ZATT, .h_dim = H,
                               .x_dim = X, .n_seen = NSEEN, .d_act = {.kind = GB_ACT_RELU}};
}

/* A fixture in backend memory (the CPU backend's memory is the host's, but the suite goes
 * through the table so it reads as model code would). */
static float *dev_fixture(const char *name, size_t n) {
    char rel[128];
    snprintf(rel, sizeof rel, "zsl_gan/%s.f32", name);
    float *host = fixture_f32(rel, n);
    float *d = gb_dev_alloc(&dev, n * sizeof(float));
    gb_upload(&dev, d, host, n * sizeof(float));
    free(host);
    return d;
}

static float *host_fixture(const char *name, size_t n) {
    char rel[128];
    snprintf(rel, sizeof rel, "zsl_gan/%s.f32", name);
    return fixture_f32(rel, n);
}

static void load_params(gb_param_block *pb, const char *name) {
    float *w = dev_fixture(name, pb->total);
    gb_dev_copy(&dev, pb->params, w, pb->total * sizeof(float));
    gb_dev_free(&dev, w);
}

static int32_t *dev_labels(void) {
    float *f = host_fixture("labels", B);
    int32_t lab[B];
    for (int i = 0; i < B; i++) lab[i] = (int32_t)f[i];
    free(f);
    int32_t *d = gb_dev_alloc(&dev, sizeof lab);
    gb_upload(&dev, d, lab, sizeof lab);
    return d;
}

static float *download(const float *src, size_t n) {
    float *h = gc_falloc(n);
    gb_download(&dev, h, src, n * sizeof(float));
    return h;
}

static double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i]));
    return m;
}

/* Compare one array against a reference with atol = tol * max|ref|, rtol = tol. */
static void expect_scaled(const char *label, const float *got, const float *ref, size_t n, double tol) {
    double scale = max_abs(ref, n);
    expect_close(label, got, ref, n, tol * (scale > 0 ? scale : 1), tol);
}

/* Every parameter gradient of a block against a flat reference in state-dict order, tensor by
 * tensor (so a failure names the tensor). A tensor whose reference is all zeros: with
 * exact_zeros (the penalty, where the zeros are structural: no path from the parameter, or
 * f'' = 0) it must be exactly zero here too; otherwise (a cancelling sum, e.g. D_gan.bias in the
 * critic step gets -1 + 1) it is held to tol times the block's largest reference gradient. */
static void expect_grads(const char *what, const gb_param_block *pb, const float *ref, double tol,
                         int exact_zeros) {
    float *got = download(pb->grads, pb->total);
    double block_scale = max_abs(ref, pb->total);
    for (size_t i = 0; i < pb->n_specs; i++) {
        size_t off = pb->offsets[i], n = gb_param_numel(&pb->specs[i]);
        char label[160];
        snprintf(label, sizeof label, "%s %s", what, pb->specs[i].name);
        if (max_abs(ref + off, n) == 0 && !exact_zeros) {
            expect_close(label, got + off, ref + off, n, tol * block_scale, 0);
        } else if (max_abs(ref + off, n) == 0) {
            for (size_t k = 0; k < n; k++)
                cr_expect(got[off + k] == 0.0f, "%s[%zu] = %g, PyTorch gives exactly 0", label, k, got[off + k]);
        } else {
            expect_scaled(label, got + off, ref + off, n, tol);
        }
    }
    free(got);
}

static float scalar(const float *dev_loss) {
    float v;
    gb_download(&dev, &v, dev_loss, sizeof v);
    return v;
}

/* ---- sizes, names, init --------------------------------------------------------------------- */

Test(zsl_gan, parameter_counts_match_the_spec) {
    /* specs/pipelines.md 1.2: CUB-easy, text 7551, X 3584, h 4086 (CIZSL), 150 seen classes */
    gb_zsl_gan_config c = gb_zsl_gan_config_text(7551, 3584, 150, 1);
    cr_expect_eq(c.h_dim, 4086);
    cr_expect_eq(gb_zsl_netg_param_count(&c), 26698494, "G: %zu", gb_zsl_netg_param_count(&c));
    cr_expect_eq(gb_zsl_netd_param_count(&c), 15265447, "D: %zu", gb_zsl_netd_param_count(&c));
    cr_expect_eq(gb_zsl_gan_config_text(7551, 3584, 150, 0).h_dim, 4096);
    /* 2.2: AWA2, att 85, z 10, X 2048, 40 seen: (95+1)*4096 + (4096+1)*2048 and
     * (2048+1)*4096 + (4096+1)*(1+40) */
    gb_zsl_gan_config a = gb_zsl_gan_config_attribute(85, 10, 2048, 40);
    cr_expect_eq(gb_zsl_netg_param_count(&a), 96 * 4096 + 4097 * 2048);
    cr_expect_eq(gb_zsl_netd_param_count(&a), 2049 * 4096 + 4097 * 41);
}

Test(zsl_gan, state_dict_names_and_linear_shapes, .init = open_cpu, .fini = close_cpu) {
    gb_zsl_gan_config c = text_config();
    gb_zsl_netg g;
    gb_zsl_netd d;
    gb_zsl_netg_create(&g, &dev, &c, B);
    gb_zsl_netd_create(&d, &dev, &c, B);
    const char *gn[] = {"rdc_text.weight", "rdc_text.bias", "main.0.weight", "main.0.bias", "main.2.weight", "main.2.bias"};
    const char *dn[] = {"D_shared.0.weight", "D_shared.0.bias", "D_gan.weight", "D_gan.bias", "D_aux.weight", "D_aux.bias"};
    cr_assert_eq(g.params.n_specs, 6);
    cr_assert_eq(d.params.n_specs, 6);
    for (int i = 0; i < 6; i++) {
        cr_expect_str_eq(g.params.specs[i].name, gn[i]);
        cr_expect_str_eq(d.params.specs[i].name, dn[i]);
    }
    cr_expect_eq(g.params.specs[2].shape[0], H);
    cr_expect_eq(g.params.specs[2].shape[1], Z + RDC);

    gb_linear_shape s[8];
    const char *names[8];
    size_t n = gb_zsl_gan_linear_shapes(&c, 33, s, names, 8);
    cr_assert_eq(n, 6);
    const char *want[] = {"netG.rdc_text", "netG.main.0", "netG.main.2", "netD.D_shared.0", "netD.D_gan", "netD.D_aux"};
    const size_t io[6][2] = {{TEXT, RDC}, {Z + RDC, H}, {H, X}, {X, H}, {H, 1}, {H, NSEEN}};
    for (int i = 0; i < 6; i++) {
        cr_expect_str_eq(names[i], want[i]);
        cr_expect(s[i].rows == 33 && s[i].in_features == io[i][0] && s[i].out_features == io[i][1],
                  "%s: %zu x %zu -> %zu", names[i], s[i].rows, s[i].in_features, s[i].out_features);
    }
    /* the weights' shapes and the listing come from one definition: they must agree */
    cr_expect(g.params.specs[4].shape[0] == (int64_t)s[2].out_features && g.params.specs[4].shape[1] == (int64_t)s[2].in_features);
    gb_zsl_gan_config a = att_config();
    cr_expect_eq(gb_zsl_gan_linear_shapes(&a, 4, s, names, 8), 5);
    cr_expect_str_eq(names[0], "netG.main.0");
    cr_expect_eq(s[0].in_features, ZATT + ATT);
    cr_expect_eq(gb_zsl_gan_linear_shapes(&c, 4, s, names, 2), 6, "the total, even past cap");
    cr_expect_eq(gb_zsl_gan_linear_shapes(&c, 4, NULL, NULL, 0), 6);
    gb_zsl_netg_destroy(&g, &dev);
    gb_zsl_netd_destroy(&d, &dev);
}

Test(zsl_gan, xavier_normal_weights_and_zero_biases, .init = open_cpu, .fini = close_cpu) {
    gb_zsl_gan_config c = {.cond = GB_ZSL_COND_TEXT, .cond_dim = 300, .rdc_dim = 200, .z_dim = 100,
                           .h_dim = 400, .x_dim = 250, .n_seen = 30, .d_act = {.kind = GB_ACT_RELU}};
    gb_zsl_netg g;
    gb_zsl_netg_create(&g, &dev, &c, 1);
    gb_params_init(&g.params, &dev, 7);
    float *p = download(g.params.params, g.params.total);
    for (size_t i = 0; i < g.params.n_specs; i++) {
        const gb_param_spec *s = &g.params.specs[i];
        const float *t = p + g.params.offsets[i];
        size_t n = gb_param_numel(s);
        if (s->ndim == 1) {
            cr_expect_eq(max_abs(t, n), 0.0, "%s must start at 0", s->name);
            continue;
        }
        double fan = (double)(s->shape[0] + s->shape[1]), want = sqrt(2.0 / fan), sq = 0;
        for (size_t k = 0; k < n; k++) sq += (double)t[k] * t[k];
        double sd = sqrt(sq / (double)n);
        /* the sample std of n >= 60000 normals is within 1/sqrt(2n) < 0.3% (1 sigma); 2% is > 6 sigma */
        cr_expect(fabs(sd / want - 1) < 0.02, "%s: std %.5g, xavier_normal %.5g", s->name, sd, want);
    }
    free(p);
    gb_zsl_netg_destroy(&g, &dev);
}

/* ---- forward and backward against PyTorch ----------------------------------------------------- */

typedef struct {
    gb_zsl_gan_config cfg;
    gb_zsl_netg g;
    gb_zsl_netd d;
    float *z, *text, *x_real, *x_hat, *alpha;
    int32_t *labels;
    float *dgan, *daux, *dx, *loss;
} rig;

static void rig_open(rig *r, gb_activation d_act) {
    open_cpu();
    r->cfg = text_config();
    r->cfg.d_act = d_act;
    gb_zsl_netg_create(&r->g, &dev, &r->cfg, B);
    gb_zsl_netd_create(&r->d, &dev, &r->cfg, B);
    load_params(&r->g.params, "g_params");
    load_params(&r->d.params, "d_params");
    r->z = dev_fixture("z", B * Z);
    r->text = dev_fixture("text", B * TEXT);
    r->x_real = dev_fixture("x_real", B * X);
    r->x_hat = dev_fixture("x_hat", B * X);
    r->labels = dev_labels();
    r->dgan = gb_dev_alloc(&dev, B * sizeof(float));
    r->daux = gb_dev_alloc(&dev, B * NSEEN * sizeof(float));
    r->dx = gb_dev_alloc(&dev, B * X * sizeof(float));
    r->loss = gb_dev_alloc(&dev, sizeof(float));
}

static void rig_close(rig *r) {
    float *bufs[] = {r->z, r->text, r->x_real, r->x_hat, r->dgan, r->daux, r->dx, r->loss};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) gb_dev_free(&dev, bufs[i]);
    gb_dev_free(&dev, r->labels);
    gb_zsl_netg_destroy(&r->g, &dev);
    gb_zsl_netd_destroy(&r->d, &dev);
    close_cpu();
}

/* One critic term: sign * mean(D_gan(x)) + CE(D_aux(x), y), backpropagated (input gradient into
 * dx when not NULL). Returns the loss. */
static float critic_term(rig *r, const float *x, float sign, float ce_weight, float *dx) {
    gb_zsl_netd_forward(&r->d, &dev, B, x);
    gb_fill(&dev, r->dgan, sign / (float)B, B);
    gb_cross_entropy(&dev, r->loss, r->daux, r->d.aux, r->labels, B, NSEEN, ce_weight);
    float ce = scalar(r->loss);
    gb_sum_forward(&dev, r->loss, r->d.gan, B, 1.0f / (float)B);
    float mean = scalar(r->loss);
    gb_zsl_netd_backward(&r->d, &dev, B, sign != 0 ? r->dgan : NULL, r->daux, dx);
    return sign * mean + ce;
}

Test(zsl_gan, forward_matches_pytorch) {
    rig r;
    rig_open(&r, (gb_activation){.kind = GB_ACT_RELU});
    float *out = download(gb_zsl_netg_forward(&r.g, &dev, B, r.z, r.text), B * X);
    float *ref = host_fixture("g_out", B * X);
    expect_scaled("netG(z, text)", out, ref, B * X, FWD_TOL);
    free(out), free(ref);
    gb_zsl_netd_forward(&r.d, &dev, B, r.x_real);
    float *gan = download(r.d.gan, B), *aux = download(r.d.aux, B * NSEEN);
    float *rg = host_fixture("d_gan", B), *ra = host_fixture("d_aux", B * NSEEN);
    expect_scaled("D_gan(x)", gan, rg, B, FWD_TOL);
    expect_scaled("D_aux(x)", aux, ra, B * NSEEN, FWD_TOL);
    free(gan), free(aux), free(rg), free(ra);
    rig_close(&r);
}

Test(zsl_gan, critic_step_gradients_match_pytorch) {
    rig r;
    rig_open(&r, (gb_activation){.kind = GB_ACT_RELU});
    gb_params_zero_grad(&r.d.params, &dev);
    float l_real = critic_term(&r, r.x_real, -1.0f, 1.0f, NULL);
    const float *fake = gb_zsl_netg_forward(&r.g, &dev, B, r.z, r.text); /* detached: no G backward */
    float l_fake = critic_term(&r, fake, 1.0f, 1.0f, NULL);
    float *ref_l = host_fixture("d_step_losses", 2), *ref = host_fixture("d_step_grads", r.d.params.total);
    cr_expect(fabs(l_real - ref_l[0]) <= FWD_TOL * fabs(ref_l[0]), "real term %.9g, PyTorch %.9g", l_real, ref_l[0]);
    cr_expect(fabs(l_fake - ref_l[1]) <= FWD_TOL * fabs(ref_l[1]), "fake term %.9g, PyTorch %.9g", l_fake, ref_l[1]);
    expect_grads("critic step", &r.d.params, ref, GRAD_TOL, 0);
    free(ref_l), free(ref);
    rig_close(&r);
}

Test(zsl_gan, generator_step_gradients_match_pytorch) {
    rig r;
    rig_open(&r, (gb_activation){.kind = GB_ACT_RELU});
    gb_params_zero_grad(&r.g.params, &dev);
    gb_params_zero_grad(&r.d.params, &dev);
    /* -mean(D(G)) + CE(aux(G), y) / 2 through D into G, then CE(aux(x), y) / 2 (D only) */
    const float *fake = gb_zsl_netg_forward(&r.g, &dev, B, r.z, r.text);
    float l = critic_term(&r, fake, -1.0f, 0.5f, r.dx);
    gb_zsl_netg_backward(&r.g, &dev, B, r.dx);
    l += critic_term(&r, r.x_real, 0.0f, 0.5f, NULL);
    float *ref_l = host_fixture("g_step_loss", 1);
    cr_expect(fabs(l - ref_l[0]) <= FWD_TOL * fabs(ref_l[0]), "G loss %.9g, PyTorch %.9g", l, ref_l[0]);
    float *rg = host_fixture("g_step_g_grads", r.g.params.total);
    float *rd = host_fixture("g_step_d_grads", r.d.params.total);
    expect_grads("G step, netG", &r.g.params, rg, GRAD_TOL, 0);
    expect_grads("G step, netD", &r.d.params, rd, GRAD_TOL, 0);
    free(ref_l), free(rg), free(rd);
    rig_close(&r);
}

Test(zsl_gan, attribute_generator_matches_pytorch, .init = open_cpu, .fini = close_cpu) {
    gb_zsl_gan_config c = att_config();
    gb_zsl_netg g;
    gb_zsl_netg_create(&g, &dev, &c, B);
    load_params(&g.params, "ga_params");
    float *z = dev_fixture("z_att", B * ZATT), *att = dev_fixture("att", B * ATT);
    float *dout = dev_fixture("dout_att", B * X);
    float *out = download(gb_zsl_netg_forward(&g, &dev, B, z, att), B * X);
    float *ref = host_fixture("ga_out", B * X), *rg = host_fixture("ga_grads", g.params.total);
    expect_scaled("netG_att(z, att)", out, ref, B * X, FWD_TOL);
    gb_zsl_netg_backward(&g, &dev, B, dout);
    expect_grads("netG_att", &g.params, rg, GRAD_TOL, 0);
    free(out), free(ref), free(rg);
    gb_dev_free(&dev, z), gb_dev_free(&dev, att), gb_dev_free(&dev, dout);
    gb_zsl_netg_destroy(&g, &dev);
}

/* ---- THE penalty gradient against torch.autograd.grad(create_graph=True) ---------------------- */

static void penalty_vs_pytorch(gb_activation act, const char *tag) {
    rig r;
    rig_open(&r, act);
    char name[64];
    gb_params_zero_grad(&r.d.params, &dev);
    gb_zsl_netd_gradient_penalty(&r.d, &dev, B, r.x_hat, 10.0f, r.loss);
    snprintf(name, sizeof name, "gp_%s_loss", tag);
    float *ref_l = host_fixture(name, 1), gp = scalar(r.loss);
    cr_expect(fabs(gp - ref_l[0]) <= GP_TOL * fabs(ref_l[0]), "%s penalty %.9g, PyTorch %.9g", tag, gp, ref_l[0]);
    snprintf(name, sizeof name, "gp_%s_grads", tag);
    float *ref = host_fixture(name, r.d.params.total);
    expect_grads(tag, &r.d.params, ref, GP_TOL, 1);
    free(ref_l), free(ref);
    rig_close(&r);
}

Test(zsl_gan, penalty_gradient_matches_autograd_relu_critic) {
    penalty_vs_pytorch((gb_activation){.kind = GB_ACT_RELU}, "relu");
}

Test(zsl_gan, penalty_gradient_matches_autograd_tanh_critic) {
    penalty_vs_pytorch((gb_activation){.kind = GB_ACT_TANH}, "tanh");
}

/* ---- the penalty gradient against float64 central differences ----------------------------------- */

typedef struct {
    size_t b, x, h;
    int tanh_act;
    const double *xh; /* [b, x] */
} pen_ctx;

/* P(theta) for theta = [W1 (h x), b1 (h), w2 (h), b2 (1)], in float64:
 * g_r = W1^T (f'(W1 x_r + b1) * w2), P = 10 mean_r (||g_r|| - 1)^2. */
static void penalty64(void *vctx, const double *theta, double *out) {
    const pen_ctx *c = vctx;
    const double *w1 = theta, *b1 = theta + c->h * c->x, *w2 = b1 + c->h;
    double *d = gc_dalloc(c->h), total = 0;
    for (size_t r = 0; r < c->b; r++) {
        const double *x = c->xh + r * c->x;
        for (size_t j = 0; j < c->h; j++) {
            double a = b1[j];
            for (size_t i = 0; i < c->x; i++) a += w1[j * c->x + i] * x[i];
            double fp = c->tanh_act ? 1 - tanh(a) * tanh(a) : (a > 0 ? 1.0 : 0.0);
            d[j] = fp * w2[j];
        }
        double sq = 0;
        for (size_t i = 0; i < c->x; i++) {
            double gi = 0;
            for (size_t j = 0; j < c->h; j++) gi += w1[j * c->x + i] * d[j];
            sq += gi * gi;
        }
        total += (sqrt(sq) - 1) * (sqrt(sq) - 1);
    }
    free(d);
    *out = 10.0 * total / (double)c->b;
}

static void penalty_vs_fd(gb_activation act) {
    enum { PB = 6, PX = 20, PH = 32, PN = 3 };
    gc_seed_rng(act.kind == GB_ACT_TANH ? 77 : 78);
    gb_zsl_gan_config c = {.cond = GB_ZSL_COND_ATTRIBUTE, .cond_dim = 1, .z_dim = 1, .h_dim = PH, .x_dim = PX,
                           .n_seen = PN, .d_act = act};
    gb_zsl_netd d;
    gb_zsl_netd_create(&d, &dev, &c, PB);
    /* weights of a scale that puts ||g|| around 1, on both sides of it across samples */
    float *theta = gc_rand(d.params.total, -0.6f, 0.6f), *xh = gc_rand(PB * PX, -1.0f, 1.0f);
    float *grad0 = gc_rand(d.params.total, -1.0f, 1.0f); /* the penalty must ADD to these */
    float *x_dev = gb_dev_alloc(&dev, sizeof(float) * PB * PX), *loss = gb_dev_alloc(&dev, sizeof(float));
    gb_upload(&dev, d.params.params, theta, d.params.total * sizeof(float));
    gb_upload(&dev, d.params.grads, grad0, d.params.total * sizeof(float));
    gb_upload(&dev, x_dev, xh, sizeof(float) * PB * PX);
    gb_zsl_netd_gradient_penalty(&d, &dev, PB, x_dev, 10.0f, loss);
    float *got = download(d.params.grads, d.params.total);
    for (size_t i = 0; i < d.params.total; i++) got[i] -= grad0[i];

    /* the parameters the penalty depends on: D_shared and D_gan, contiguous at the front */
    size_t np = PH * PX + PH + PH + 1;
    pen_ctx ctx = {PB, PX, PH, act.kind == GB_ACT_TANH, gc_to_double(xh, PB * PX)};
    double *t64 = gc_to_double(theta, np), *ref = gc_dalloc(np), one = 1, p64;
    penalty64(&ctx, t64, &p64);
    float gp = scalar(loss);
    cr_expect(fabs(gp - p64) <= GP_TOL * p64, "penalty %.9g, float64 %.12g (seed %llu)", gp, p64,
              (unsigned long long)gc_seed);
    cr_expect(p64 > 0.5, "test data should put ||g|| away from 1 (P = %g)", p64);
    gc_fd_vjp(penalty64, &ctx, t64, np, 1, &one, 1e-6, ref);
    double scale = 0;
    for (size_t i = 0; i < np; i++) scale = fmax(scale, fabs(ref[i]));
    gc_expect_close("dP/d(D_shared, D_gan)", got, ref, np, GP_TOL * scale, GP_TOL);
    /* D_aux never enters the penalty: its gradients are left exactly as they were */
    for (size_t i = np; i < d.params.total; i++)
        cr_expect(got[i] == 0.0f, "D_aux gradient %zu changed by %g", i - np, got[i]);
    free(theta), free(xh), free(grad0), free(got), free(t64), free(ref), free((void *)ctx.xh);
    gb_dev_free(&dev, x_dev), gb_dev_free(&dev, loss);
    gb_zsl_netd_destroy(&d, &dev);
}

Test(zsl_gan, penalty_gradient_matches_float64_fd_relu, .init = open_cpu, .fini = close_cpu) {
    penalty_vs_fd((gb_activation){.kind = GB_ACT_RELU});
}

Test(zsl_gan, penalty_gradient_matches_float64_fd_tanh, .init = open_cpu, .fini = close_cpu) {
    penalty_vs_fd((gb_activation){.kind = GB_ACT_TANH});
}

/* ---- the gradient contract ---------------------------------------------------------------------- */

Test(zsl_gan, parameter_gradients_accumulate_over_calls) {
    rig r;
    rig_open(&r, (gb_activation){.kind = GB_ACT_RELU});
    size_t nd = r.d.params.total, ng = r.g.params.total;
    /* once */
    gb_params_zero_grad(&r.d.params, &dev);
    gb_params_zero_grad(&r.g.params, &dev);
    const float *fake = gb_zsl_netg_forward(&r.g, &dev, B, r.z, r.text);
    critic_term(&r, fake, -1.0f, 0.5f, r.dx);
    gb_zsl_netg_backward(&r.g, &dev, B, r.dx);
    gb_zsl_netd_gradient_penalty(&r.d, &dev, B, r.x_hat, 10.0f, r.loss);
    float *d1 = download(r.d.params.grads, nd), *g1 = download(r.g.params.grads, ng);
    /* twice more on top, without zeroing: three times the single pass */
    for (int k = 0; k < 2; k++) {
        fake = gb_zsl_netg_forward(&r.g, &dev, B, r.z, r.text);
        critic_term(&r, fake, -1.0f, 0.5f, r.dx);
        gb_zsl_netg_backward(&r.g, &dev, B, r.dx);
        gb_zsl_netd_gradient_penalty(&r.d, &dev, B, r.x_hat, 10.0f, r.loss);
    }
    float *d3 = download(r.d.params.grads, nd), *g3 = download(r.g.params.grads, ng);
    for (size_t i = 0; i < nd; i++) d1[i] *= 3;
    for (size_t i = 0; i < ng; i++) g1[i] *= 3;
    /* the same float sums each time, added three times: a few roundings of the sum */
    expect_scaled("netD grads after 3 passes", d3, d1, nd, 4 * GC_U32);
    expect_scaled("netG grads after 3 passes", g3, g1, ng, 4 * GC_U32);
    free(d1), free(g1), free(d3), free(g3);
    rig_close(&r);
}
