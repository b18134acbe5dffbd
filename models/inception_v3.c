/* models/inception_v3.c - the FID Inception-v3 on the backend (read inception_v3.h first).
 *
 * The layer table is built by one function per block type, in the order the state dict
 * lists the layers, which is also the order the forward uses them: the forward walks the
 * table with a cursor. The forward runs twice over the same code: once measuring (no op
 * runs; each buffer records the most floats per image it is asked for) to size the arena,
 * then for real. Branch outputs are computed batched into a temporary and copied into
 * their channel slice of the block output (one copy per image; the copies are a few
 * percent of a block's memory traffic and none of its arithmetic). The average-pool branches
 * of A, C and E_1 run their 1x1 conv before the pool (they commute; avg_pool_branch), so the
 * pool sees the conv's few output channels. Profile at batch 16 (2 threads, loaded machine;
 * shares of the forward): convolutions about 90% (1x1 20-23%, 1x7/7x1 19-26%, stem 3x3 20-23%,
 * other 3x3 15%, 5x5 4-5%, 1x3/3x1 3%), max pools 6.5%, average pools 6.3% before the
 * commute and 1.3% after, concat copies 0.1%, ReLU 0.3%.
 */
#include "models/inception_v3.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/ops.h"
#include "metrics/torch_weights.h"

enum { PING, PONG, T1, T2, T3, NBUF };

/* ---- the layer table ------------------------------------------------------------------ */

typedef struct {
    gb_inception *net;
    int n;
    size_t floats; /* parameter floats so far */
} table;

static void add(table *t, const char *prefix, const char *branch, int cin, int cout, int kh, int kw, int stride,
                int ph, int pw) {
    GB_ASSERT(t->n < GB_INCEPTION_CONVS, "more than %d convolutions", GB_INCEPTION_CONVS);
    gb_inception_conv *c = &t->net->convs[t->n++];
    *c = (gb_inception_conv){.cin = cin, .cout = cout, .kh = kh, .kw = kw, .stride = stride, .pad_h = ph, .pad_w = pw};
    snprintf(c->name, sizeof c->name, "%s%s%s", prefix, branch ? "." : "", branch ? branch : "");
    c->weight_offset = t->floats;
    t->floats += (size_t)cout * cin * kh * kw;
    c->bias_offset = t->floats;
    t->floats += (size_t)cout;
}

static void block_a(table *t, const char *p, int cin, int pool_features) {
    add(t, p, "branch1x1", cin, 64, 1, 1, 1, 0, 0);
    add(t, p, "branch5x5_1", cin, 48, 1, 1, 1, 0, 0);
    add(t, p, "branch5x5_2", 48, 64, 5, 5, 1, 2, 2);
    add(t, p, "branch3x3dbl_1", cin, 64, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1);
    add(t, p, "branch3x3dbl_3", 96, 96, 3, 3, 1, 1, 1);
    add(t, p, "branch_pool", cin, pool_features, 1, 1, 1, 0, 0);
}

static void block_b(table *t, const char *p, int cin) {
    add(t, p, "branch3x3", cin, 384, 3, 3, 2, 0, 0);
    add(t, p, "branch3x3dbl_1", cin, 64, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1);
    add(t, p, "branch3x3dbl_3", 96, 96, 3, 3, 2, 0, 0);
}

static void block_c(table *t, const char *p, int c7) {
    add(t, p, "branch1x1", 768, 192, 1, 1, 1, 0, 0);
    add(t, p, "branch7x7_1", 768, c7, 1, 1, 1, 0, 0);
    add(t, p, "branch7x7_2", c7, c7, 1, 7, 1, 0, 3);
    add(t, p, "branch7x7_3", c7, 192, 7, 1, 1, 3, 0);
    add(t, p, "branch7x7dbl_1", 768, c7, 1, 1, 1, 0, 0);
    add(t, p, "branch7x7dbl_2", c7, c7, 7, 1, 1, 3, 0);
    add(t, p, "branch7x7dbl_3", c7, c7, 1, 7, 1, 0, 3);
    add(t, p, "branch7x7dbl_4", c7, c7, 7, 1, 1, 3, 0);
    add(t, p, "branch7x7dbl_5", c7, 192, 1, 7, 1, 0, 3);
    add(t, p, "branch_pool", 768, 192, 1, 1, 1, 0, 0);
}

static void block_d(table *t, const char *p, int cin) {
    add(t, p, "branch3x3_1", cin, 192, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3_2", 192, 320, 3, 3, 2, 0, 0);
    add(t, p, "branch7x7x3_1", cin, 192, 1, 1, 1, 0, 0);
    add(t, p, "branch7x7x3_2", 192, 192, 1, 7, 1, 0, 3);
    add(t, p, "branch7x7x3_3", 192, 192, 7, 1, 1, 3, 0);
    add(t, p, "branch7x7x3_4", 192, 192, 3, 3, 2, 0, 0);
}

static void block_e(table *t, const char *p, int cin) {
    add(t, p, "branch1x1", cin, 320, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3_1", cin, 384, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3_2a", 384, 384, 1, 3, 1, 0, 1);
    add(t, p, "branch3x3_2b", 384, 384, 3, 1, 1, 1, 0);
    add(t, p, "branch3x3dbl_1", cin, 448, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3dbl_2", 448, 384, 3, 3, 1, 1, 1);
    add(t, p, "branch3x3dbl_3a", 384, 384, 1, 3, 1, 0, 1);
    add(t, p, "branch3x3dbl_3b", 384, 384, 3, 1, 1, 1, 0);
    add(t, p, "branch_pool", cin, 192, 1, 1, 1, 0, 0);
}

/* The 94 convolutions (specs/formats.md 5.2), then fc; returns the parameter floats. */
static size_t build_table(gb_inception *net) {
    table t = {.net = net};
    add(&t, "Conv2d_1a_3x3", NULL, 3, 32, 3, 3, 2, 0, 0);
    add(&t, "Conv2d_2a_3x3", NULL, 32, 32, 3, 3, 1, 0, 0);
    add(&t, "Conv2d_2b_3x3", NULL, 32, 64, 3, 3, 1, 1, 1);
    add(&t, "Conv2d_3b_1x1", NULL, 64, 80, 1, 1, 1, 0, 0);
    add(&t, "Conv2d_4a_3x3", NULL, 80, 192, 3, 3, 1, 0, 0);
    block_a(&t, "Mixed_5b", 192, 32);
    block_a(&t, "Mixed_5c", 256, 64);
    block_a(&t, "Mixed_5d", 288, 64);
    block_b(&t, "Mixed_6a", 288);
    block_c(&t, "Mixed_6b", 128);
    block_c(&t, "Mixed_6c", 160);
    block_c(&t, "Mixed_6d", 160);
    block_c(&t, "Mixed_6e", 192);
    block_d(&t, "Mixed_7a", 768);
    block_e(&t, "Mixed_7b", 1280);
    block_e(&t, "Mixed_7c", 2048);
    GB_ASSERT(t.n == GB_INCEPTION_CONVS, "%d convolutions in the table", t.n);
    net->fc_weight_offset = t.floats;
    t.floats += (size_t)GB_INCEPTION_CLASSES * GB_INCEPTION_FEATURES;
    net->fc_bias_offset = t.floats;
    return t.floats + GB_INCEPTION_CLASSES;
}

/* ---- the forward, measuring or running ----------------------------------------------------- */

typedef struct {
    float *p; /* NULL while measuring */
    int c, h, w;
} tens;

typedef struct {
    gb_inception *net;
    int measuring;
    int batch;
    int layer;          /* cursor into net->convs */
    size_t need[NBUF];  /* floats per image, while measuring */
    gb_conv_shape *shapes; /* while measuring, when not NULL: each conv's shape, up to cap */
    const char **names;    /* NULL or parallel to shapes */
    size_t cap;
} fwd;

static size_t plane(tens x) { return (size_t)x.h * (size_t)x.w; }

static tens take(fwd *f, int buf, int c, int h, int w) {
    size_t per_image = (size_t)c * h * w;
    tens y = {NULL, c, h, w};
    if (f->measuring) {
        if (per_image > f->need[buf]) f->need[buf] = per_image;
    } else {
        GB_ASSERT(per_image <= f->net->buf_floats[buf], "buffer %d: %zu floats per image > %zu measured", buf, per_image,
                  f->net->buf_floats[buf]);
        y.p = f->net->buf[buf];
    }
    return y;
}

static void relu_inplace(fwd *f, tens y) {
    static const gb_activation relu = {GB_ACT_RELU, 0.0f};
    gb_activation_forward(f->net->dev, y.p, y.p, (size_t)f->batch * y.c * plane(y), &relu);
}

/* BasicConv2d with its BatchNorm folded: conv + bias, then ReLU in place unless relu is 0. */
static tens conv_act(fwd *f, int buf, tens x, int relu) {
    const gb_inception_conv *L = &f->net->convs[f->layer++];
    GB_ASSERT(x.c == L->cin, "%s: %d input channels, %d expected", L->name, x.c, L->cin);
    gb_conv_shape s = {.batch = f->batch, .in_channels = x.c, .in_height = x.h, .in_width = x.w,
                       .out_channels = L->cout, .kernel_h = L->kh, .kernel_w = L->kw, .stride_h = L->stride,
                       .stride_w = L->stride, .pad_h = L->pad_h, .pad_w = L->pad_w};
    tens y = take(f, buf, L->cout, gb_conv_out_h(&s), gb_conv_out_w(&s));
    size_t at = (size_t)f->layer - 1;
    if (f->measuring && f->shapes && at < f->cap) {
        f->shapes[at] = s;
        if (f->names) f->names[at] = L->name;
    }
    if (!f->measuring) {
        gb_device *dev = f->net->dev;
        gb_conv2d_forward(dev, y.p, x.p, f->net->params + L->weight_offset, f->net->params + L->bias_offset, &s);
        if (relu) relu_inplace(f, y);
    }
    return y;
}

static tens conv(fwd *f, int buf, tens x) { return conv_act(f, buf, x, 1); }

typedef enum { POOL_MAX, POOL_AVG } pool_kind;

/* kernel k, stride s, padding p; average pooling excludes the padding (count_include_pad
 * False, the TF behaviour pytorch-fid's FID blocks restore). */
static tens pool(fwd *f, int buf, tens x, pool_kind kind, int k, int s, int p) {
    gb_pool_shape ps = {.batch = f->batch, .channels = x.c, .in_height = x.h, .in_width = x.w, .kernel_h = k,
                        .kernel_w = k, .stride_h = s, .stride_w = s, .pad_h = p, .pad_w = p, .count_include_pad = 0};
    tens y = take(f, buf, x.c, gb_pool_out_h(&ps), gb_pool_out_w(&ps));
    if (!f->measuring) {
        if (kind == POOL_MAX) gb_maxpool2d_forward(f->net->dev, y.p, NULL, x.p, &ps);
        else gb_avgpool2d_forward(f->net->dev, y.p, x.p, &ps);
    }
    return y;
}

/* The pool branch of A, C and E_1: avg_pool 3/1/1 (count_include_pad False), then the 1x1
 * BasicConv2d. Both are linear and act on different axes (the pool averages each channel over
 * a window whose divisor depends on the position only; the 1x1 conv mixes channels per
 * position, and the average of its constant bias is the bias), so they commute exactly in
 * exact arithmetic: conv first, then pool the conv's output channels (32-192) instead of its
 * input channels (192-1280), 4-7x less pooling; the ReLU follows the pool. Rounding differs
 * from pytorch-fid's order by float ulps (tests/tolerances.md "FID Inception"). */
static tens avg_pool_branch(fwd *f, tens x) {
    tens y = pool(f, T2, conv_act(f, T1, x, 0), POOL_AVG, 3, 1, 1);
    if (!f->measuring) relu_inplace(f, y);
    return y;
}

/* Copy branch b into channels [*c_off, *c_off + b.c) of out (torch.cat along dim 1). */
static void place(fwd *f, tens out, tens b, int *c_off) {
    GB_ASSERT(b.h == out.h && b.w == out.w && *c_off + b.c <= out.c, "branch does not fit its block output");
    if (!f->measuring) {
        size_t hw = plane(out);
        for (int n = 0; n < f->batch; n++)
            gb_dev_copy(f->net->dev, out.p + ((size_t)n * out.c + (size_t)*c_off) * hw, b.p + (size_t)n * b.c * hw,
                        (size_t)b.c * hw * sizeof(float));
    }
    *c_off += b.c;
}

/* Blocks read x from one ping-pong buffer and write the other; measuring, both are sized. */
static tens block_a_fwd(fwd *f, tens x, int out_c, int ob) {
    tens out = take(f, ob, out_c, x.h, x.w);
    int off = 0;
    place(f, out, conv(f, T1, x), &off);
    place(f, out, conv(f, T2, conv(f, T1, x)), &off);
    place(f, out, conv(f, T1, conv(f, T2, conv(f, T1, x))), &off);
    place(f, out, avg_pool_branch(f, x), &off);
    GB_ASSERT(off == out_c, "A block: %d channels", off);
    return out;
}

static tens block_b_fwd(fwd *f, tens x, int ob) {
    tens out = take(f, ob, 384 + 96 + x.c, (x.h - 3) / 2 + 1, (x.w - 3) / 2 + 1);
    int off = 0;
    place(f, out, conv(f, T1, x), &off);
    place(f, out, conv(f, T1, conv(f, T2, conv(f, T1, x))), &off);
    place(f, out, pool(f, T1, x, POOL_MAX, 3, 2, 0), &off);
    return out;
}

static tens block_c_fwd(fwd *f, tens x, int ob) {
    tens out = take(f, ob, 768, x.h, x.w);
    int off = 0;
    place(f, out, conv(f, T1, x), &off);
    place(f, out, conv(f, T1, conv(f, T2, conv(f, T1, x))), &off);
    place(f, out, conv(f, T1, conv(f, T2, conv(f, T1, conv(f, T2, conv(f, T1, x))))), &off);
    place(f, out, avg_pool_branch(f, x), &off);
    return out;
}

static tens block_d_fwd(fwd *f, tens x, int ob) {
    tens out = take(f, ob, 320 + 192 + x.c, (x.h - 3) / 2 + 1, (x.w - 3) / 2 + 1);
    int off = 0;
    place(f, out, conv(f, T2, conv(f, T1, x)), &off);
    place(f, out, conv(f, T2, conv(f, T1, conv(f, T2, conv(f, T1, x)))), &off);
    place(f, out, pool(f, T1, x, POOL_MAX, 3, 2, 0), &off);
    return out;
}

/* E_1 averages its pool branch, E_2 (Mixed_7c) max-pools it. */
static tens block_e_fwd(fwd *f, tens x, pool_kind pk, int ob) {
    tens out = take(f, ob, 2048, x.h, x.w);
    int off = 0;
    place(f, out, conv(f, T2, x), &off);
    tens a = conv(f, T1, x);
    place(f, out, conv(f, T2, a), &off);
    place(f, out, conv(f, T2, a), &off);
    tens d = conv(f, T3, conv(f, T1, x));
    place(f, out, conv(f, T2, d), &off);
    place(f, out, conv(f, T2, d), &off);
    if (pk == POOL_AVG) place(f, out, avg_pool_branch(f, x), &off);
    else place(f, out, conv(f, T2, pool(f, T1, x, POOL_MAX, 3, 1, 1)), &off);
    return out;
}

/* input: [batch, 3, 299, 299] in net->buf[PONG]; writes net->pool and net->logits. */
static void forward(fwd *f) {
    f->layer = 0;
    tens x = take(f, PONG, 3, GB_INCEPTION_SIZE, GB_INCEPTION_SIZE);
    x = conv(f, PING, x);                    /* 1a: 32 x 149 x 149 */
    x = conv(f, PONG, x);                    /* 2a: 32 x 147 x 147 */
    x = conv(f, PING, x);                    /* 2b: 64 x 147 x 147 */
    x = pool(f, PONG, x, POOL_MAX, 3, 2, 0); /* 64 x 73 x 73 */
    x = conv(f, PING, x);                    /* 3b: 80 x 73 x 73 */
    x = conv(f, PONG, x);                    /* 4a: 192 x 71 x 71 */
    x = pool(f, PING, x, POOL_MAX, 3, 2, 0); /* 192 x 35 x 35 */
    x = block_a_fwd(f, x, 256, PONG);        /* Mixed_5b */
    x = block_a_fwd(f, x, 288, PING);        /* 5c */
    x = block_a_fwd(f, x, 288, PONG);        /* 5d */
    x = block_b_fwd(f, x, PING);             /* 6a: 768 x 17 x 17 */
    x = block_c_fwd(f, x, PONG);             /* 6b */
    x = block_c_fwd(f, x, PING);             /* 6c */
    x = block_c_fwd(f, x, PONG);             /* 6d */
    x = block_c_fwd(f, x, PING);             /* 6e */
    x = block_d_fwd(f, x, PONG);             /* 7a: 1280 x 8 x 8 */
    x = block_e_fwd(f, x, POOL_AVG, PING);   /* 7b: 2048 x 8 x 8 */
    x = block_e_fwd(f, x, POOL_MAX, PONG);   /* 7c */
    GB_ASSERT(f->layer == GB_INCEPTION_CONVS && x.c == GB_INCEPTION_FEATURES, "forward used %d layers", f->layer);
    if (f->measuring) return;
    gb_inception *net = f->net;
    gb_spatial_sum_forward(net->dev, net->pool, x.p, (size_t)f->batch * x.c, plane(x), 1.0f / (float)plane(x));
    gb_linear_shape ls = {(size_t)f->batch, GB_INCEPTION_FEATURES, GB_INCEPTION_CLASSES};
    gb_linear_forward(net->dev, net->logits, net->pool, net->params + net->fc_weight_offset,
                      net->params + net->fc_bias_offset, &ls);
}

/* ---- the conv listing, without weights ---------------------------------------------------- */

/* The layer table alone (no parameters), built once: the listing's names point into it. */
static gb_inception listing_net;
static pthread_once_t listing_once = PTHREAD_ONCE_INIT;
static void listing_build(void) { build_table(&listing_net); }

size_t gb_inception_conv_shapes(int batch, gb_conv_shape *out, const char **names, size_t cap) {
    GB_ASSERT(batch >= 1, "Inception conv listing for batch %d", batch);
    pthread_once(&listing_once, listing_build);
    fwd f = {.net = &listing_net, .measuring = 1, .batch = batch, .shapes = out, .names = names, .cap = out ? cap : 0};
    forward(&f);
    return GB_INCEPTION_CONVS;
}

/* ---- loading ------------------------------------------------------------------------------- */

#define FIX "; fetch the FID weights with `genbench data fetch inception-weights`"

static gb_status finite_or_fail(const gb_torch_state *w, const char *key, const float *v, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return gb_fail(GB_INPUT, "%s: tensor '%s' element %zu is %g: the weights are damaged" FIX, w->path, key, i,
                           (double)v[i]);
    return GB_OK;
}

/* conv.weight and the four bn.* vectors of one BasicConv2d -> folded weight and bias. */
static gb_status fold_conv(float *dst, const gb_torch_state *w, const gb_inception_conv *c) {
    char key[5][64];
    static const char *const part[5] = {"conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"};
    const float *v[5];
    for (int i = 0; i < 5; i++) {
        snprintf(key[i], sizeof key[i], "%s.%s", c->name, part[i]);
        int64_t wshape[4] = {c->cout, c->cin, c->kh, c->kw}, vshape[1] = {c->cout};
        GB_TRY(gb_torch_get_f32(&v[i], w, key[i], i == 0 ? 4 : 1, i == 0 ? wshape : vshape));
        GB_TRY(finite_or_fail(w, key[i], v[i], i == 0 ? (size_t)c->cout * c->cin * c->kh * c->kw : (size_t)c->cout));
    }
    size_t fan = (size_t)c->cin * c->kh * c->kw;
    float *wd = dst + c->weight_offset, *bd = dst + c->bias_offset;
    for (int o = 0; o < c->cout; o++) {
        double var = (double)v[4][o] + 0.001;
        if (!(var > 0))
            return gb_fail(GB_INPUT, "%s: '%s'[%d] + eps is %g, not positive: the weights are damaged" FIX, w->path, key[4],
                           o, var);
        double s = (double)v[1][o] / sqrt(var);
        for (size_t k = 0; k < fan; k++) wd[o * fan + k] = (float)((double)v[0][o * fan + k] * s);
        bd[o] = (float)((double)v[2][o] - (double)v[3][o] * s);
    }
    return GB_OK;
}

/* Every key must be one the network uses (or a BatchNorm's num_batches_tracked), as
 * torch's strict load_state_dict demands: a file with extra layers is another network. */
static gb_status check_keys(const gb_torch_state *w, const gb_inception *net) {
    static const char *const parts[] = {"conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                                        "bn.num_batches_tracked"};
    for (size_t i = 0; i < w->count; i++) {
        const char *k = w->tensors[i].name;
        int known = strcmp(k, "fc.weight") == 0 || strcmp(k, "fc.bias") == 0;
        for (int c = 0; c < GB_INCEPTION_CONVS && !known; c++) {
            size_t len = strlen(net->convs[c].name);
            if (strncmp(k, net->convs[c].name, len) != 0 || k[len] != '.') continue;
            for (size_t p = 0; p < sizeof parts / sizeof parts[0] && !known; p++) known = strcmp(k + len + 1, parts[p]) == 0;
        }
        if (!known)
            return gb_fail(GB_INPUT, "%s: unexpected tensor '%s': not pytorch-fid's FID Inception state dict" FIX, w->path, k);
    }
    return GB_OK;
}

static void *arena_alloc(void *dev, size_t bytes) { return gb_dev_alloc(dev, bytes); }
static void arena_free(void *dev, void *p) { gb_dev_free(dev, p); }

static void layout(gb_inception *net) {
    for (int i = 0; i < NBUF; i++) net->buf[i] = gb_arena_floats(&net->arena, net->max_batch * net->buf_floats[i]);
    net->pool = gb_arena_floats(&net->arena, net->max_batch * GB_INCEPTION_FEATURES);
    net->logits = gb_arena_floats(&net->arena, net->max_batch * GB_INCEPTION_CLASSES);
}

gb_status gb_inception_load(gb_inception *net, gb_device *dev, const char *path, const char *expected_sha256,
                            size_t max_batch) {
    memset(net, 0, sizeof *net);
    if (max_batch == 0) return gb_fail(GB_USAGE, "Inception batch size must be at least 1");
    net->dev = dev;
    net->max_batch = max_batch;
    size_t total = build_table(net);
    gb_torch_state w;
    gb_status s = gb_torch_load(&w, path, expected_sha256 ? expected_sha256 : GB_INCEPTION_SHA256);
    if (s != GB_OK) {
        if (!expected_sha256 && s == GB_INPUT && strstr(gb_last_error(), "SHA-256"))
            gb_fail_wrap(s, "the FID Inception weights must be %s (fetch it with `genbench data fetch "
                            "inception-weights`, or pass --weights FILE --weights-sha256 HEX to use another file "
                            "deliberately)", GB_INCEPTION_FILE);
        return s;
    }
    float *host = malloc(total * sizeof *host);
    if (!host) {
        gb_torch_free(&w);
        return gb_fail(GB_ENV, "out of memory folding the Inception weights (%zu floats)", total);
    }
    s = check_keys(&w, net);
    for (int c = 0; c < GB_INCEPTION_CONVS && s == GB_OK; c++) s = fold_conv(host, &w, &net->convs[c]);
    const float *fw = NULL, *fb = NULL;
    if (s == GB_OK)
        s = gb_torch_get_f32(&fw, &w, "fc.weight", 2, (const int64_t[]){GB_INCEPTION_CLASSES, GB_INCEPTION_FEATURES});
    if (s == GB_OK) s = gb_torch_get_f32(&fb, &w, "fc.bias", 1, (const int64_t[]){GB_INCEPTION_CLASSES});
    if (s == GB_OK) s = finite_or_fail(&w, "fc.weight", fw, (size_t)GB_INCEPTION_CLASSES * GB_INCEPTION_FEATURES);
    if (s == GB_OK) s = finite_or_fail(&w, "fc.bias", fb, GB_INCEPTION_CLASSES);
    if (s == GB_OK) {
        memcpy(host + net->fc_weight_offset, fw, (size_t)GB_INCEPTION_CLASSES * GB_INCEPTION_FEATURES * sizeof *fw);
        memcpy(host + net->fc_bias_offset, fb, GB_INCEPTION_CLASSES * sizeof *fb);
        memcpy(net->sha256, w.sha256, sizeof net->sha256);
        net->params = gb_dev_alloc(dev, total * sizeof *host);
        gb_upload(dev, net->params, host, total * sizeof *host);
    }
    free(host);
    gb_torch_free(&w);
    if (s != GB_OK) {
        if (!strstr(gb_last_error(), "genbench data fetch")) gb_fail_wrap(s, "FID Inception weights" FIX);
        memset(net, 0, sizeof *net);
        return s;
    }
    fwd m = {.net = net, .measuring = 1, .batch = (int)max_batch};
    forward(&m);
    memcpy(net->buf_floats, m.need, sizeof m.need);
    net->arena = gb_arena_measure();
    layout(net);
    gb_arena_allocate(&net->arena, dev, arena_alloc, arena_free);
    layout(net);
    return GB_OK;
}

void gb_inception_forward(gb_inception *net, float *pool, float *logits, const float *images, size_t n) {
    const size_t in_floats = 3 * (size_t)GB_INCEPTION_SIZE * GB_INCEPTION_SIZE;
    for (size_t start = 0; start < n; start += net->max_batch) {
        size_t b = n - start < net->max_batch ? n - start : net->max_batch;
        gb_upload(net->dev, net->buf[PONG], images + start * in_floats, b * in_floats * sizeof(float));
        fwd f = {.net = net, .batch = (int)b};
        forward(&f);
        gb_download(net->dev, pool + start * GB_INCEPTION_FEATURES, net->pool, b * GB_INCEPTION_FEATURES * sizeof(float));
        if (logits)
            gb_download(net->dev, logits + start * GB_INCEPTION_CLASSES, net->logits,
                        b * GB_INCEPTION_CLASSES * sizeof(float));
    }
}

void gb_inception_free(gb_inception *net) {
    if (!net || !net->dev) return;
    gb_arena_release(&net->arena);
    if (net->params) gb_dev_free(net->dev, net->params);
    memset(net, 0, sizeof *net);
}
