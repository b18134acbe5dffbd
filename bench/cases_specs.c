/* bench/cases_specs.c - benchmark rows on the layer shapes of the two pipelines whose models
 * are not built yet: the CMU AE/VAE on CIFAR-10 (specs/pipelines.md 4.5) and the diffusion
 * U-Net (4.6, lucidrains' Unet(dim=64, dim_mults=(1,2,4,8), resnet_block_groups=8)).
 *
 * The layer listings below are transcribed from those spec sections (the only place the
 * shapes are typed); every row is derived from them, distinct shapes once, labelled with
 * the first layer's name and "(xN)" when N layers share the shape:
 *  - VAE, batch 64 (the course trains at 256; 64 keeps `make bench` short and matches the
 *    GAN rows), labels "vae ...": conv2d forward, backward-data and backward-weight of the
 *    four encoder convs and the decoder's last conv; conv_transpose2d forward and both
 *    backwards of the three decoder ConvT(4, s2, p1) layers. Each "ours-cpu" row next to
 *    "openblas" timing the equivalent GEMM (bench/cases_conv.h: a transposed conv is timed
 *    and checked as its adjoint conv2d's directions).
 *  - U-Net, batch 16, labels "unet ...": conv2d in the three directions on every distinct
 *    conv (the WSConv3x3 of every ResnetBlock incl. the up path's d_out+d_in -> d_out ones
 *    on the concatenated skips, res_conv 1x1, Downsample 4x4 s2 p1, the last down level's and
 *    the up path's Conv3x3 (after the nearest x2 upsample), the attentions' to_qkv / to_out
 *    1x1, the final 1x1), with "ours-gemm" next to "fftw" for the 7x7 init conv; and
 *    bandwidth rows, forward and backward, for GroupNorm(8) on every WSConv output, the
 *    channel LayerNorm (gain only) in front of every attention (the same shape follows its
 *    to_out), weight standardisation on every WSConv weight, LinearAttention (4 heads x 32,
 *    q scale 32^-0.5) at each level's resolution and the mid Attention (4 x 32, L2-normalised
 *    q and k, scale 10) at 4x4x512. The U-Net is sampling-only in the course (pretrained);
 *    its backward rows matter once it is trained here.
 * Bytes of the bandwidth rows (compulsory traffic, 4 bytes a float): norms forward read x and
 * write y, backward read dout and x and write dinp (the [channels] parameters and the
 * statistics are negligible); weight standardisation forward reads w and writes y, backward
 * reads dout and y and reads and writes the accumulated dweight; the attentions forward read
 * qkv and write out and the saved buffer, backward read dout, qkv and saved and write dqkv.
 * FLOPs are not counted on these rows, so the table places them against the copy ceiling
 * (their matrix products are small: at most ~5 FLOP a byte for the linear attention at
 * 32x32, ~2.5 for the mid attention).
 * --quick: the VAE's first ConvT forward (ours and sgemm) and the mid attention forward.
 *
 * Checks against float64 on sampled outputs, bounds of tests/tolerances.md:
 *  - convolutions: bench/cases_conv.c ("convolution": (C kh kw + 2)u S forward, (M + kh kw +
 *    2)u S backward-data, (N P + 2)u S backward-weight, the FFT bound for fftw);
 *  - GroupNorm / LayerNorm ("normalisation"): out 4 u S, dinp 6 u S with that section's
 *    per-element scales S, on 16 groups (GN) or 2 x 28 positions (LN) of the first and last
 *    sample;
 *  - weight standardisation ("convolution"): out 2u|y| + 1e-12; dweight against the
 *    analytic float64 gradient r (g - mean g - y mean(g y)) within 4u r (|g| + mean|g| +
 *    |y| mean|g y|) + 1e-12 (the FD bound without its FD term: the reference here is exact);
 *  - attentions ("pooling, layout, softmax, attention"): out within ((N+3)u + 2e) mag
 *    (softmax) or (N+D+8)u mag (linear); dqkv against the analytic float64 backward within
 *    ((N+D+12)u + 4e) mag or (2(N+D)+16)u mag (the FD bounds without their FD terms), mag the
 *    same computation on absolute values; every head of the first and last sample.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cases.h"
#include "cases_conv.h"
#include "tests/attention_ref64.h"

enum { VAE_BATCH = 64, UNET_BATCH = 16, UNET_GROUPS = 8, HEADS = 4, DIM_HEAD = 32 };
enum { MAX_LAYERS = 96, MAX_SET = 64, LN_CHECK_POSITIONS = 28 };
static const double u32 = 5.9604644775390625e-8;

/* ---------------------------------------------------------------- layer listings */

typedef enum { K_CONV, K_WS, K_QKV_LINEAR, K_QKV_SOFTMAX, K_CONVT } layer_kind;

typedef struct {
    gb_conv_shape s;
    layer_kind kind;
    char name[40];
} layer;

typedef struct {
    layer *items;
    size_t n;
} listing;

static gb_conv_shape conv(int batch, int cin, int res, int cout, int k, int stride, int pad) {
    return (gb_conv_shape){.batch = batch, .in_channels = cin, .in_height = res, .in_width = res,
                           .out_channels = cout, .kernel_h = k, .kernel_w = k, .stride_h = stride,
                           .stride_w = stride, .pad_h = pad, .pad_w = pad};
}

static void add_layer(listing *l, gb_conv_shape s, layer_kind kind, const char *name) {
    GB_ASSERT(l->n < MAX_LAYERS, "more than %d layers in a spec listing", MAX_LAYERS);
    layer *y = &l->items[l->n++];
    y->s = s;
    y->kind = kind;
    snprintf(y->name, sizeof y->name, "%s", name);
}

/* 4.5: encoder Conv 3->32 s1, 32->64 s2, 64->128 s2, 128->256 s2 (3x3 p1) from 32x32;
 * decoder from (128, 4, 4): ConvT(128->128), ConvT(128->64), ConvT(64->32) (4, s2, p1),
 * then Conv(32->3, 3, 1, 1) at 32x32. The linears are the GAZSL-style rows' business. */
static void vae_layers(listing *l) {
    static const int enc[5] = {3, 32, 64, 128, 256}, dec[4] = {128, 128, 64, 32};
    char name[40];
    for (int i = 0, res = 32; i < 4; i++) {
        int stride = i == 0 ? 1 : 2;
        snprintf(name, sizeof name, "enc.%d", i);
        add_layer(l, conv(VAE_BATCH, enc[i], res, enc[i + 1], 3, stride, 1), K_CONV, name);
        res /= stride;
    }
    for (int i = 0, res = 4; i < 3; i++, res *= 2) {
        snprintf(name, sizeof name, "dec.convt%d", i);
        add_layer(l, conv(VAE_BATCH, dec[i], res, dec[i + 1], 4, 2, 1), K_CONVT, name);
    }
    add_layer(l, conv(VAE_BATCH, 32, 32, 3, 3, 1, 1), K_CONV, "dec.conv");
}

/* ResnetBlock(d, d_out) at res: block1 WSConv3x3 d->d_out, block2 WSConv3x3 d_out->d_out,
 * res_conv 1x1 when d != d_out. */
static void unet_resblock(listing *l, int d, int d_out, int res, const char *prefix) {
    char name[40];
    snprintf(name, sizeof name, "%s.ws1", prefix);
    add_layer(l, conv(UNET_BATCH, d, res, d_out, 3, 1, 1), K_WS, name);
    snprintf(name, sizeof name, "%s.ws2", prefix);
    add_layer(l, conv(UNET_BATCH, d_out, res, d_out, 3, 1, 1), K_WS, name);
    if (d != d_out) {
        snprintf(name, sizeof name, "%s.res_conv", prefix);
        add_layer(l, conv(UNET_BATCH, d, res, d_out, 1, 1, 0), K_CONV, name);
    }
}

/* Residual(PreNorm(LayerNorm, (Linear)Attention(d))): to_qkv 1x1 d -> 3*4*32 (no bias),
 * to_out 1x1 128 -> d (LinearAttention's followed by a LayerNorm of the same shape). */
static void unet_attention(listing *l, int d, int res, layer_kind kind, const char *prefix) {
    char name[40];
    snprintf(name, sizeof name, "%s.to_qkv", prefix);
    add_layer(l, conv(UNET_BATCH, d, res, 3 * HEADS * DIM_HEAD, 1, 1, 0), kind, name);
    snprintf(name, sizeof name, "%s.to_out", prefix);
    add_layer(l, conv(UNET_BATCH, HEADS * DIM_HEAD, res, d, 1, 1, 0), K_CONV, name);
}

/* 4.6: init Conv7x7 3->64 p3; down levels (64,64) (64,128) (128,256) (256,512) at 32, 16,
 * 8, 4: ResBlock(d,d) x2, LinearAttention, Downsample Conv4x4 s2 p1 d->d_out (the last level
 * Conv3x3 p1); mid ResBlock(512), Attention, ResBlock(512) at 4x4; up levels (256,512)
 * (128,256) (64,128) (64,64) at 4, 8, 16, 32: ResBlock(d_out+d_in -> d_out) x2 on the
 * concatenated skip, LinearAttention(d_out), nearest x2 + Conv3x3 d_out->d_in (the last
 * level Conv3x3 only); final ResBlock(128->64) on cat(x, r), Conv1x1 64->3. */
static void unet_layers(listing *l) {
    static const int dims[5] = {64, 64, 128, 256, 512};
    char name[40];
    add_layer(l, conv(UNET_BATCH, 3, 32, 64, 7, 1, 3), K_CONV, "init_conv");
    int res = 32;
    for (int i = 0; i < 4; i++) {
        int d = dims[i], d_out = dims[i + 1];
        for (int b = 1; b <= 2; b++) {
            snprintf(name, sizeof name, "down%d.res%d", i, b);
            unet_resblock(l, d, d, res, name);
        }
        snprintf(name, sizeof name, "down%d.attn", i);
        unet_attention(l, d, res, K_QKV_LINEAR, name);
        snprintf(name, sizeof name, "down%d.%s", i, i < 3 ? "downsample" : "conv");
        add_layer(l, i < 3 ? conv(UNET_BATCH, d, res, d_out, 4, 2, 1) : conv(UNET_BATCH, d, res, d_out, 3, 1, 1),
                  K_CONV, name);
        if (i < 3) res /= 2;
    }
    unet_resblock(l, 512, 512, res, "mid.res1");
    unet_attention(l, 512, res, K_QKV_SOFTMAX, "mid.attn");
    unet_resblock(l, 512, 512, res, "mid.res2");
    for (int i = 0; i < 4; i++) {
        int d = dims[3 - i], d_out = dims[4 - i];
        for (int b = 1; b <= 2; b++) {
            snprintf(name, sizeof name, "up%d.res%d", i, b);
            unet_resblock(l, d_out + d, d_out, res, name);
        }
        snprintf(name, sizeof name, "up%d.attn", i);
        unet_attention(l, d_out, res, K_QKV_LINEAR, name);
        if (i < 3) res *= 2;
        snprintf(name, sizeof name, "up%d.%s", i, i < 3 ? "upsample.conv" : "conv");
        add_layer(l, conv(UNET_BATCH, d_out, res, d, 3, 1, 1), K_CONV, name);
    }
    unet_resblock(l, 128, 64, res, "final.res");
    add_layer(l, conv(UNET_BATCH, 64, res, 3, 1, 1, 0), K_CONV, "final_conv");
}

/* Distinct keys (up to four ints) with the first name and the number of uses. */
typedef struct {
    int key[4];
    const layer *first;
    int uses;
} distinct;

static size_t add_distinct(distinct *set, size_t n, const int key[4], const layer *y, int uses) {
    for (size_t i = 0; i < n; i++)
        if (!memcmp(set[i].key, key, sizeof set[i].key)) {
            set[i].uses += uses;
            return n;
        }
    GB_ASSERT(n < MAX_SET, "more than %d distinct shapes in a spec listing", MAX_SET);
    set[n] = (distinct){.first = y, .uses = uses};
    memcpy(set[n].key, key, sizeof set[n].key);
    return n + 1;
}

static void uses_suffix(char *buf, size_t cap, int uses) {
    if (uses > 1) snprintf(buf, cap, " (x%d)", uses);
    else buf[0] = 0;
}

/* ---------------------------------------------------------------- norm / WS / attention rows */

typedef enum { OP_GN, OP_LN, OP_WS, OP_LINATTN, OP_ATTN } sp_op;

typedef struct {
    sp_op op;
    int backward;
    gb_norm_shape ns;       /* GN, LN */
    int ws_rows, ws_fan_in; /* WS: out_channels, fan_in */
    gb_attention_shape as;  /* attentions */
    size_t n_in, n_out, n_stat, n_saved;
    float *x, *y, *dout, *dx, *gamma, *beta, *mean, *rstd, *dgamma, *dbeta, *saved;
} sp_ctx;

static gb_status sp_setup(gb_bench_case *c, gb_device *dev) {
    sp_ctx *x = c->ctx;
    float lo = x->op == OP_WS ? -0.1f : x->op == OP_GN || x->op == OP_LN ? -3.0f : -1.0f;
    x->x = gb_bench_random_floats(dev, x->n_in, 3, "bench/specs/x", lo, -lo);
    x->dout = gb_bench_random_floats(dev, x->n_out, 3, "bench/specs/dout", -1.0f, 1.0f);
    x->y = gb_dev_alloc(dev, x->n_out * sizeof(float));
    x->dx = gb_dev_alloc(dev, x->n_in * sizeof(float));
    gb_dev_zero(dev, x->dx, x->n_in * sizeof(float));
    if (x->n_stat) {
        x->mean = gb_dev_alloc(dev, x->n_stat * sizeof(float));
        x->rstd = gb_dev_alloc(dev, x->n_stat * sizeof(float));
    }
    if (x->n_saved) x->saved = gb_dev_alloc(dev, x->n_saved * sizeof(float));
    if (x->op == OP_GN || x->op == OP_LN) {
        size_t ch = (size_t)x->ns.channels;
        x->gamma = gb_bench_random_floats(dev, ch, 3, "bench/specs/gamma", 0.5f, 1.5f);
        x->beta = gb_bench_random_floats(dev, ch, 3, "bench/specs/beta", -0.5f, 0.5f);
        x->dgamma = gb_dev_alloc(dev, ch * sizeof(float));
        x->dbeta = gb_dev_alloc(dev, ch * sizeof(float));
        gb_dev_zero(dev, x->dgamma, ch * sizeof(float));
        gb_dev_zero(dev, x->dbeta, ch * sizeof(float));
    }
    /* the backward reads what the forward saved */
    switch (x->op) {
    case OP_GN: gb_groupnorm_forward(dev, x->y, x->mean, x->rstd, x->x, x->gamma, x->beta, &x->ns); break;
    case OP_LN: gb_layernorm_channels_forward(dev, x->y, x->mean, x->rstd, x->x, x->gamma, &x->ns); break;
    case OP_WS: gb_weight_standardize_forward(dev, x->y, x->rstd, x->x, x->ws_rows, x->ws_fan_in, 1e-5f); break;
    case OP_LINATTN: gb_linear_attention_forward(dev, x->y, x->saved, x->x, &x->as); break;
    case OP_ATTN: gb_attention_forward(dev, x->y, x->saved, x->x, &x->as); break;
    }
    gb_dev_sync(dev);
    return GB_OK;
}

static void sp_teardown(gb_bench_case *c, gb_device *dev) {
    sp_ctx *x = c->ctx;
    float *bufs[] = {x->x, x->y, x->dout, x->dx, x->gamma, x->beta, x->mean, x->rstd, x->dgamma, x->dbeta, x->saved};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) gb_dev_free(dev, bufs[i]);
    x->x = x->y = x->dout = x->dx = x->gamma = x->beta = x->mean = x->rstd = x->dgamma = x->dbeta = x->saved = NULL;
}

static void sp_run(gb_bench_case *c, gb_device *dev) {
    sp_ctx *x = c->ctx;
    switch (x->op) {
    case OP_GN:
        if (!x->backward) gb_groupnorm_forward(dev, x->y, x->mean, x->rstd, x->x, x->gamma, x->beta, &x->ns);
        else gb_groupnorm_backward(dev, x->dx, x->dgamma, x->dbeta, x->dout, x->x, x->gamma, x->mean, x->rstd, &x->ns);
        break;
    case OP_LN:
        if (!x->backward) gb_layernorm_channels_forward(dev, x->y, x->mean, x->rstd, x->x, x->gamma, &x->ns);
        else gb_layernorm_channels_backward(dev, x->dx, x->dgamma, x->dout, x->x, x->gamma, x->mean, x->rstd, &x->ns);
        break;
    case OP_WS:
        if (!x->backward) gb_weight_standardize_forward(dev, x->y, x->rstd, x->x, x->ws_rows, x->ws_fan_in, 1e-5f);
        else gb_weight_standardize_backward(dev, x->dx, x->dout, x->y, x->rstd, x->ws_rows, x->ws_fan_in);
        break;
    case OP_LINATTN:
        if (!x->backward) gb_linear_attention_forward(dev, x->y, x->saved, x->x, &x->as);
        else gb_linear_attention_backward(dev, x->dx, x->dout, x->x, x->saved, &x->as);
        break;
    case OP_ATTN:
        if (!x->backward) gb_attention_forward(dev, x->y, x->saved, x->x, &x->as);
        else gb_attention_backward(dev, x->dx, x->dout, x->x, x->saved, &x->as);
        break;
    }
    gb_dev_sync(dev);
}

/* One normalisation set: count elements at base + k*stride, element k in channel
 * ch0 + k / ch_div (GN: a group's contiguous span; LN: one position's channels).
 * Returns the worst |got - ref| / bound (tests/tolerances.md "normalisation"). */
static double norm_check_set(const float *in, const float *dout, const float *got, const float *gamma,
                             const float *beta, size_t base, size_t stride, size_t count, int ch0, size_t ch_div,
                             double eps, int backward) {
    double mean = 0, var = 0, mdy = 0, mdyx = 0, mady = 0, madyx = 0, worst = 0;
    for (size_t k = 0; k < count; k++) mean += in[base + k * stride];
    mean /= (double)count;
    for (size_t k = 0; k < count; k++) {
        double d = in[base + k * stride] - mean;
        var += d * d;
    }
    double rstd = 1 / sqrt(var / (double)count + eps);
    for (size_t k = 0; k < count; k++) {
        size_t i = base + k * stride;
        double xhat = (in[i] - mean) * rstd, gdy = (double)gamma[ch0 + (int)(k / ch_div)] * dout[i];
        mdy += gdy, mdyx += gdy * xhat, mady += fabs(gdy), madyx += fabs(gdy * xhat);
    }
    mdy /= (double)count, mdyx /= (double)count, mady /= (double)count, madyx /= (double)count;
    for (size_t k = 0; k < count; k++) {
        size_t i = base + k * stride;
        int ch = ch0 + (int)(k / ch_div);
        double gm = gamma[ch], b = beta ? beta[ch] : 0, xhat = (in[i] - mean) * rstd, ref, scale;
        if (!backward) {
            ref = xhat * gm + b;
            scale = 4 * (fabs(xhat * gm) + fabs(b) + fabs(mean * rstd * gm));
        } else {
            ref = rstd * (gm * dout[i] - mdy - xhat * mdyx);
            scale = 6 * rstd * (fabs(gm * dout[i]) + mady + fabs(xhat) * madyx + fabs(mean) * rstd * mady * (1 + fabs(xhat)));
        }
        double e = fabs(got[i] - ref) / (u32 * scale + 1e-30);
        if (e > worst) worst = e;
    }
    return worst;
}

static double norm_check(const sp_ctx *x, const float *in, const float *dout, const float *got, const float *gamma,
                         const float *beta) {
    const int C = x->ns.channels, B = x->ns.batch;
    const size_t hw = (size_t)x->ns.spatial, plane = (size_t)C * hw;
    const int samples[2] = {0, B - 1};
    double worst = 0;
    for (int t = 0; t < 2; t++) {
        size_t n = (size_t)samples[t];
        if (x->op == OP_GN) {
            int cg = C / x->ns.groups;
            for (int g = 0; g < x->ns.groups; g++)
                worst = fmax(worst, norm_check_set(in, dout, got, gamma, beta, n * plane + (size_t)g * cg * hw, 1,
                                                   (size_t)cg * hw, g * cg, hw, x->ns.eps, x->backward));
        } else {
            for (size_t p = 0; p < LN_CHECK_POSITIONS && p < hw; p++) {
                size_t s = p * 37 % hw;
                worst = fmax(worst, norm_check_set(in, dout, got, gamma, NULL, n * plane + s, hw, (size_t)C, 0, 1,
                                                   x->ns.eps, x->backward));
            }
        }
    }
    return worst;
}

/* Weight standardisation per row of fan_in: y = (w - mean) r, r = 1/sqrt(var + eps);
 * dweight = r (g - mean g - y mean(g y)). */
static double ws_check(const sp_ctx *x, const float *w, const float *dout, const float *got) {
    const size_t F = (size_t)x->ws_fan_in;
    double worst = 0;
    for (int o = 0; o < x->ws_rows; o += 3) {
        const float *wr = w + (size_t)o * F, *gr = dout + (size_t)o * F, *out = got + (size_t)o * F;
        double mean = 0, var = 0, mg = 0, mgy = 0, mag_g = 0, mag_gy = 0;
        for (size_t i = 0; i < F; i++) mean += wr[i];
        mean /= (double)F;
        for (size_t i = 0; i < F; i++) var += (wr[i] - mean) * (wr[i] - mean);
        double r = 1 / sqrt(var / (double)F + 1e-5);
        for (size_t i = 0; i < F; i++) {
            double y = (wr[i] - mean) * r;
            mg += gr[i], mgy += gr[i] * y, mag_g += fabs(gr[i]), mag_gy += fabs(gr[i] * y);
        }
        mg /= (double)F, mgy /= (double)F, mag_g /= (double)F, mag_gy /= (double)F;
        for (size_t i = 0; i < F; i++) {
            double y = (wr[i] - mean) * r, ref, bound;
            if (!x->backward) ref = y, bound = 2 * u32 * fabs(y) + 1e-12;
            else {
                ref = r * (gr[i] - mg - y * mgy);
                bound = 4 * u32 * r * (fabs(gr[i]) + mag_g + fabs(y) * mag_gy) + 1e-12;
            }
            double e = fabs(out[i] - ref) / bound;
            if (e > worst) worst = e;
        }
    }
    return worst;
}

/* ---- float64 attention: tests/attention_ref64.h (shared with the kernel tests) ---- */

/* Every head of the first and last sample: out (forward) or dqkv (backward) against
 * float64, in units of the bound. */
static double attention_check(const sp_ctx *x, const float *qkv, const float *dout, const float *got) {
    const gb_attention_shape *s = &x->as;
    const int linear = x->op == OP_LINATTN, D = s->dim_head, N = s->positions, H = s->heads;
    const size_t dn = (size_t)D * N, chunk = (size_t)H * dn;
    gb_att64 w, m; /* the mid block's softmax attention normalises q and k (l2) */
    gb_att64_init(&w, D, N, s->scale, linear, !linear);
    gb_att64_init(&m, D, N, s->scale, linear, !linear);
    double *q = att64_dalloc(3 * dn), *g = att64_dalloc(dn), worst = 0;
    const int samples[2] = {0, s->batch - 1};
    for (int t = 0; t < 2; t++)
        for (int h = 0; h < H; h++) {
            size_t qbase = ((size_t)samples[t] * 3 * H + h) * dn, obase = ((size_t)samples[t] * H + h) * dn;
            for (size_t i = 0; i < dn; i++) {
                q[i] = qkv[qbase + i], q[dn + i] = qkv[qbase + chunk + i], q[2 * dn + i] = qkv[qbase + 2 * chunk + i];
                g[i] = dout[obase + i];
            }
            gb_att64_forward(&w, q, q + dn, q + 2 * dn, 0);
            gb_att64_forward(&m, q, q + dn, q + 2 * dn, 1);
            double emax = linear ? 0 : w.emax;
            if (!x->backward) {
                double k = linear ? (N + D + 8) * u32 : (N + 3) * u32 + 2 * emax;
                for (size_t i = 0; i < dn; i++)
                    worst = fmax(worst, fabs(got[obase + i] - w.out[i]) / (k * m.out[i] + 1e-30));
                continue;
            }
            gb_att64_backward(&w, q + 2 * dn, g, 0);
            gb_att64_backward(&m, q + 2 * dn, g, 1);
            double k = linear ? (2.0 * (N + D) + 16) * u32 : (N + D + 12) * u32 + 4 * emax;
            const double *ref[3] = {w.dq, w.dk, w.dv}, *mag[3] = {m.dq, m.dk, m.dv};
            for (int p = 0; p < 3; p++)
                for (size_t i = 0; i < dn; i++)
                    worst = fmax(worst, fabs(got[qbase + (size_t)p * chunk + i] - ref[p][i]) / (k * mag[p][i] + 1e-30));
        }
    gb_att64_free(&w);
    gb_att64_free(&m);
    free(q);
    free(g);
    return worst;
}

static int sp_check(gb_bench_case *c, gb_device *dev, double *error) {
    sp_ctx *x = c->ctx;
    if (x->backward && x->op == OP_WS) { /* dweight accumulates: one call on a zero gradient */
        gb_dev_zero(dev, x->dx, x->n_in * sizeof(float));
        sp_run(c, dev);
    }
    float *in = gb_bench_download_floats(dev, x->x, x->n_in), *dout = gb_bench_download_floats(dev, x->dout, x->n_out);
    float *got = x->backward ? gb_bench_download_floats(dev, x->dx, x->n_in) : gb_bench_download_floats(dev, x->y, x->n_out);
    double worst;
    if (x->op == OP_GN || x->op == OP_LN) {
        size_t ch = (size_t)x->ns.channels;
        float *gamma = gb_bench_download_floats(dev, x->gamma, ch), *beta = gb_bench_download_floats(dev, x->beta, ch);
        worst = norm_check(x, in, dout, got, gamma, x->op == OP_GN ? beta : NULL);
        free(gamma);
        free(beta);
    } else if (x->op == OP_WS) worst = ws_check(x, in, dout, got);
    else worst = attention_check(x, in, dout, got);
    free(in);
    free(dout);
    free(got);
    *error = worst;
    return worst <= 1;
}

/* Rows' parameters live here (rows --filter leaves out are never set up or torn down). */
static sp_ctx rows[2 * 4 * MAX_SET];
static size_t n_rows;

static void add_sp_rows(gb_bench_list *list, const char *kernel, const char *label, sp_ctx proto, int quick) {
    for (int backward = 0; backward <= 1; backward++) {
        if (quick && backward) break;
        gb_bench_case *c = gb_bench_list_add(list);
        snprintf(c->kernel, sizeof c->kernel, "%s", kernel);
        snprintf(c->direction, sizeof c->direction, "%s", backward ? "bwd" : "fwd");
        snprintf(c->impl, sizeof c->impl, "ours-cpu");
        snprintf(c->shape, sizeof c->shape, "%s", label);
        GB_ASSERT(n_rows < sizeof rows / sizeof rows[0], "more than %zu spec rows", sizeof rows / sizeof rows[0]);
        sp_ctx *x = &rows[n_rows++];
        *x = proto;
        x->backward = backward;
        double in = (double)x->n_in, out = (double)x->n_out, saved = (double)x->n_saved;
        if (x->op == OP_WS) c->bytes = 4 * (backward ? out + out + 2 * in : in + out);
        else if (x->op == OP_GN || x->op == OP_LN) c->bytes = 4 * (backward ? out + 2 * in : in + out);
        else c->bytes = 4 * (backward ? out + in + saved + in : in + out + saved);
        c->ctx = x;
        c->setup = sp_setup;
        c->run = sp_run;
        c->check = sp_check;
        c->teardown = sp_teardown;
    }
}

static sp_ctx norm_proto(sp_op op, int channels, int res) {
    sp_ctx p = {.op = op};
    p.ns = (gb_norm_shape){.batch = UNET_BATCH, .channels = channels, .spatial = res * res,
                           .groups = op == OP_GN ? UNET_GROUPS : 1, .eps = 1e-5f};
    p.n_in = p.n_out = (size_t)UNET_BATCH * channels * res * res;
    p.n_stat = (size_t)UNET_BATCH * (op == OP_GN ? UNET_GROUPS : (size_t)res * res);
    return p;
}

static sp_ctx attention_proto(sp_op op, int res) {
    sp_ctx p = {.op = op};
    p.as = (gb_attention_shape){.batch = UNET_BATCH, .heads = HEADS, .dim_head = DIM_HEAD, .positions = res * res,
                                .scale = op == OP_ATTN ? 10.0f : 1.0f / sqrtf((float)DIM_HEAD),
                                .l2_normalize_qk = op == OP_ATTN};
    size_t hdn = (size_t)UNET_BATCH * HEADS * DIM_HEAD * (size_t)res * res;
    p.n_in = 3 * hdn, p.n_out = hdn;
    p.n_saved = op == OP_ATTN ? gb_attention_saved_floats(&p.as) : gb_linear_attention_saved_floats(&p.as);
    return p;
}

/* ---------------------------------------------------------------- registration */

static void conv_label(char *buf, size_t cap, const char *model, const gb_conv_shape *s, const char *name, int uses) {
    char u[16];
    uses_suffix(u, sizeof u, uses);
    snprintf(buf, cap, "%s b%d %dx%dx%d->%d k%d s%d p%d %s%s", model, s->batch, s->in_channels, s->in_height,
             s->in_width, s->out_channels, s->kernel_h, s->stride_h, s->pad_h, name, u);
}

static int conv_key_eq(const gb_conv_shape *a, const gb_conv_shape *b) {
    return a->in_channels == b->in_channels && a->in_height == b->in_height && a->out_channels == b->out_channels &&
           a->kernel_h == b->kernel_h && a->stride_h == b->stride_h && a->pad_h == b->pad_h;
}

/* Distinct conv shapes of a listing (kinds other than K_CONVT, or K_CONVT only). */
static size_t distinct_convs(const listing *l, int transposed, distinct *set) {
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        const layer *y = &l->items[i];
        if ((y->kind == K_CONVT) != transposed) continue;
        size_t j = 0;
        while (j < n && !conv_key_eq(&set[j].first->s, &y->s)) j++;
        if (j < n) set[j].uses++;
        else {
            GB_ASSERT(n < MAX_SET, "more than %d distinct convs in a spec listing", MAX_SET);
            set[n++] = (distinct){.first = y, .uses = 1};
        }
    }
    return n;
}

static void add_vae_cases(gb_bench_list *list, int quick) {
    layer items[MAX_LAYERS];
    listing l = {items, 0};
    vae_layers(&l);
    distinct set[MAX_SET];
    char label[96];
    size_t n = distinct_convs(&l, 1, set);
    for (size_t i = 0; i < n; i++) {
        const gb_conv_shape *s = &set[i].first->s;
        if (quick && i > 0) break;
        conv_label(label, sizeof label, "vae", s, set[i].first->name, set[i].uses);
        for (int d = GB_CONV_FWD; d <= GB_CONV_BWD_WEIGHT; d++) {
            if (quick && d != GB_CONV_FWD) break;
            gb_bench_add_conv_transpose_row(list, s, label, (gb_conv_row_dir)d, GB_CONV_OURS);
            gb_bench_add_conv_transpose_row(list, s, label, (gb_conv_row_dir)d, GB_CONV_SGEMM);
        }
    }
    if (quick) return;
    n = distinct_convs(&l, 0, set);
    for (size_t i = 0; i < n; i++) {
        const gb_conv_shape *s = &set[i].first->s;
        conv_label(label, sizeof label, "vae", s, set[i].first->name, set[i].uses);
        for (int d = GB_CONV_FWD; d <= GB_CONV_BWD_WEIGHT; d++) {
            gb_bench_add_conv_row(list, s, label, (gb_conv_row_dir)d, GB_CONV_OURS);
            gb_bench_add_conv_row(list, s, label, (gb_conv_row_dir)d, GB_CONV_SGEMM);
        }
    }
}

static void add_unet_cases(gb_bench_list *list, int quick) {
    layer items[MAX_LAYERS];
    listing l = {items, 0};
    unet_layers(&l);
    distinct set[MAX_SET];
    char label[96], u[16];
    /* the mid attention first: --quick's U-Net row */
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.items[i].kind == K_QKV_SOFTMAX || l.items[i].kind == K_QKV_LINEAR) {
            int key[4] = {l.items[i].kind, l.items[i].s.in_height};
            n = add_distinct(set, n, key, &l.items[i], 1);
        }
    for (int want = K_QKV_SOFTMAX; want >= K_QKV_LINEAR; want--)
        for (size_t i = 0; i < n; i++) {
            if (set[i].key[0] != want || (quick && want != K_QKV_SOFTMAX)) continue;
            int res = set[i].key[1];
            uses_suffix(u, sizeof u, set[i].uses);
            snprintf(label, sizeof label, "unet b%d %dx%dx%d h%dx%d %s%s", UNET_BATCH, 3 * HEADS * DIM_HEAD, res, res,
                     HEADS, DIM_HEAD, set[i].first->name, u);
            add_sp_rows(list, want == K_QKV_SOFTMAX ? "attention" : "linear_attention", label,
                        attention_proto(want == K_QKV_SOFTMAX ? OP_ATTN : OP_LINATTN, res), quick);
        }
    if (quick) return;

    n = distinct_convs(&l, 0, set);
    for (size_t i = 0; i < n; i++) {
        const gb_conv_shape *s = &set[i].first->s;
        conv_label(label, sizeof label, "unet", s, set[i].first->name, set[i].uses);
        for (int d = GB_CONV_FWD; d <= GB_CONV_BWD_WEIGHT; d++) {
            gb_bench_add_conv_row(list, s, label, (gb_conv_row_dir)d, GB_CONV_OURS);
            gb_bench_add_conv_row(list, s, label, (gb_conv_row_dir)d, GB_CONV_SGEMM);
            if (d == GB_CONV_FWD && s->kernel_h >= 5) {
                gb_bench_add_conv_row(list, s, label, GB_CONV_FWD, GB_CONV_GEMM);
                gb_bench_add_conv_row(list, s, label, GB_CONV_FWD, GB_CONV_FFT);
            }
        }
    }
    /* GroupNorm(8) on every WSConv output; LayerNorm on every attention input (x2: the same
     * shape again after a LinearAttention's to_out; the mid Attention has no second one) */
    n = 0;
    for (size_t i = 0; i < l.n; i++) {
        const layer *y = &l.items[i];
        if (y->kind == K_WS) {
            int key[4] = {OP_GN, y->s.out_channels, y->s.in_height};
            n = add_distinct(set, n, key, y, 1);
        } else if (y->kind == K_QKV_LINEAR || y->kind == K_QKV_SOFTMAX) {
            int key[4] = {OP_LN, y->s.in_channels, y->s.in_height};
            n = add_distinct(set, n, key, y, y->kind == K_QKV_LINEAR ? 2 : 1);
        }
    }
    for (size_t i = 0; i < n; i++) {
        int op = set[i].key[0], ch = set[i].key[1], res = set[i].key[2];
        uses_suffix(u, sizeof u, set[i].uses);
        snprintf(label, sizeof label, "unet b%d %dx%dx%d %s %s%s", UNET_BATCH, ch, res, res, op == OP_GN ? "g8" : "ln",
                 set[i].first->name, u);
        add_sp_rows(list, op == OP_GN ? "groupnorm" : "layernorm_ch", label, norm_proto((sp_op)op, ch, res), 0);
    }
    /* weight standardisation on every WSConv weight [d_out, d * 9] */
    n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (l.items[i].kind == K_WS) {
            int key[4] = {l.items[i].s.out_channels, l.items[i].s.in_channels * 9};
            n = add_distinct(set, n, key, &l.items[i], 1);
        }
    for (size_t i = 0; i < n; i++) {
        uses_suffix(u, sizeof u, set[i].uses);
        snprintf(label, sizeof label, "unet %dx%d %s%s", set[i].key[0], set[i].key[1], set[i].first->name, u);
        sp_ctx p = {.op = OP_WS, .ws_rows = set[i].key[0], .ws_fan_in = set[i].key[1]};
        p.n_in = p.n_out = (size_t)set[i].key[0] * (size_t)set[i].key[1];
        p.n_stat = (size_t)set[i].key[0];
        add_sp_rows(list, "weight_std", label, p, 0);
    }
}

/* Other families' rows share the conv row table (bench/cases_conv.h); registered once per run. */
void gb_bench_add_spec_cases(gb_bench_list *list, int quick) {
    n_rows = 0;
    add_vae_cases(list, quick);
    add_unet_cases(list, quick);
}
