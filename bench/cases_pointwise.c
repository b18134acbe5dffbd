/* bench/cases_pointwise.c - benchmark cases of the memory-bound ops of the GAN steps:
 * batchnorm (training mode) forward/backward, relu, leaky_relu and tanh forward/backward,
 * the 2x2 mean pool and the nearest x2 upsample forward/backward, and Adam.
 *
 * Shapes come from the model listings at batch 64 (never typed here):
 *  - the CMU ResNet GAN (gb_dcgan_conv_shapes, models/dcgan_resnet.h): every distinct conv
 *    input with more than 3 channels is an activation that went through BN and ReLU
 *    (ResBlockUp: BN -> ReLU -> conv; the critic: ReLU -> conv); the generator's last conv
 *    (3 output channels) feeds the tanh; a critic DownSampleConv ("D.*.residual/shortcut")
 *    mean-pools a [C, 2H, 2W] input down to its [C, H, W] (models/layers.c), and a generator
 *    UpSampleConv ("G.*.residual/shortcut") upsamples [C, H/2, W/2] to its input;
 *  - the MNIST GAN generator (gb_mnist_gan_conv_shapes "gnet.*", models/mnist_gan.h): its
 *    conv inputs went through LeakyReLU(0.2);
 *  - Adam on GB_DCGAN_G_PARAMS and GB_DCGAN_D_PARAMS floats (one step of each optimiser).
 * Bytes (compulsory traffic, 4 bytes a float): forward reads its input and writes its output;
 * backward reads dout and the saved input (pool and upsample: dout only) and writes dinp;
 * Adam reads p, g, m, v and writes p, m, v (28 bytes a parameter). FLOPs are not counted:
 * the report places these rows against the measured copy bandwidth.
 *
 * Checks against float64 on the benchmark shape, with the bounds of tests/tolerances.md:
 * activations 16 u S (backward 32 u S), batchnorm out 4 u S and dinp 6 u S on the first 8
 * channels (S the per-element scales of the "normalisation" section), mean pool and its
 * backward 2 u |ref|, the upsample bitwise and its backward 4 u mag, Adam 2 u |p| + 10 u
 * |update| (the elementwise update rounds about 8 times).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/philox.h"
#include "../models/dcgan_resnet.h"
#include "../models/mnist_gan.h"
#include "cases.h"

enum { PW_BATCH = 64, PW_MAX_SHAPES = 64, PW_CHECK_CHANNELS = 8, PW_CHECK_STRIDE = 97 };
static const double u32 = 5.9604644775390625e-8;

typedef enum { OP_BN, OP_ACT, OP_POOL, OP_UP, OP_ADAM } pw_op;

typedef struct {
    pw_op op;
    int backward;
    int batch, channels, height, width; /* the op's input (pool: before pooling; up: before upsampling) */
    gb_activation act;
    size_t n;                           /* elements of the input (adam: parameters) */
    float *x, *dout, *y, *dx, *gamma, *beta, *mean, *rstd, *dgamma, *dbeta; /* backend memory */
    float *p, *g, *m, *v;               /* adam */
    float *p0, *m0, *v0;                /* host copies of adam's initial state (the check restarts) */
    long step;
} pw_ctx;

static gb_norm_shape norm_shape(const pw_ctx *x) {
    return (gb_norm_shape){.batch = x->batch, .channels = x->channels, .spatial = x->height * x->width,
                           .groups = 1, .eps = 1e-5f};
}
static gb_pool_shape pool_shape(const pw_ctx *x) {
    return (gb_pool_shape){.batch = x->batch, .channels = x->channels, .in_height = x->height,
                           .in_width = x->width, .kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2,
                           .count_include_pad = 1};
}
/* Elements of the op's output (pool: a quarter; upsample: four times). */
static size_t out_numel(const pw_ctx *x) {
    return x->op == OP_POOL ? x->n / 4 : x->op == OP_UP ? 4 * x->n : x->n;
}

static gb_status pw_setup(gb_bench_case *c, gb_device *dev) {
    pw_ctx *x = c->ctx;
    if (x->op == OP_ADAM) {
        x->p = gb_bench_random_floats(dev, x->n, 2, "bench/adam/p", -0.1f, 0.1f);
        x->g = gb_bench_random_floats(dev, x->n, 2, "bench/adam/g", -1e-2f, 1e-2f);
        x->m = gb_bench_random_floats(dev, x->n, 2, "bench/adam/m", -1e-3f, 1e-3f);
        x->v = gb_bench_random_floats(dev, x->n, 2, "bench/adam/v", 0.0f, 1e-5f);
        x->p0 = gb_bench_download_floats(dev, x->p, x->n);
        x->m0 = gb_bench_download_floats(dev, x->m, x->n);
        x->v0 = gb_bench_download_floats(dev, x->v, x->n);
        return GB_OK;
    }
    x->x = gb_bench_random_floats(dev, x->n, 2, "bench/pw/x", -3.0f, 3.0f);
    x->dout = gb_bench_random_floats(dev, out_numel(x), 2, "bench/pw/dout", -1.0f, 1.0f);
    x->y = gb_dev_alloc(dev, out_numel(x) * sizeof(float));
    x->dx = gb_dev_alloc(dev, x->n * sizeof(float));
    if (x->op == OP_BN) {
        size_t ch = (size_t)x->channels;
        x->gamma = gb_bench_random_floats(dev, ch, 2, "bench/pw/gamma", 0.5f, 1.5f);
        x->beta = gb_bench_random_floats(dev, ch, 2, "bench/pw/beta", -0.5f, 0.5f);
        x->mean = gb_dev_alloc(dev, ch * sizeof(float));
        x->rstd = gb_dev_alloc(dev, ch * sizeof(float));
        x->dgamma = gb_dev_alloc(dev, ch * sizeof(float));
        x->dbeta = gb_dev_alloc(dev, ch * sizeof(float));
        gb_dev_zero(dev, x->dgamma, ch * sizeof(float));
        gb_dev_zero(dev, x->dbeta, ch * sizeof(float));
        gb_norm_shape ns = norm_shape(x);
        gb_batchnorm_forward_train(dev, x->y, x->mean, x->rstd, NULL, NULL, x->x, x->gamma, x->beta, &ns, 0.1f);
    }
    return GB_OK;
}

static void pw_teardown(gb_bench_case *c, gb_device *dev) {
    pw_ctx *x = c->ctx;
    float *bufs[] = {x->x, x->dout, x->y, x->dx, x->gamma, x->beta, x->mean, x->rstd, x->dgamma, x->dbeta,
                     x->p, x->g, x->m, x->v};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) gb_dev_free(dev, bufs[i]);
    free(x->p0);
    free(x->m0);
    free(x->v0);
    *x = (pw_ctx){.op = x->op, .backward = x->backward, .batch = x->batch, .channels = x->channels,
                  .height = x->height, .width = x->width, .act = x->act, .n = x->n};
}

static const gb_adam_hparams adam_hp = {.lr = 2e-4f, .beta1 = 0.0f, .beta2 = 0.9f, .eps = 1e-8f};

static void pw_run(gb_bench_case *c, gb_device *dev) {
    pw_ctx *x = c->ctx;
    gb_norm_shape ns = norm_shape(x);
    gb_pool_shape ps = pool_shape(x);
    size_t planes = (size_t)x->batch * (size_t)x->channels;
    switch (x->op) {
    case OP_BN:
        if (!x->backward)
            gb_batchnorm_forward_train(dev, x->y, x->mean, x->rstd, NULL, NULL, x->x, x->gamma, x->beta, &ns, 0.1f);
        else
            gb_batchnorm_backward_train(dev, x->dx, x->dgamma, x->dbeta, x->dout, x->x, x->gamma, x->mean, x->rstd,
                                        &ns);
        break;
    case OP_ACT:
        if (!x->backward) gb_activation_forward(dev, x->y, x->x, x->n, &x->act);
        else gb_activation_backward(dev, x->dx, x->dout, x->x, x->n, &x->act);
        break;
    case OP_POOL:
        if (!x->backward) gb_avgpool2d_forward(dev, x->y, x->x, &ps);
        else gb_avgpool2d_backward(dev, x->dx, x->dout, &ps);
        break;
    case OP_UP:
        if (!x->backward) gb_upsample_nearest2x_forward(dev, x->y, x->x, planes, x->height, x->width);
        else gb_upsample_nearest2x_backward(dev, x->dx, x->dout, planes, x->height, x->width);
        break;
    case OP_ADAM:
        gb_adam_update(dev, x->p, x->g, x->m, x->v, x->n, &adam_hp, ++x->step);
        break;
    }
    gb_dev_sync(dev);
}

/* f(x), f'(x) and the magnitude scales S of each (tests/tolerances.md, activations). */
static void act_ref(const gb_activation *a, double v, double *f, double *df, double *sf, double *sdf) {
    if (a->kind == GB_ACT_TANH) {
        double t = tanh(v);
        *f = t, *sf = fabs(t), *df = 1 - t * t, *sdf = 1 + t * t;
    } else {
        double slope = a->kind == GB_ACT_RELU ? 0.0 : a->slope;
        *f = v > 0 ? v : slope * v, *sf = fabs(*f), *df = v > 0 ? 1 : slope, *sdf = fabs(*df);
    }
}

static int pw_check(gb_bench_case *c, gb_device *dev, double *error) {
    pw_ctx *x = c->ctx;
    double worst = 0; /* max |got - ref| / bound: the check passes at <= 1 */
    if (x->op == OP_ADAM) {
        /* restart from the initial state and take step 1 */
        gb_upload(dev, x->p, x->p0, x->n * sizeof(float));
        gb_upload(dev, x->m, x->m0, x->n * sizeof(float));
        gb_upload(dev, x->v, x->v0, x->n * sizeof(float));
        x->step = 0;
        pw_run(c, dev);
        float *p = gb_bench_download_floats(dev, x->p, x->n), *g = gb_bench_download_floats(dev, x->g, x->n);
        gb_adam_scalars s = gb_adam_scalars_compute(&adam_hp, 1);
        for (size_t i = 0; i < x->n; i += PW_CHECK_STRIDE) {
            double m = (double)s.beta1 * x->m0[i] + (double)s.one_minus_beta1 * g[i];
            double v = (double)s.beta2 * x->v0[i] + (double)s.one_minus_beta2 * (double)g[i] * g[i];
            double update = (double)s.step_size * m / (sqrt(v) / s.bc2_sqrt + s.eps);
            double ref = x->p0[i] - update;
            double bound = 2 * u32 * fabs(x->p0[i]) + 10 * u32 * fabs(update) + 1e-30;
            double e = fabs(p[i] - ref) / bound;
            if (e > worst) worst = e;
        }
        free(p);
        free(g);
        *error = worst;
        return worst <= 1;
    }
    float *in = gb_bench_download_floats(dev, x->x, x->n), *dout = gb_bench_download_floats(dev, x->dout, out_numel(x));
    float *got = x->backward ? gb_bench_download_floats(dev, x->dx, x->n)
                             : gb_bench_download_floats(dev, x->y, out_numel(x));
    const size_t hw = (size_t)x->height * (size_t)x->width;
    if (x->op == OP_ACT) {
        for (size_t i = 0; i < x->n; i += PW_CHECK_STRIDE) {
            double f, df, sf, sdf;
            act_ref(&x->act, in[i], &f, &df, &sf, &sdf);
            double ref = x->backward ? df * dout[i] : f;
            double bound = x->backward ? 32 * u32 * sdf * fabs(dout[i]) : 16 * u32 * sf;
            double e = fabs(got[i] - ref) / (bound + 1e-44 * (1 + fabs(in[i])));
            if (e > worst) worst = e;
        }
    } else if (x->op == OP_BN) {
        float *gamma = gb_bench_download_floats(dev, x->gamma, (size_t)x->channels);
        float *beta = gb_bench_download_floats(dev, x->beta, (size_t)x->channels);
        const double cnt = (double)x->batch * (double)hw;
        for (int ch = 0; ch < x->channels && ch < PW_CHECK_CHANNELS; ch++) {
            double mean = 0, var = 0, mdy = 0, mdyx = 0, mady = 0, madyx = 0;
            for (int b = 0; b < x->batch; b++)
                for (size_t s = 0; s < hw; s++) mean += in[((size_t)b * x->channels + ch) * hw + s];
            mean /= cnt;
            for (int b = 0; b < x->batch; b++)
                for (size_t s = 0; s < hw; s++) {
                    double d = in[((size_t)b * x->channels + ch) * hw + s] - mean;
                    var += d * d;
                }
            double rstd = 1 / sqrt(var / cnt + 1e-5), gm = gamma[ch];
            for (int b = 0; b < x->batch; b++)
                for (size_t s = 0; s < hw; s++) {
                    size_t i = ((size_t)b * x->channels + ch) * hw + s;
                    double xhat = (in[i] - mean) * rstd, gdy = gm * dout[i];
                    mdy += gdy, mdyx += gdy * xhat, mady += fabs(gdy), madyx += fabs(gdy * xhat);
                }
            mdy /= cnt, mdyx /= cnt, mady /= cnt, madyx /= cnt;
            for (int b = 0; b < x->batch; b++)
                for (size_t s = 0; s < hw; s++) {
                    size_t i = ((size_t)b * x->channels + ch) * hw + s;
                    double xhat = (in[i] - mean) * rstd, ref, scale;
                    if (!x->backward) {
                        ref = xhat * gm + beta[ch];
                        scale = 4 * (fabs(xhat * gm) + fabs(beta[ch]) + fabs(mean * rstd * gm));
                    } else {
                        ref = rstd * (gm * dout[i] - mdy - xhat * mdyx);
                        scale = 6 * rstd * (fabs(gm * dout[i]) + mady + fabs(xhat) * madyx +
                                            fabs(mean) * rstd * mady * (1 + fabs(xhat)));
                    }
                    double e = fabs(got[i] - ref) / (u32 * scale + 1e-30);
                    if (e > worst) worst = e;
                }
        }
        free(gamma);
        free(beta);
    } else if (x->op == OP_POOL) { /* out [p, y, x] = mean of in [p, 2y + i, 2x + j]; dinp = dout / 4 */
        const int oh = x->height / 2, ow = x->width / 2;
        const size_t planes = (size_t)x->batch * (size_t)x->channels;
        for (size_t p = 0; p < planes; p += 7)
            for (int yo = 0; yo < oh; yo++)
                for (int xo = 0; xo < ow; xo++) {
                    size_t o = (p * oh + yo) * ow + xo;
                    double ref = 0, mag = 0;
                    for (int k = 0; k < 4; k++) {
                        size_t i = (p * x->height + 2 * yo + k / 2) * x->width + 2 * xo + k % 2;
                        if (x->backward) {
                            double e = fabs(got[i] - 0.25 * dout[o]) / (2 * u32 * fabs(0.25 * dout[o]) + 1e-30);
                            if (e > worst) worst = e;
                        } else
                            ref += 0.25 * in[i], mag += 0.25 * fabs(in[i]);
                    }
                    if (!x->backward) {
                        double e = fabs(got[o] - ref) / (2 * u32 * mag + 1e-30);
                        if (e > worst) worst = e;
                    }
                }
    } else { /* OP_UP: out [p, 2y + i, 2x + j] = in [p, y, x]; dinp sums the four */
        const size_t planes = (size_t)x->batch * (size_t)x->channels;
        const int W2 = 2 * x->width;
        for (size_t p = 0; p < planes; p += 7)
            for (int yi = 0; yi < x->height; yi++)
                for (int xi = 0; xi < x->width; xi++) {
                    size_t i = (p * x->height + yi) * x->width + xi;
                    double ref = 0, mag = 0;
                    for (int k = 0; k < 4; k++) {
                        size_t o = (p * 2 * x->height + 2 * yi + k / 2) * W2 + 2 * xi + k % 2;
                        if (!x->backward) {
                            if (got[o] != in[i]) worst = INFINITY;
                        } else
                            ref += dout[o], mag += fabs(dout[o]);
                    }
                    if (x->backward) {
                        double e = fabs(got[i] - ref) / (4 * u32 * mag + 1e-30);
                        if (e > worst) worst = e;
                    }
                }
    }
    free(in);
    free(dout);
    free(got);
    *error = worst;
    return worst <= 1;
}

/* The rows' parameters live here, not in per-row allocations: rows that --filter leaves
 * out are never set up or torn down, so nothing would free them. Registered once per run. */
static pw_ctx rows[8 * PW_MAX_SHAPES];
static size_t n_rows;

static void add_case(gb_bench_list *list, const char *kernel, const char *origin, pw_ctx proto) {
    for (int backward = 0; backward <= 1; backward++) {
        if (proto.op == OP_ADAM && backward) break;
        gb_bench_case *c = gb_bench_list_add(list);
        snprintf(c->kernel, sizeof c->kernel, "%s", kernel);
        snprintf(c->direction, sizeof c->direction, "%s", proto.op == OP_ADAM ? "step" : backward ? "bwd" : "fwd");
        snprintf(c->impl, sizeof c->impl, "ours-cpu");
        GB_ASSERT(n_rows < sizeof rows / sizeof rows[0], "more than %zu pointwise rows", sizeof rows / sizeof rows[0]);
        pw_ctx *x = &rows[n_rows++];
        *x = proto;
        x->backward = backward;
        if (x->op == OP_ADAM) {
            snprintf(c->shape, sizeof c->shape, "%zu params %s", x->n, origin);
            c->bytes = 28.0 * (double)x->n;
        } else {
            x->n = (size_t)x->batch * (size_t)x->channels * (size_t)x->height * (size_t)x->width;
            snprintf(c->shape, sizeof c->shape, "b%d %dx%dx%d %s", x->batch, x->channels, x->height, x->width,
                     origin);
            double in = (double)x->n, out = (double)out_numel(x);
            int reads_input = x->op == OP_BN || x->op == OP_ACT;
            c->bytes = 4 * (backward ? out + in + (reads_input ? in : 0) : in + out);
        }
        c->ctx = x;
        c->setup = pw_setup;
        c->run = pw_run;
        c->check = pw_check;
        c->teardown = pw_teardown;
    }
}

typedef struct {
    int c, h, w;
    const char *name;
} act_shape;

static size_t add_unique(act_shape *set, size_t n, int c, int h, int w, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (set[i].c == c && set[i].h == h && set[i].w == w) return n;
    if (n < PW_MAX_SHAPES) set[n++] = (act_shape){c, h, w, name};
    return n;
}

static int resampling_conv(const char *name, char model) {
    return name[0] == model && (strstr(name, "residual") || strstr(name, "shortcut"));
}

void gb_bench_add_pointwise_cases(gb_bench_list *list, int quick) {
    n_rows = 0;
    gb_conv_shape shapes[PW_MAX_SHAPES];
    const char *names[PW_MAX_SHAPES];
    act_shape bnrelu[PW_MAX_SHAPES], pool[PW_MAX_SHAPES], up[PW_MAX_SHAPES], out3[PW_MAX_SHAPES], leaky[PW_MAX_SHAPES];
    size_t nb = 0, np = 0, nu = 0, no = 0, nl = 0;
    size_t count = gb_dcgan_conv_shapes(PW_BATCH, shapes, names, PW_MAX_SHAPES);
    for (size_t i = 0; i < count && i < PW_MAX_SHAPES; i++) {
        const gb_conv_shape *s = &shapes[i];
        if (s->in_channels > 3) nb = add_unique(bnrelu, nb, s->in_channels, s->in_height, s->in_width, names[i]);
        if (s->out_channels == 3)
            no = add_unique(out3, no, 3, gb_conv_out_h(s), gb_conv_out_w(s), names[i]);
        if (resampling_conv(names[i], 'D'))
            np = add_unique(pool, np, s->in_channels, 2 * s->in_height, 2 * s->in_width, names[i]);
        if (resampling_conv(names[i], 'G'))
            nu = add_unique(up, nu, s->in_channels, s->in_height / 2, s->in_width / 2, names[i]);
    }
    count = gb_mnist_gan_conv_shapes(PW_BATCH, shapes, names, PW_MAX_SHAPES);
    for (size_t i = 0; i < count && i < PW_MAX_SHAPES; i++)
        if (!strncmp(names[i], "gnet.", 5))
            nl = add_unique(leaky, nl, shapes[i].in_channels, shapes[i].in_height, shapes[i].in_width, names[i]);

    const gb_activation relu = {GB_ACT_RELU, 0.0f}, lrelu = {GB_ACT_LEAKY_RELU, 0.2f}, tanh_act = {GB_ACT_TANH, 0.0f};
    for (size_t i = 0; i < nb; i++) {
        if (quick && i > 0) break; /* quick: the first (smallest) activation, BN and ReLU only */
        pw_ctx p = {.batch = PW_BATCH, .channels = bnrelu[i].c, .height = bnrelu[i].h, .width = bnrelu[i].w};
        char origin[64];
        snprintf(origin, sizeof origin, "cmu-gan %s in", bnrelu[i].name);
        p.op = OP_BN;
        add_case(list, "batchnorm", origin, p);
        p.op = OP_ACT, p.act = relu;
        add_case(list, "relu", origin, p);
    }
    if (quick) return;
    for (size_t i = 0; i < no; i++) {
        char origin[64];
        snprintf(origin, sizeof origin, "cmu-gan %s out", out3[i].name);
        add_case(list, "tanh", origin,
                 (pw_ctx){.op = OP_ACT, .act = tanh_act, .batch = PW_BATCH, .channels = 3, .height = out3[i].h,
                          .width = out3[i].w});
    }
    for (size_t i = 0; i < nl; i++) {
        char origin[64];
        snprintf(origin, sizeof origin, "mnist-gan %s in", leaky[i].name);
        add_case(list, "leaky_relu", origin,
                 (pw_ctx){.op = OP_ACT, .act = lrelu, .batch = PW_BATCH, .channels = leaky[i].c, .height = leaky[i].h,
                          .width = leaky[i].w});
    }
    for (size_t i = 0; i < np; i++) {
        char origin[64];
        snprintf(origin, sizeof origin, "cmu-gan %s pool", pool[i].name);
        add_case(list, "mean_pool2", origin,
                 (pw_ctx){.op = OP_POOL, .batch = PW_BATCH, .channels = pool[i].c, .height = pool[i].h,
                          .width = pool[i].w});
    }
    for (size_t i = 0; i < nu; i++) {
        char origin[64];
        snprintf(origin, sizeof origin, "cmu-gan %s up", up[i].name);
        add_case(list, "upsample2", origin,
                 (pw_ctx){.op = OP_UP, .batch = PW_BATCH, .channels = up[i].c, .height = up[i].h, .width = up[i].w});
    }
    add_case(list, "adam", "cmu-gan G", (pw_ctx){.op = OP_ADAM, .n = GB_DCGAN_G_PARAMS});
    add_case(list, "adam", "cmu-gan D", (pw_ctx){.op = OP_ADAM, .n = GB_DCGAN_D_PARAMS});
}
