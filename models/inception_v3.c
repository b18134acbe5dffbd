/* models/inception_v3.c - the FID Inception-v3 on the backend (read inception_v3.h first).
 *
 * The layer table is built by one function per block type, in the order the state dict
 * lists the layers; the forward addresses a block's convs by their offset from the block's
 * first conv. The forward runs twice over the same code: once measuring (no op runs; each
 * buffer records the most floats per image it is asked for) to size the arena, then for real.
 *
 * Execution plan of a block (A: Mixed_5b-d, C: 6b-e, D: 7a, E: 7b-c; B, 6a, runs its convs
 * as listed):
 *   1. The sibling 1x1 convs that read the block input (A, C, E_1: branch1x1, the first conv
 *      of each chain, the pool branch's conv; E_2: the first three; D: both chain heads) run
 *      as ONE conv, merged at load: assign_offsets lays their folded weights out one after
 *      another, then their biases, so [sum cout, cin] and [sum cout] are the merged conv's
 *      parameters. One GEMM instead of 2-4 (the input is lowered/packed once, the GEMM is
 *      2-4x taller), output into T3, before ReLU.
 *   2. The pool branch of A, C and E_1 comes first: its conv's output (the conv ran before the
 *      pool in step 1: they commute, avg_pool_branch) is copied out of T3 unrectified, pooled,
 *      rectified and copied into its channels of the block output; E_2's max-pools the input.
 *   3. ReLU on all of T3 in one call (the pool branch's channels there are no longer read).
 *   4. branch1x1's channels are copied from T3 into the block output (torch.cat, dim 1).
 *   5. Each chain's head channels are copied densely into T1 (convs and pools read whole
 *      batches; a batch of one reads its slice in place), and the chain runs T1/T2 ping-pong;
 *      its last output is copied into the block output.
 * Every copy of a channel slice is one copy_rows call for the whole batch and every ReLU one
 * activation call: no op runs per image (on a GPU each would be a launch; ~85 per image
 * before). The order of steps changes no value: the features are the same bits as before.
 * Every per-channel result is computed as it would be by the members' own convs, bit for bit
 * (separate_1x1 runs them one by one; tests/test_inception.c compares).
 *
 * Profile at batch 16 (2 threads, loaded machine; shares of the forward, before the merge and
 * the forward column bands of kernels/cpu/conv2d.c): convolutions 87% (stem 3x3 24%, 1x7/7x1
 * 21%, 1x1 19%, other 3x3 and 5x5 20%, 1x3/3x1 3%), max pools 9%, average pools 2%, ReLU 1%,
 * concat copies 0.7%. The max pools (then kernels/cpu/pool.c's scalar per-window loop) read
 * ~190 MB per batch of 16 at ~1.5 GB/s; they now run separably, tap by tap along whole rows
 * (3x faster on the stem's), and the average pools likewise (1.4-2x), both with the window
 * loop's bits. A later profile (same machine class, merged 1x1s): sgemm kernel 57% of our
 * samples, its packing 7%, lowering and copies ~9%, pools ~3%.
 */
#include "models/inception_v3.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "kernels/ops.h"
#include "metrics/torch_weights.h"

enum { PING, PONG, T1, T2, T3, NBUF };

/* ---- the layer table ------------------------------------------------------------------ */

/* A merge group: sibling 1x1 convs that read the block input, run as one conv whose output
 * channels are the members' in this order (their folded weights and biases are laid out
 * contiguously, in this order, by assign_offsets). */
typedef struct {
    int member[4]; /* table indices */
    int n;
} merge_group;

typedef struct {
    gb_inception *net;
    int n;
    int group_of[GB_INCEPTION_CONVS]; /* -1 or an index into groups */
    merge_group groups[16];
    int ngroups;
} table;

static void add(table *t, const char *prefix, const char *branch, int cin, int cout, int kh, int kw, int stride,
                int ph, int pw) {
    GB_ASSERT(t->n < GB_INCEPTION_CONVS, "more than %d convolutions", GB_INCEPTION_CONVS);
    gb_inception_conv *c = &t->net->convs[t->n];
    t->group_of[t->n++] = -1;
    *c = (gb_inception_conv){.cin = cin, .cout = cout, .kh = kh, .kw = kw, .stride = stride, .pad_h = ph, .pad_w = pw};
    snprintf(c->name, sizeof c->name, "%s%s%s", prefix, branch ? "." : "", branch ? branch : "");
}

/* Members are offsets from the block's first conv, in the merged output's channel order. */
static void merge(table *t, int base, int n, const int *rel) {
    GB_ASSERT(t->ngroups < (int)(sizeof t->groups / sizeof t->groups[0]) && n <= 4, "merge table full");
    merge_group *g = &t->groups[t->ngroups];
    g->n = n;
    for (int i = 0; i < n; i++) {
        g->member[i] = base + rel[i];
        t->group_of[base + rel[i]] = t->ngroups;
    }
    t->ngroups++;
}

/* Parameter offsets: each conv's weight then its bias, except that a merge group's weights
 * come first, one after another, then its biases: [sum cout, cin] and [sum cout], the merged
 * conv's. Returns the floats used. */
static size_t assign_offsets(table *t) {
    size_t floats = 0;
    int done[GB_INCEPTION_CONVS] = {0};
    for (int i = 0; i < t->n; i++) {
        if (done[i]) continue;
        int single[1] = {i};
        const int *m = single;
        int n = 1;
        if (t->group_of[i] >= 0) {
            m = t->groups[t->group_of[i]].member;
            n = t->groups[t->group_of[i]].n;
        }
        for (int k = 0; k < n; k++) {
            gb_inception_conv *c = &t->net->convs[m[k]];
            c->weight_offset = floats;
            floats += (size_t)c->cout * c->cin * c->kh * c->kw;
        }
        for (int k = 0; k < n; k++) {
            gb_inception_conv *c = &t->net->convs[m[k]];
            c->bias_offset = floats;
            floats += (size_t)c->cout;
            done[m[k]] = 1;
        }
    }
    return floats;
}

/* The merge groups, as offsets from the block's first conv in the builders below, in the
 * merged output's channel order. Blocks A, C and E_1 merge [1x1, first conv of each chain,
 * pool 1x1] (the pool's channels last: they are pooled before their ReLU); E_2 (Mixed_7c,
 * max pool before its 1x1) merges the first three; D its two chain heads; B has one 1x1. */
static const int merge_a[4] = {0, 1, 3, 6}, merge_c[4] = {0, 1, 4, 9}, merge_d[2] = {0, 2}, merge_e[4] = {0, 1, 4, 8};

static void block_a(table *t, const char *p, int cin, int pool_features) {
    int b = t->n;
    add(t, p, "branch1x1", cin, 64, 1, 1, 1, 0, 0);
    add(t, p, "branch5x5_1", cin, 48, 1, 1, 1, 0, 0);
    add(t, p, "branch5x5_2", 48, 64, 5, 5, 1, 2, 2);
    add(t, p, "branch3x3dbl_1", cin, 64, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1);
    add(t, p, "branch3x3dbl_3", 96, 96, 3, 3, 1, 1, 1);
    add(t, p, "branch_pool", cin, pool_features, 1, 1, 1, 0, 0);
    merge(t, b, 4, merge_a);
}

static void block_b(table *t, const char *p, int cin) {
    add(t, p, "branch3x3", cin, 384, 3, 3, 2, 0, 0);
    add(t, p, "branch3x3dbl_1", cin, 64, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1);
    add(t, p, "branch3x3dbl_3", 96, 96, 3, 3, 2, 0, 0);
}

static void block_c(table *t, const char *p, int c7) {
    int b = t->n;
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
    merge(t, b, 4, merge_c);
}

static void block_d(table *t, const char *p, int cin) {
    int b = t->n;
    add(t, p, "branch3x3_1", cin, 192, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3_2", 192, 320, 3, 3, 2, 0, 0);
    add(t, p, "branch7x7x3_1", cin, 192, 1, 1, 1, 0, 0);
    add(t, p, "branch7x7x3_2", 192, 192, 1, 7, 1, 0, 3);
    add(t, p, "branch7x7x3_3", 192, 192, 7, 1, 1, 3, 0);
    add(t, p, "branch7x7x3_4", 192, 192, 3, 3, 2, 0, 0);
    merge(t, b, 2, merge_d);
}

static void block_e(table *t, const char *p, int cin, int avg_pool) {
    int b = t->n;
    add(t, p, "branch1x1", cin, 320, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3_1", cin, 384, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3_2a", 384, 384, 1, 3, 1, 0, 1);
    add(t, p, "branch3x3_2b", 384, 384, 3, 1, 1, 1, 0);
    add(t, p, "branch3x3dbl_1", cin, 448, 1, 1, 1, 0, 0);
    add(t, p, "branch3x3dbl_2", 448, 384, 3, 3, 1, 1, 1);
    add(t, p, "branch3x3dbl_3a", 384, 384, 1, 3, 1, 0, 1);
    add(t, p, "branch3x3dbl_3b", 384, 384, 3, 1, 1, 1, 0);
    add(t, p, "branch_pool", cin, 192, 1, 1, 1, 0, 0);
    merge(t, b, avg_pool ? 4 : 3, merge_e);
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
    block_e(&t, "Mixed_7b", 1280, 1);
    block_e(&t, "Mixed_7c", 2048, 0);
    GB_ASSERT(t.n == GB_INCEPTION_CONVS, "%d convolutions in the table", t.n);
    size_t floats = assign_offsets(&t);
    net->fc_weight_offset = floats;
    floats += (size_t)GB_INCEPTION_CLASSES * GB_INCEPTION_FEATURES;
    net->fc_bias_offset = floats;
    return floats + GB_INCEPTION_CLASSES;
}

/* ---- the forward, measuring or running ----------------------------------------------------- */

/* An activation [batch, c, h, w] inside a buffer holding cs channels per image: cs == c for
 * a dense tensor, cs > c for a channel slice of a merged 1x1 conv's output. */
typedef struct {
    float *p; /* NULL while measuring */
    int c, h, w, cs;
} tens;

typedef struct {
    gb_inception *net;
    int measuring;
    int batch;
    int layer;          /* cursor into net->convs: the next block's or stem layer's first conv */
    size_t need[NBUF];  /* floats per image, while measuring */
    gb_conv_shape *shapes; /* while measuring, when not NULL: each conv's shape, up to cap */
    const char **names;    /* NULL or parallel to shapes */
    size_t cap;
    /* while measuring, when run_shapes is not NULL: the convs as the forward runs them (a
     * merged 1x1 group once), up to run_cap; run_count counts them all */
    gb_conv_shape *run_shapes;
    const char **run_names;
    int *run_merged;
    size_t run_cap, run_count;
    int in_merge; /* walking a merged group's members */
    int stop;     /* a tap inside a block took the features: the forward ends there */
    int spatial_too; /* with pool3: also copy sFID's features into net->spatial on the way */
} fwd;

static size_t plane(tens x) { return (size_t)x.h * (size_t)x.w; }

static tens take(fwd *f, int buf, int c, int h, int w) {
    size_t per_image = (size_t)c * h * w;
    tens y = {NULL, c, h, w, c};
    if (f->measuring) {
        if (per_image > f->need[buf]) f->need[buf] = per_image;
    } else {
        GB_ASSERT(per_image <= f->net->buf_floats[buf], "buffer %d: %zu floats per image > %zu measured", buf, per_image,
                  f->net->buf_floats[buf]);
        y.p = f->net->buf[buf];
    }
    return y;
}

static const gb_activation relu_act = {GB_ACT_RELU, 0.0f};

/* ReLU in place on every channel of every image of the dense y: one call for the batch (the
 * merged 1x1 outputs, whose pool-branch channels must stay linear, are rectified once that
 * branch has been copied out: the blocks below). */
static void relu_all(fwd *f, tens y) {
    GB_ASSERT(y.cs == y.c, "relu of a channel slice");
    if (!f->measuring)
        gb_activation_forward(f->net->dev, y.p, y.p, (size_t)f->batch * y.cs * plane(y), &relu_act);
}

static void record_shape(fwd *f, int at, const gb_conv_shape *s) {
    if (f->measuring && f->shapes && (size_t)at < f->cap) {
        f->shapes[at] = *s;
        if (f->names) f->names[at] = f->net->convs[at].name;
    }
}

static void record_run(fwd *f, const gb_conv_shape *s, const char *name, int merged) {
    if (!f->measuring) return;
    if (f->run_shapes && f->run_count < f->run_cap) {
        f->run_shapes[f->run_count] = *s;
        if (f->run_names) f->run_names[f->run_count] = name;
        if (f->run_merged) f->run_merged[f->run_count] = merged;
    }
    f->run_count++;
}

static gb_conv_shape conv_shape(fwd *f, tens x, const gb_inception_conv *L, int cout) {
    gb_conv_shape s = {.batch = f->batch, .in_channels = x.c, .in_height = x.h, .in_width = x.w,
                       .out_channels = cout, .kernel_h = L->kh, .kernel_w = L->kw, .stride_h = L->stride,
                       .stride_w = L->stride, .pad_h = L->pad_h, .pad_w = L->pad_w};
    return s;
}

/* BasicConv2d number `at` with its BatchNorm folded: conv + bias, then ReLU in place unless
 * relu is 0. x must be dense. */
static tens conv_at(fwd *f, int buf, tens x, int at, int relu) {
    const gb_inception_conv *L = &f->net->convs[at];
    GB_ASSERT(x.c == L->cin && x.cs == x.c, "%s: %d input channels (%d per image), %d expected", L->name, x.c, x.cs,
              L->cin);
    gb_conv_shape s = conv_shape(f, x, L, L->cout);
    tens y = take(f, buf, L->cout, gb_conv_out_h(&s), gb_conv_out_w(&s));
    record_shape(f, at, &s);
    if (!f->in_merge) record_run(f, &s, L->name, 0);
    if (!f->measuring) {
        gb_conv2d_forward(f->net->dev, y.p, x.p, f->net->params + L->weight_offset, f->net->params + L->bias_offset,
                          &s);
        if (relu) relu_all(f, y);
    }
    return y;
}

/* The next conv of the stem or of block B (their convs run in table order). */
static tens conv(fwd *f, int buf, tens x) { return conv_at(f, buf, x, f->layer++, 1); }

/* Conv number k of the block whose first conv is f->layer. */
static tens conv_k(fwd *f, int buf, tens x, int k) { return conv_at(f, buf, x, f->layer + k, 1); }

typedef enum { POOL_MAX, POOL_AVG } pool_kind;

/* kernel k, stride s, padding p; average pooling excludes the padding (count_include_pad
 * False, the TF behaviour pytorch-fid's FID blocks restore). x must be dense. */
static tens pool(fwd *f, int buf, tens x, pool_kind kind, int k, int s, int p) {
    GB_ASSERT(x.cs == x.c, "pooling a channel slice");
    gb_pool_shape ps = {.batch = f->batch, .channels = x.c, .in_height = x.h, .in_width = x.w, .kernel_h = k,
                        .kernel_w = k, .stride_h = s, .stride_w = s, .pad_h = p, .pad_w = p, .count_include_pad = 0};
    tens y = take(f, buf, x.c, gb_pool_out_h(&ps), gb_pool_out_w(&ps));
    if (!f->measuring) {
        if (kind == POOL_MAX) gb_maxpool2d_forward(f->net->dev, y.p, NULL, x.p, &ps);
        else gb_avgpool2d_forward(f->net->dev, y.p, x.p, &ps);
    }
    return y;
}

/* Copy branch b into channels [*c_off, *c_off + b.c) of out (torch.cat along dim 1). */
static void place(fwd *f, tens out, tens b, int *c_off) {
    GB_ASSERT(b.h == out.h && b.w == out.w && *c_off + b.c <= out.c, "branch does not fit its block output");
    if (!f->measuring) { /* image n's slice is one contiguous run of b.c planes on either side */
        const size_t hw = plane(out);
        gb_dev_copy_rows(f->net->dev, out.p + (size_t)*c_off * hw, (size_t)out.cs * hw * sizeof(float), b.p,
                         (size_t)b.cs * hw * sizeof(float), (size_t)b.c * hw * sizeof(float), (size_t)f->batch);
    }
    *c_off += b.c;
}

/* Channels [off, off + c) of x, in place. */
static tens slice(tens x, int off, int c) {
    tens v = {x.p ? x.p + (size_t)off * plane(x) : NULL, c, x.h, x.w, x.cs};
    return v;
}

/* A dense copy of a slice in buf, for the convs and pools (which read whole batches). One
 * image is dense already: its channels are contiguous. */
static tens dense(fwd *f, int buf, tens v) {
    if (v.cs == v.c) return v;
    if (f->batch == 1) {
        v.cs = v.c;
        return v;
    }
    tens y = take(f, buf, v.c, v.h, v.w);
    int off = 0;
    place(f, y, v, &off);
    return y;
}

/* Sibling 1x1 convs on the block input x (members: offsets from the block's first conv, in
 * the merge order of the layer table) as one conv into buf: output channels are the
 * members' in order, before ReLU (the caller rectifies them: all at once, after copying out
 * a pool branch's channels, which must reach the pool linear). net->separate_1x1 runs the members one by one into T1 and places
 * them: the reference arithmetic the merged GEMM must reproduce. Measuring walks both. */
static tens conv_merged(fwd *f, int buf, tens x, const int *members, int n) {
    const gb_inception_conv *first = &f->net->convs[f->layer + members[0]];
    int total = 0;
    for (int k = 0; k < n; k++) {
        const gb_inception_conv *L = &f->net->convs[f->layer + members[k]];
        GB_ASSERT(L->kh == 1 && L->kw == 1 && L->stride == 1 && L->cin == x.c && x.cs == x.c &&
                      L->weight_offset == first->weight_offset + (size_t)total * L->cin &&
                      L->bias_offset == first->bias_offset + (size_t)total,
                  "%s: not a mergeable 1x1 conv laid out after %s", L->name, first->name);
        total += L->cout;
    }
    tens y = take(f, buf, total, x.h, x.w);
    if (f->measuring || f->net->separate_1x1) {
        int off = 0;
        f->in_merge = 1;
        for (int k = 0; k < n; k++) place(f, y, conv_at(f, T1, x, f->layer + members[k], 0), &off);
        f->in_merge = 0;
    }
    gb_conv_shape merged = conv_shape(f, x, first, total);
    record_run(f, &merged, first->name, 1);
    if (!f->measuring && !f->net->separate_1x1)
        gb_conv2d_forward(f->net->dev, y.p, x.p, f->net->params + first->weight_offset,
                          f->net->params + first->bias_offset, &merged);
    return y;
}

/* The pool branch of A, C and E_1: avg_pool 3/1/1 (count_include_pad False), then the 1x1
 * BasicConv2d. Both are linear and act on different axes (the pool averages each channel over
 * a window whose divisor depends on the position only; the 1x1 conv mixes channels per
 * position, and the average of its constant bias is the bias), so they commute exactly in
 * exact arithmetic: the conv runs first, inside the block's merged 1x1 conv, and the pool
 * sees its 32-192 output channels instead of the 192-1280 input channels, 4-7x less pooling;
 * the ReLU follows the pool. Rounding differs from pytorch-fid's order by float ulps
 * (tests/tolerances.md "FID Inception"). conv_out: the conv's output channels, before ReLU. */
static tens avg_pool_branch(fwd *f, tens conv_out) {
    tens y = pool(f, T2, dense(f, T1, conv_out), POOL_AVG, 3, 1, 1);
    relu_all(f, y);
    return y;
}

/* Blocks read x from one ping-pong buffer and write the other; the merged 1x1 output lives
 * in T3 while the branches use T1 and T2. Measuring, every buffer is sized. */
static tens block_a_fwd(fwd *f, tens x, int out_c, int ob) {
    const gb_inception_conv *L = &f->net->convs[f->layer];
    const int pf = L[6].cout;
    tens out = take(f, ob, out_c, x.h, x.w);
    tens m = conv_merged(f, T3, x, merge_a, 4);
    int off = out_c - pf; /* the pool branch first, from m before its ReLU */
    place(f, out, avg_pool_branch(f, slice(m, 176, pf)), &off);
    relu_all(f, m);
    off = 0;
    place(f, out, slice(m, 0, 64), &off);
    place(f, out, conv_k(f, T2, dense(f, T1, slice(m, 64, 48)), 2), &off);
    place(f, out, conv_k(f, T1, conv_k(f, T2, dense(f, T1, slice(m, 112, 64)), 4), 5), &off);
    GB_ASSERT(off == out_c - pf, "A block: %d channels", off + pf);
    f->layer += 7;
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

/* sFID's features: OpenAI's guided-diffusion evaluator reads the TF graph's "mixed_6/conv:0"
 * (torch-fidelity's weight conversion maps mixed_6/conv to Mixed_6d.branch1x1; the tensor is
 * its ReLU output) and keeps channels [..., :7] of the NHWC map, 7 x 17 x 17 = 2023 per image.
 * Those are the first 7 channels of Mixed_6d's merged 1x1 output m after its ReLU: copied
 * into net->pool [batch, 2023] channel-major, one contiguous run per image (gb_inception_forward_taps
 * reorders them to the evaluator's h, w, c on the host). Returns 1, and sets f->stop, when the
 * forward ends here. When pool3 is wanted too (f->spatial_too, the evaluator's one pass), the
 * copy goes to net->spatial and the forward goes on: the map is read, not changed, so pool3 and
 * the logits are the bits of a forward without the tap. */
static int spatial_tap(fwd *f, tens m) {
    gb_inception *net = f->net;
    const int alone = net->dims == GB_INCEPTION_SPATIAL;
    if (f->measuring || !(alone || f->spatial_too)) return 0;
    const size_t bytes = GB_INCEPTION_SPATIAL * sizeof(float);
    GB_ASSERT(m.cs == m.c && m.h == GB_INCEPTION_SPATIAL_SIZE && m.w == GB_INCEPTION_SPATIAL_SIZE &&
                  (size_t)GB_INCEPTION_SPATIAL_CHANNELS * plane(m) == GB_INCEPTION_SPATIAL,
              "sFID tap on a %d x %d x %d map", m.c, m.h, m.w);
    gb_dev_copy_rows(net->dev, alone ? net->pool : net->spatial, bytes, m.p, (size_t)m.cs * plane(m) * sizeof(float),
                     bytes, (size_t)f->batch);
    f->stop = alone;
    return alone;
}

/* spatial: 1 for Mixed_6d, where sFID's tap sits (with dims 2023 the block is then left
 * unfinished; beside pool3 it completes). */
static tens block_c_fwd(fwd *f, tens x, int ob, int spatial) {
    const int c7 = f->net->convs[f->layer + 1].cout;
    tens out = take(f, ob, 768, x.h, x.w);
    tens m = conv_merged(f, T3, x, merge_c, 4);
    int off = 768 - 192; /* the pool branch first, from m before its ReLU */
    place(f, out, avg_pool_branch(f, slice(m, 192 + 2 * c7, 192)), &off);
    relu_all(f, m);
    if (spatial && spatial_tap(f, m)) return out;
    off = 0;
    place(f, out, slice(m, 0, 192), &off);
    place(f, out, conv_k(f, T1, conv_k(f, T2, dense(f, T1, slice(m, 192, c7)), 2), 3), &off);
    tens d = conv_k(f, T2, conv_k(f, T1, conv_k(f, T2, dense(f, T1, slice(m, 192 + c7, c7)), 5), 6), 7);
    place(f, out, conv_k(f, T1, d, 8), &off);
    GB_ASSERT(off == 768 - 192, "C block: %d channels", off + 192);
    f->layer += 10;
    return out;
}

static tens block_d_fwd(fwd *f, tens x, int ob) {
    tens out = take(f, ob, 320 + 192 + x.c, (x.h - 3) / 2 + 1, (x.w - 3) / 2 + 1);
    tens m = conv_merged(f, T3, x, merge_d, 2);
    relu_all(f, m);
    int off = 0;
    place(f, out, conv_k(f, T2, dense(f, T1, slice(m, 0, 192)), 1), &off);
    place(f, out, conv_k(f, T2, conv_k(f, T1, conv_k(f, T2, dense(f, T1, slice(m, 192, 192)), 3), 4), 5), &off);
    place(f, out, pool(f, T1, x, POOL_MAX, 3, 2, 0), &off);
    f->layer += 6;
    return out;
}

/* E_1 averages its pool branch (merged 1x1 first, as A), E_2 (Mixed_7c) max-pools the block
 * input before its 1x1, which therefore stays out of the merge. */
static tens block_e_fwd(fwd *f, tens x, pool_kind pk, int ob) {
    tens out = take(f, ob, 2048, x.h, x.w);
    tens m = conv_merged(f, T3, x, merge_e, pk == POOL_AVG ? 4 : 3);
    int off = 2048 - 192; /* the pool branch first: E_1's from m before its ReLU */
    if (pk == POOL_AVG) place(f, out, avg_pool_branch(f, slice(m, 1152, 192)), &off);
    else place(f, out, conv_k(f, T2, pool(f, T1, x, POOL_MAX, 3, 1, 1), 8), &off);
    relu_all(f, m);
    off = 0;
    place(f, out, slice(m, 0, 320), &off);
    tens a = dense(f, T1, slice(m, 320, 384));
    place(f, out, conv_k(f, T2, a, 2), &off);
    place(f, out, conv_k(f, T2, a, 3), &off);
    tens d = conv_k(f, T2, dense(f, T1, slice(m, 704, 448)), 5);
    place(f, out, conv_k(f, T1, d, 6), &off);
    place(f, out, conv_k(f, T1, d, 7), &off);
    GB_ASSERT(off == 2048 - 192, "E block: %d channels", off + 192);
    f->layer += 9;
    return out;
}

/* The stem's max_pool 3/2 of a conv's output with the conv's ReLU moved after the pool: both
 * are monotone, so relu(max(window)) == max(relu(window)) exactly (x <= 0 -> +0 either way,
 * NaN propagates through both), and the ReLU pass touches the 4x smaller pooled tensor. */
static tens max_pool_relu(fwd *f, int buf, tens conv_out) {
    tens y = pool(f, buf, conv_out, POOL_MAX, 3, 2, 0);
    relu_all(f, y);
    return y;
}

/* A tap's features: the global average of x into net->pool [batch, x.c] (pytorch-fid's
 * adaptive_avg_pool2d of an output block). Returns 1 when the forward stops here. */
static int tap(fwd *f, tens x) {
    gb_inception *net = f->net;
    if (f->measuring || net->dims != x.c) return 0;
    gb_spatial_sum_forward(net->dev, net->pool, x.p, (size_t)f->batch * x.c, plane(x), 1.0f / (float)plane(x));
    return 1;
}

/* input: [batch, 3, 299, 299] in net->buf[PONG]; writes net->pool (net->dims features) and,
 * for pool3, net->logits. While measuring it always walks the whole network. */
static void forward(fwd *f) {
    f->layer = 0;
    tens x = take(f, PONG, 3, GB_INCEPTION_SIZE, GB_INCEPTION_SIZE);
    x = conv(f, PING, x);                    /* 1a: 32 x 149 x 149 */
    x = conv(f, PONG, x);                    /* 2a: 32 x 147 x 147 */
    x = max_pool_relu(f, PONG, conv_at(f, PING, x, f->layer++, 0)); /* 2b: 64 x 147 x 147 -> 73 x 73 */
    if (tap(f, x)) return;                                            /* --dims 64 */
    x = conv(f, PING, x);                                             /* 3b: 80 x 73 x 73 */
    x = max_pool_relu(f, PING, conv_at(f, PONG, x, f->layer++, 0)); /* 4a: 192 x 71 x 71 -> 35 x 35 */
    if (tap(f, x)) return;                                            /* --dims 192 */
    x = block_a_fwd(f, x, 256, PONG);        /* Mixed_5b */
    x = block_a_fwd(f, x, 288, PING);        /* 5c */
    x = block_a_fwd(f, x, 288, PONG);        /* 5d */
    x = block_b_fwd(f, x, PING);             /* 6a: 768 x 17 x 17 */
    x = block_c_fwd(f, x, PONG, 0);          /* 6b */
    x = block_c_fwd(f, x, PING, 0);          /* 6c */
    x = block_c_fwd(f, x, PONG, 1);          /* 6d */
    if (f->stop) return;                     /* sFID (its tap is inside 6d) */
    x = block_c_fwd(f, x, PING, 0);          /* 6e */
    if (tap(f, x)) return;                   /* --dims 768 */
    x = block_d_fwd(f, x, PONG);             /* 7a: 1280 x 8 x 8 */
    x = block_e_fwd(f, x, POOL_AVG, PING);   /* 7b: 2048 x 8 x 8 */
    x = block_e_fwd(f, x, POOL_MAX, PONG);   /* 7c */
    GB_ASSERT(f->layer == GB_INCEPTION_CONVS && x.c == GB_INCEPTION_FEATURES, "forward used %d layers", f->layer);
    if (!tap(f, x)) return; /* measuring */
    gb_inception *net = f->net;
    gb_linear_shape ls = {(size_t)f->batch, GB_INCEPTION_FEATURES, GB_INCEPTION_CLASSES};
    gb_linear_forward(net->dev, net->logits, net->pool, net->params + net->fc_weight_offset,
                      net->logits_without_bias ? NULL : net->params + net->fc_bias_offset, &ls);
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

size_t gb_inception_run_conv_shapes(int batch, gb_conv_shape *out, const char **names, int *merged, size_t cap) {
    GB_ASSERT(batch >= 1, "Inception conv listing for batch %d", batch);
    pthread_once(&listing_once, listing_build);
    fwd f = {.net = &listing_net, .measuring = 1, .batch = batch, .run_shapes = out, .run_names = names,
             .run_merged = merged, .run_cap = out ? cap : 0};
    forward(&f);
    return f.run_count;
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
    net->spatial = gb_arena_floats(&net->arena, net->max_batch * GB_INCEPTION_SPATIAL);
}

gb_status gb_inception_load(gb_inception *net, gb_device *dev, const char *path, const char *expected_sha256,
                            size_t max_batch) {
    memset(net, 0, sizeof *net);
    if (max_batch == 0) return gb_fail(GB_USAGE, "Inception batch size must be at least 1");
    net->dev = dev;
    net->max_batch = max_batch;
    net->dims = GB_INCEPTION_FEATURES;
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
    const size_t chunk = gb_inception_chunk(net, net->max_batch);
    if (chunk < net->max_batch) /* larger batches run in chunks: the same features */
        gb_info("FID Inception: batches of %zu images run in chunks of %zu (a larger chunk's widest activation "
                "would pass 2^31 elements, beyond the int indices of cuDNN's tensors)", net->max_batch, chunk);
    net->max_batch = chunk;
    net->arena = gb_arena_measure();
    layout(net);
    /* on a GPU, room beside the activations for the convolutions' workspaces (cuDNN's and the
     * scratch buffer's), whose first growth would otherwise abort in cudaMalloc */
    const size_t free_bytes = gb_device_free_bytes(dev), headroom = free_bytes == SIZE_MAX ? 0 : (size_t)512 << 20;
    const size_t activations = net->arena.used; /* a measuring arena counts in used */
    if (activations + headroom > free_bytes) { /* the allocator would abort; say what to change instead */
        gb_dev_free(dev, net->params);
        const size_t b = net->max_batch;
        memset(net, 0, sizeof *net);
        return gb_fail(GB_ENV, "FID Inception: a batch of %zu images needs %.2f GB of %s memory for its activations "
                               "and %zu MiB beside them for the convolutions' workspaces, %.2f GB are free: lower "
                               "--batch", b, activations / 1e9, dev->ops->name, headroom >> 20, free_bytes / 1e9);
    }
    gb_arena_allocate(&net->arena, dev, arena_alloc, arena_free);
    layout(net);
    return GB_OK;
}

size_t gb_inception_chunk(const gb_inception *net, size_t batch) {
    size_t widest = 1;
    for (int i = 0; i < NBUF; i++)
        if (net->buf_floats[i] > widest) widest = net->buf_floats[i];
    const size_t limit = (size_t)(INT_MAX - 1) / widest;
    return batch < limit ? batch : limit;
}

static int known_dims(int dims) {
    return dims == 64 || dims == 192 || dims == 768 || dims == GB_INCEPTION_FEATURES || dims == GB_INCEPTION_SPATIAL;
}

gb_status gb_inception_set_dims(gb_inception *net, int dims) {
    if (!known_dims(dims))
        return gb_fail(GB_USAGE, "Inception features: %d dimensions is not one of 64, 192, 768, 2048 (pytorch-fid's "
                                 "--dims) or %d (sFID's)",
                       dims, GB_INCEPTION_SPATIAL);
    net->dims = dims;
    return GB_OK;
}

/* One image's sFID features from channel-major [7, 17, 17] to the evaluator's [17, 17, 7]
 * (NHWC, flattened by reshape): covariance entries then pair up with OpenAI's reference
 * batches' mu_s / sigma_s entry for entry. */
static void spatial_to_hwc(float *v) {
    float chw[GB_INCEPTION_SPATIAL];
    memcpy(chw, v, sizeof chw);
    const int c_n = GB_INCEPTION_SPATIAL_CHANNELS, hw = GB_INCEPTION_SPATIAL_SIZE * GB_INCEPTION_SPATIAL_SIZE;
    for (int p = 0; p < hw; p++)
        for (int c = 0; c < c_n; c++) v[p * c_n + c] = chw[c * hw + p];
}

void gb_inception_forward_taps(gb_inception *net, float *pool, float *logits, float *spatial, const float *images,
                               size_t n) {
    GB_ASSERT(known_dims(net->dims),
              "Inception features of %d dimensions: gb_inception_load sets 2048, gb_inception_set_dims the others",
              net->dims);
    GB_ASSERT(!logits || net->dims == GB_INCEPTION_FEATURES, "Inception logits asked for with %d-d features",
              net->dims);
    GB_ASSERT(!spatial || net->dims == GB_INCEPTION_FEATURES, "sFID features beside %d-d features, not pool3",
              net->dims);
    const size_t in_floats = 3 * (size_t)GB_INCEPTION_SIZE * GB_INCEPTION_SIZE, dims = (size_t)net->dims;
    for (size_t start = 0; start < n; start += net->max_batch) {
        size_t b = n - start < net->max_batch ? n - start : net->max_batch;
        gb_upload(net->dev, net->buf[PONG], images + start * in_floats, b * in_floats * sizeof(float));
        fwd f = {.net = net, .batch = (int)b, .spatial_too = spatial != NULL};
        forward(&f);
        gb_download(net->dev, pool + start * dims, net->pool, b * dims * sizeof(float));
        if (net->dims == GB_INCEPTION_SPATIAL)
            for (size_t i = 0; i < b; i++) spatial_to_hwc(pool + (start + i) * dims);
        if (logits)
            gb_download(net->dev, logits + start * GB_INCEPTION_CLASSES, net->logits,
                        b * GB_INCEPTION_CLASSES * sizeof(float));
        if (spatial) {
            float *rows = spatial + start * GB_INCEPTION_SPATIAL;
            gb_download(net->dev, rows, net->spatial, b * GB_INCEPTION_SPATIAL * sizeof(float));
            for (size_t i = 0; i < b; i++) spatial_to_hwc(rows + i * GB_INCEPTION_SPATIAL);
        }
    }
}

void gb_inception_forward(gb_inception *net, float *pool, float *logits, const float *images, size_t n) {
    gb_inception_forward_taps(net, pool, logits, NULL, images, n);
}

void gb_inception_free(gb_inception *net) {
    if (!net || !net->dev) return;
    gb_arena_release(&net->arena);
    if (net->params) gb_dev_free(net->dev, net->params);
    memset(net, 0, sizeof *net);
}
