/* tests/test_kernels_cuda_attn_loss.c - CUDA against the CPU backend: the softmax family and
 * sum, softmax and linear attention, the losses and reparameterisation, the gradient
 * penalty, gradient clipping, the time embeddings and the RealNVP coupling.
 *
 * Harness in tests/cuda_parity.h: guard regions around every device buffer, inputs checked
 * unchanged, outputs poisoned, each GPU op run twice and compared bit for bit (determinism).
 * Shapes include 1-element cases, odd sizes, batch 1, channels not a multiple of 8 and many
 * blocks. Tolerances (u = 2^-24, "max" = max |cpu| over the buffer or checked part), with
 * the reasons in tests/tolerances.md ("CUDA backend parity"):
 *   bitwise                 sum_backward, sq_error dpred, reparameterize dmu, coupling dt
 *                           (the same float or double operations in the same order)
 *   4u|cpu| (+ 1e-44)       values rounded once from a double that differs in its last bits:
 *                           libdevice's exp/log/log1p/expm1/sin/cos (1-2 ulp in double) vs
 *                           glibc's, or a tree-ordered double sum vs the CPU's ascending one
 *   + 1e-12 max (1e-10 for the embedding backward sums)  where the double expression cancels
 *                           (log_softmax near 0, p - onehot, g - dot, x e^s + t), so that
 *                           double-level differences are relative to the terms, not the result
 *   attention, linear attention: 16 (D + N + 2)(1 + |scale|) u max, per sample's dq/dk/dv and
 *                           per saved block: cuBLAS and OpenBLAS round their float dot products
 *                           (K = D or N terms) in different orders, propagated through the
 *                           softmax (scale amplifies logit errors)
 *   clip grads              8u|cpu|: the coefficient may differ by one rounding of the norm
 * Without a GPU every test is skipped.
 */
#include "tests/cuda_parity.h"

#ifdef GB_HAVE_CUDA

static const tol TOL_ONE_ROUNDING = {4, 0, 1e-44};
static const tol TOL_CANCEL = {4, 1e-12, 1e-44};

/* ---- softmax family, sum ---- */

static void softmax_case(size_t rows, size_t cols, uint64_t seed) {
    seed_rng(seed);
    const size_t n = rows * cols;
    float *xh = rand_floats(n, -30, 30), *gh = rand_floats(n, -1, 1), *gr = rand_floats(rows, -1, 1);
    if (rows > 1 && cols > 1) {
        for (size_t j = 0; j < cols; j++) xh[j] += 1e4f; /* large magnitudes: stability */
        xh[cols + 1] = -INFINITY;
    }
    /* the backward inputs are the CPU's forward outputs, the same on both sides */
    float *ys = pc_host(n), *yl = pc_host(n), *lse = pc_host(rows);
    gb_softmax_forward(&cpu, ys, xh, rows, cols);
    gb_log_softmax_forward(&cpu, yl, xh, rows, cols);
    gb_logsumexp_forward(&cpu, lse, xh, rows, cols);
    pcase c;
    pc_begin(&c, "softmax family %zu x %zu", rows, cols);
    pbuf *x = pc_in(&c, "x", xh, n), *g = pc_in(&c, "dout", gh, n), *grow = pc_in(&c, "dout rows", gr, rows);
    pbuf *ysi = pc_in(&c, "softmax out", ys, n), *yli = pc_in(&c, "log_softmax out", yl, n);
    pbuf *lsei = pc_in(&c, "logsumexp out", lse, rows);
    pbuf *sf = pc_out(&c, "softmax", n), *lsf = pc_out(&c, "log_softmax", n), *lf = pc_out(&c, "logsumexp", rows);
    pbuf *sb = pc_out(&c, "softmax dinp", n), *lsb = pc_out(&c, "log_softmax dinp", n);
    pbuf *lb = pc_out(&c, "logsumexp dinp", n);
    gb_softmax_forward(&cpu, sf->cpu, x->cpu, rows, cols);
    gb_log_softmax_forward(&cpu, lsf->cpu, x->cpu, rows, cols);
    gb_logsumexp_forward(&cpu, lf->cpu, x->cpu, rows, cols);
    gb_softmax_backward(&cpu, sb->cpu, g->cpu, ysi->cpu, rows, cols);
    gb_log_softmax_backward(&cpu, lsb->cpu, g->cpu, yli->cpu, rows, cols);
    gb_logsumexp_backward(&cpu, lb->cpu, grow->cpu, x->cpu, lsei->cpu, rows, cols);
    GPU_TWICE(&c, {
        gb_softmax_forward(&gpu, sf->dev, x->dev, rows, cols);
        gb_log_softmax_forward(&gpu, lsf->dev, x->dev, rows, cols);
        gb_logsumexp_forward(&gpu, lf->dev, x->dev, rows, cols);
        gb_softmax_backward(&gpu, sb->dev, g->dev, ysi->dev, rows, cols);
        gb_log_softmax_backward(&gpu, lsb->dev, g->dev, yli->dev, rows, cols);
        gb_logsumexp_backward(&gpu, lb->dev, grow->dev, x->dev, lsei->dev, rows, cols);
    });
    pc_check(&c, sf, TOL_ONE_ROUNDING);
    pc_check(&c, lsf, TOL_CANCEL);
    pc_check(&c, lf, TOL_CANCEL);
    pc_check(&c, sb, TOL_CANCEL);
    pc_check(&c, lsb, TOL_CANCEL);
    pc_check(&c, lb, TOL_ONE_ROUNDING);
    pc_end(&c);
    free(xh), free(gh), free(gr), free(ys), free(yl), free(lse);
}

Test(cuda_attn_loss, softmax_family, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t shapes[][2] = {{1, 1}, {3, 7}, {17, 33}, {5, 129}, {64, 1000}, {4000, 10}};
    for (size_t k = 0; k < 6; k++) softmax_case(shapes[k][0], shapes[k][1], 9000 + k);

    /* logsumexp's infinite-max rule: an all -inf row gives -inf, a +inf entry +inf */
    float xh[] = {-INFINITY, -INFINITY, -INFINITY, 1.0f, INFINITY, 2.0f, 0.5f, -1.0f, 3.0f};
    pcase c;
    pc_begin(&c, "logsumexp infinities");
    pbuf *x = pc_in(&c, "x", xh, 9), *o = pc_out(&c, "logsumexp", 3);
    gb_logsumexp_forward(&cpu, o->cpu, x->cpu, 3, 3);
    GPU_TWICE(&c, gb_logsumexp_forward(&gpu, o->dev, x->dev, 3, 3));
    pc_check(&c, o, TOL_ONE_ROUNDING);
    pc_end(&c);
}

Test(cuda_attn_loss, sum, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t sizes[] = {0, 1, 1000, 100003};
    for (size_t k = 0; k < 4; k++) {
        seed_rng(9100 + k);
        const size_t n = sizes[k];
        const float scale = n ? 1.0f / (float)n : 1.0f;
        float *xh = rand_floats(n, -1, 3), gh = -0.75f;
        pcase c;
        pc_begin(&c, "sum n=%zu", n);
        pbuf *x = pc_in(&c, "x", xh, n), *g = pc_in(&c, "dout", &gh, 1);
        pbuf *s = pc_out(&c, "sum", 1), *m = pc_out(&c, "mean", 1), *dx = pc_out(&c, "dinp", n);
        gb_sum_forward(&cpu, s->cpu, x->cpu, n, 1.0f);
        gb_sum_forward(&cpu, m->cpu, x->cpu, n, scale);
        gb_sum_backward(&cpu, dx->cpu, g->cpu, n, scale);
        GPU_TWICE(&c, {
            gb_sum_forward(&gpu, s->dev, x->dev, n, 1.0f);
            gb_sum_forward(&gpu, m->dev, x->dev, n, scale);
            gb_sum_backward(&gpu, dx->dev, g->dev, n, scale);
        });
        pc_check(&c, s, TOL_ONE_ROUNDING);
        pc_check(&c, m, TOL_ONE_ROUNDING);
        pc_check(&c, dx, TOL_BITS);
        pc_end(&c);
        free(xh);
    }
}

/* In place, as the CPU allows: logsumexp's totals written over the start of its own input and
 * the sum's gradient over its dout. On the GPU both go through scratch (other warps or blocks
 * may still read where the outputs land), so the results are the out-of-place ones: logsumexp
 * within one rounding of the CPU, the rest of the buffer untouched, the gradient bitwise. */
Test(cuda_attn_loss, in_place_logsumexp_and_sum_backward, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t rows = 300, cols = 40, n = rows * cols; /* out[r] lands in rows 0..7 */
    seed_rng(9200);
    float *xh = rand_floats(n, -5, 5), *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    memcpy(want, xh, n * sizeof *want);
    gb_logsumexp_forward(&cpu, want, want, rows, cols);
    float *d = gb_dev_alloc(&gpu, n * sizeof *d);
    gb_upload(&gpu, d, xh, n * sizeof *d);
    gb_logsumexp_forward(&gpu, d, d, rows, cols);
    gb_download(&gpu, got, d, n * sizeof *got);
    for (size_t i = 0; i < rows; i++)
        cr_expect(fabsf(got[i] - want[i]) <= 4 * 5.9604644775390625e-8f * fabsf(want[i]) + 1e-44f,
                  "in-place logsumexp row %zu: cuda %.9g, cpu %.9g", i, (double)got[i], (double)want[i]);
    cr_expect(memcmp(got + rows, xh + rows, (n - rows) * sizeof *got) == 0, "in-place logsumexp wrote past out");

    const float g = -0.75f, scale = 1.0f / 3.0f;
    for (size_t i = 0; i < n; i++) want[i] = i ? xh[i] : g;
    gb_upload(&gpu, d, want, n * sizeof *d);
    gb_sum_backward(&cpu, want, want, n, scale);
    gb_sum_backward(&gpu, d, d, n, scale);
    gb_download(&gpu, got, d, n * sizeof *got);
    cr_expect(memcmp(got, want, n * sizeof *got) == 0, "in-place sum_backward: not the CPU's bits");
    gb_dev_free(&gpu, d);
    free(xh), free(want), free(got);
}

/* ---- attention ---- */

/* Checks the dq, dk, dv of every sample of a [batch, 3*heads*D, N] buffer together: the
 * tolerance scales with the largest of the sample's three. One block alone can be rounding
 * noise: linear attention at N = 1 has pk = 1 exactly, so dq is zero in exact arithmetic and
 * both backends return ~1e-8 of noise, which a bound relative to that block could not judge. */
static void check_qkv(pcase *c, const pbuf *b, const gb_attention_shape *s, tol t) {
    const size_t chunk = (size_t)s->heads * s->dim_head * s->positions;
    char part[48];
    for (int bi = 0; bi < s->batch; bi++) {
        snprintf(part, sizeof part, "dq, dk, dv of sample %d", bi);
        pc_check_range(c, b, (size_t)bi * 3 * chunk, 3 * chunk, t, part);
    }
}

static void attention_case(const gb_attention_shape *s, int linear, uint64_t seed) {
    seed_rng(seed);
    const size_t chunk = (size_t)s->heads * s->dim_head * s->positions;
    const size_t nqkv = (size_t)s->batch * 3 * chunk, nout = (size_t)s->batch * chunk;
    const size_t nsaved = linear ? gb_linear_attention_saved_floats(s) : gb_attention_saved_floats(s);
    float *qkvh = rand_floats(nqkv, -1, 1), *gh = rand_floats(nout, -1, 1);
    for (int b = 0; b < s->batch; b++) /* v with an offset: outputs of order 1 */
        for (size_t i = 0; i < chunk; i++) qkvh[((size_t)b * 3 + 2) * chunk + i] += 1.0f;
    const double D = s->dim_head, N = s->positions;
    const tol t = {0, 16 * (D + N + 2) * (1 + fabs((double)s->scale)) * U32, 0};
    pcase c;
    pc_begin(&c, "%s attention b%d h%d d%d n%d scale %g l2 %d", linear ? "linear" : "softmax",
             s->batch, s->heads, s->dim_head, s->positions, (double)s->scale, s->l2_normalize_qk);
    pbuf *qkv = pc_in(&c, "qkv", qkvh, nqkv), *g = pc_in(&c, "dout", gh, nout);
    pbuf *out = pc_out(&c, "out", nout), *saved = pc_out(&c, "saved", nsaved);
    pbuf *dqkv = pc_out(&c, "dqkv", nqkv);
    if (linear) {
        gb_linear_attention_forward(&cpu, out->cpu, saved->cpu, qkv->cpu, s);
        gb_linear_attention_backward(&cpu, dqkv->cpu, g->cpu, qkv->cpu, saved->cpu, s);
        GPU_TWICE(&c, {
            gb_linear_attention_forward(&gpu, out->dev, saved->dev, qkv->dev, s);
            gb_linear_attention_backward(&gpu, dqkv->dev, g->dev, qkv->dev, saved->dev, s);
        });
    } else {
        gb_attention_forward(&cpu, out->cpu, saved->cpu, qkv->cpu, s);
        gb_attention_backward(&cpu, dqkv->cpu, g->cpu, qkv->cpu, saved->cpu, s);
        GPU_TWICE(&c, {
            gb_attention_forward(&gpu, out->dev, saved->dev, qkv->dev, s);
            gb_attention_backward(&gpu, dqkv->dev, g->dev, qkv->dev, saved->dev, s);
        });
    }
    pc_check(&c, out, t);
    check_qkv(&c, dqkv, s, t);
    /* the saved blocks have the CPU's layout (kernels/shapes.h sizes): attn, qn, kn or pq, pk, ctx */
    const size_t bh = (size_t)s->batch * s->heads, d = (size_t)s->dim_head, n = (size_t)s->positions;
    if (linear) {
        pc_check_range(&c, saved, 0, bh * d * n, t, "saved pq");
        pc_check_range(&c, saved, bh * d * n, bh * d * n, t, "saved pk");
        pc_check_range(&c, saved, 2 * bh * d * n, bh * d * d, t, "saved ctx");
    } else {
        pc_check_range(&c, saved, 0, bh * n * n, t, "saved attn");
        pc_check_range(&c, saved, bh * n * n, 2 * bh * d * n, t, "saved qn, kn");
    }
    pc_end(&c);
    free(qkvh), free(gh);
}

Test(cuda_attn_loss, attention, .fini = close_devices) {
    REQUIRE_GPU();
    /* batch, heads, dim_head, positions, scale, l2 */
    const gb_attention_shape shapes[] = {
        {1, 1, 4, 5, 10.0f, 1},   {2, 3, 8, 9, 10.0f, 1},  {2, 2, 16, 64, 0.25f, 0},
        {3, 4, 32, 17, 10.0f, 1}, {1, 2, 5, 1, 10.0f, 1},  {4, 4, 32, 64, 10.0f, 1},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) attention_case(&shapes[k], 0, 9200 + k);
}

Test(cuda_attn_loss, linear_attention, .fini = close_devices) {
    REQUIRE_GPU();
    const gb_attention_shape shapes[] = {
        {1, 1, 4, 5, 0.5f, 0},       {2, 3, 8, 9, 0.35355339f, 0}, {2, 2, 16, 64, 0.25f, 0},
        {3, 4, 32, 17, 0.1767767f, 0}, {1, 2, 5, 1, 0.4472136f, 0}, {4, 4, 32, 256, 0.1767767f, 0},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) attention_case(&shapes[k], 1, 9300 + k);
}

/* ---- losses ---- */

Test(cuda_attn_loss, bce_and_sq_error, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t sizes[] = {1, 7, 1000, 70001};
    for (size_t k = 0; k < 4; k++) {
        seed_rng(9400 + k);
        const size_t n = sizes[k];
        const int with_target = k % 2 == 0;
        float *xh = rand_floats(n, -8, 8), *th = rand_floats(n, 0, 1), *ph = rand_floats(n, -2, 2);
        if (n > 2) xh[0] = 60.0f, xh[1] = -60.0f;
        const double divisors[] = {(double)n, 2.0 * (double)n, 3.0};
        pcase c;
        pc_begin(&c, "bce / sq_error n=%zu target %d", n, with_target);
        pbuf *x = pc_in(&c, "logits", xh, n), *t = pc_in(&c, "target", th, n), *p = pc_in(&c, "pred", ph, n);
        pbuf *bl = pc_out(&c, "bce loss", 1), *bd = pc_out(&c, "bce dlogits", n), *bl2 = pc_out(&c, "bce loss (no grad)", 1);
        pbuf *sl[3], *sd[3];
        for (int i = 0; i < 3; i++) sl[i] = pc_out(&c, "sq_error loss", 1), sd[i] = pc_out(&c, "sq_error dpred", n);
        const float *tc = with_target ? t->cpu : NULL, *tg = with_target ? t->dev : NULL;
        gb_bce_with_logits(&cpu, bl->cpu, bd->cpu, x->cpu, tc, 1.0f, n, 0.5f);
        gb_bce_with_logits(&cpu, bl2->cpu, NULL, x->cpu, tc, 0.0f, n, 1.0f);
        for (int i = 0; i < 3; i++) gb_sq_error(&cpu, sl[i]->cpu, sd[i]->cpu, p->cpu, tc, 1.0f, n, divisors[i]);
        GPU_TWICE(&c, {
            gb_bce_with_logits(&gpu, bl->dev, bd->dev, x->dev, tg, 1.0f, n, 0.5f);
            gb_bce_with_logits(&gpu, bl2->dev, NULL, x->dev, tg, 0.0f, n, 1.0f);
            for (int i = 0; i < 3; i++) gb_sq_error(&gpu, sl[i]->dev, sd[i]->dev, p->dev, tg, 1.0f, n, divisors[i]);
        });
        pc_check(&c, bl, TOL_ONE_ROUNDING), pc_check(&c, bl2, TOL_ONE_ROUNDING);
        pc_check(&c, bd, TOL_CANCEL);
        for (int i = 0; i < 3; i++) pc_check(&c, sl[i], TOL_ONE_ROUNDING), pc_check(&c, sd[i], TOL_BITS);
        pc_end(&c);
        free(xh), free(th), free(ph);
    }
}

Test(cuda_attn_loss, cross_entropy, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t shapes[][2] = {{1, 1}, {5, 3}, {64, 10}, {300, 100}, {7, 1000}};
    for (size_t k = 0; k < 5; k++) {
        seed_rng(9500 + k);
        const size_t rows = shapes[k][0], classes = shapes[k][1], n = rows * classes;
        float *xh = rand_floats(n, -6, 6);
        int32_t *lh = malloc(rows * sizeof *lh);
        cr_assert_not_null(lh);
        for (size_t r = 0; r < rows; r++) lh[r] = (int32_t)(rng_next() % classes);
        pcase c;
        pc_begin(&c, "cross_entropy %zu x %zu", rows, classes);
        pbuf *x = pc_in(&c, "logits", xh, n), *l = pc_in(&c, "labels", lh, rows);
        pbuf *loss = pc_out(&c, "loss", 1), *d = pc_out(&c, "dlogits", n), *loss2 = pc_out(&c, "loss (no grad)", 1);
        gb_cross_entropy(&cpu, loss->cpu, d->cpu, x->cpu, (const int32_t *)l->cpu, rows, classes, 0.8f);
        gb_cross_entropy(&cpu, loss2->cpu, NULL, x->cpu, (const int32_t *)l->cpu, rows, classes, 1.0f);
        GPU_TWICE(&c, {
            gb_cross_entropy(&gpu, loss->dev, d->dev, x->dev, (const int32_t *)l->dev, rows, classes, 0.8f);
            gb_cross_entropy(&gpu, loss2->dev, NULL, x->dev, (const int32_t *)l->dev, rows, classes, 1.0f);
        });
        pc_check(&c, loss, TOL_ONE_ROUNDING), pc_check(&c, loss2, TOL_ONE_ROUNDING);
        pc_check(&c, d, TOL_CANCEL);
        pc_end(&c);
        free(xh), free(lh);
    }
}

Test(cuda_attn_loss, gaussian_kl_and_reparameterize, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t shapes[][2] = {{1, 1}, {7, 16}, {64, 33}, {3, 0}};
    for (size_t k = 0; k < 4; k++) {
        seed_rng(9600 + k);
        const size_t rows = shapes[k][0], cols = shapes[k][1], n = rows * cols;
        float *mh = rand_floats(n, -2, 2), *sh = rand_floats(n, -3, 2), *eh = rand_floats(n, -2, 2);
        float *zh = rand_floats(n, -1, 1);
        pcase c;
        pc_begin(&c, "gaussian_kl %zu x %zu", rows, cols);
        pbuf *mu = pc_in(&c, "mu", mh, n), *ls = pc_in(&c, "log_std", sh, n), *eps = pc_in(&c, "eps", eh, n);
        pbuf *dz = pc_in(&c, "dz", zh, n);
        pbuf *loss = pc_out(&c, "kl loss", 1), *dmu = pc_out(&c, "kl dmu", n), *dls = pc_out(&c, "kl dlog_std", n);
        pbuf *z = pc_out(&c, "z", n), *amu = pc_acc(&c, "reparam dmu (+=)", n), *als = pc_acc(&c, "reparam dlog_std (+=)", n);
        gb_gaussian_kl(&cpu, loss->cpu, dmu->cpu, dls->cpu, mu->cpu, ls->cpu, rows, cols, 0.7f);
        gb_reparameterize_forward(&cpu, z->cpu, mu->cpu, ls->cpu, eps->cpu, n);
        gb_reparameterize_backward(&cpu, amu->cpu, als->cpu, dz->cpu, ls->cpu, eps->cpu, n);
        GPU_TWICE(&c, {
            gb_gaussian_kl(&gpu, loss->dev, dmu->dev, dls->dev, mu->dev, ls->dev, rows, cols, 0.7f);
            gb_reparameterize_forward(&gpu, z->dev, mu->dev, ls->dev, eps->dev, n);
            gb_reparameterize_backward(&gpu, amu->dev, als->dev, dz->dev, ls->dev, eps->dev, n);
        });
        pc_check(&c, loss, TOL_ONE_ROUNDING);
        pc_check(&c, dmu, TOL_BITS);
        pc_check(&c, dls, TOL_ONE_ROUNDING);
        pc_check(&c, z, TOL_CANCEL);
        pc_check(&c, amu, TOL_BITS);
        pc_check(&c, als, TOL_CANCEL);
        pc_end(&c);
        free(mh), free(sh), free(eh), free(zh);
    }
}

/* ---- gradient penalty, clipping ---- */

Test(cuda_attn_loss, gradient_penalty, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t shapes[][2] = {{0, 3}, {1, 1}, {7, 3}, {64, 784}};
    for (size_t k = 0; k < 4; k++) {
        seed_rng(9700 + k);
        const size_t rows = shapes[k][0], cols = shapes[k][1], n = rows * cols;
        float *gh = rand_floats(n, -1, 1);
        if (rows > 1)
            for (size_t j = 0; j < cols; j++) gh[j] = 0.0f; /* a zero-norm row: zero gradient */
        pcase c;
        pc_begin(&c, "gradient_penalty %zu x %zu", rows, cols);
        pbuf *g = pc_in(&c, "g", gh, n), *loss = pc_out(&c, "loss", 1), *dg = pc_out(&c, "dg", n);
        pbuf *loss2 = pc_out(&c, "loss (no grad)", 1);
        gb_gradient_penalty(&cpu, loss->cpu, dg->cpu, g->cpu, rows, cols, 10.0f);
        gb_gradient_penalty(&cpu, loss2->cpu, NULL, g->cpu, rows, cols, 10.0f);
        GPU_TWICE(&c, {
            gb_gradient_penalty(&gpu, loss->dev, dg->dev, g->dev, rows, cols, 10.0f);
            gb_gradient_penalty(&gpu, loss2->dev, NULL, g->dev, rows, cols, 10.0f);
        });
        pc_check(&c, loss, TOL_ONE_ROUNDING), pc_check(&c, loss2, TOL_ONE_ROUNDING);
        pc_check(&c, dg, TOL_CANCEL);
        pc_end(&c);
        free(gh);
    }
}

Test(cuda_attn_loss, clip_grad_norm, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t sizes[] = {0, 1, 1000, 100003};
    for (size_t k = 0; k < 4; k++)
        for (int clips = 0; clips < 2; clips++) {
            seed_rng(9800 + 2 * k + clips);
            const size_t n = sizes[k];
            float *gh = rand_floats(n, -1, 1);
            double sq = 0.0;
            for (size_t i = 0; i < n; i++) sq += (double)gh[i] * gh[i];
            const float max_norm = (float)(sqrt(sq) * (clips ? 0.5 : 2.0) + (n ? 0.0 : 1.0));
            pcase c;
            pc_begin(&c, "clip_grad_norm n=%zu clips %d", n, clips);
            pbuf *g = pc_add(&c, "grads", PB_ACC, gh, n), *g2 = pc_add(&c, "grads (norm NULL)", PB_ACC, gh, n);
            pbuf *total = pc_out(&c, "total_norm", 1);
            gb_clip_grad_norm(&cpu, g->cpu, n, max_norm, total->cpu);
            gb_clip_grad_norm(&cpu, g2->cpu, n, max_norm, NULL);
            GPU_TWICE(&c, {
                gb_clip_grad_norm(&gpu, g->dev, n, max_norm, total->dev);
                gb_clip_grad_norm(&gpu, g2->dev, n, max_norm, NULL);
            });
            const tol tg = clips ? (tol){8, 0, 1e-44} : TOL_BITS; /* not clipping: untouched */
            pc_check(&c, g, tg), pc_check(&c, g2, tg);
            pc_check(&c, total, TOL_ONE_ROUNDING);
            pc_end(&c);
            free(gh);
        }
}

/* ---- time embeddings ---- */

Test(cuda_attn_loss, embeddings, .fini = close_devices) {
    REQUIRE_GPU();
    const tol t_sum = {4, 1e-10, 0};
    const size_t fourier[][2] = {{1, 1}, {7, 16}, {64, 128}};
    for (size_t k = 0; k < 3; k++) {
        seed_rng(9900 + k);
        const size_t n = fourier[k][0], half = fourier[k][1];
        float *th = rand_floats(n, 0, 1), *wh = rand_floats(half, -60, 60), *gh = rand_floats(n * 2 * half, -1, 1);
        pcase c;
        pc_begin(&c, "fourier n=%zu half=%zu", n, half);
        pbuf *t = pc_in(&c, "t", th, n), *w = pc_in(&c, "w", wh, half), *g = pc_in(&c, "dout", gh, n * 2 * half);
        pbuf *o = pc_out(&c, "out", n * 2 * half), *dt = pc_out(&c, "dt", n);
        gb_fourier_embedding_forward(&cpu, o->cpu, t->cpu, w->cpu, n, half);
        gb_fourier_embedding_backward(&cpu, dt->cpu, g->cpu, t->cpu, w->cpu, n, half);
        GPU_TWICE(&c, {
            gb_fourier_embedding_forward(&gpu, o->dev, t->dev, w->dev, n, half);
            gb_fourier_embedding_backward(&gpu, dt->dev, g->dev, t->dev, w->dev, n, half);
        });
        pc_check(&c, o, TOL_ONE_ROUNDING), pc_check(&c, dt, t_sum);
        pc_end(&c);
        free(th), free(wh), free(gh);
    }
    const size_t sinus[][2] = {{1, 4}, {7, 16}, {64, 128}};
    for (size_t k = 0; k < 3; k++) {
        seed_rng(9950 + k);
        const size_t n = sinus[k][0], dim = sinus[k][1];
        float *th = rand_floats(n, 0, 1000), *gh = rand_floats(n * dim, -1, 1);
        for (size_t i = 0; i < n; i++) th[i] = floorf(th[i]); /* diffusion timesteps */
        pcase c;
        pc_begin(&c, "sinusoidal n=%zu dim=%zu", n, dim);
        pbuf *t = pc_in(&c, "t", th, n), *g = pc_in(&c, "dout", gh, n * dim);
        pbuf *o = pc_out(&c, "out", n * dim), *dt = pc_out(&c, "dt", n);
        gb_sinusoidal_embedding_forward(&cpu, o->cpu, t->cpu, n, dim);
        gb_sinusoidal_embedding_backward(&cpu, dt->cpu, g->cpu, t->cpu, n, dim);
        GPU_TWICE(&c, {
            gb_sinusoidal_embedding_forward(&gpu, o->dev, t->dev, n, dim);
            gb_sinusoidal_embedding_backward(&gpu, dt->dev, g->dev, t->dev, n, dim);
        });
        pc_check(&c, o, TOL_ONE_ROUNDING), pc_check(&c, dt, t_sum);
        pc_end(&c);
        free(th), free(gh);
    }
}

/* ---- coupling ---- */

static void coupling_case(const gb_coupling_shape *sh, int with_dlogdet, uint64_t seed) {
    seed_rng(seed);
    const size_t n = (size_t)sh->batch * sh->channels * sh->height * sh->width, nb = (size_t)sh->batch;
    float *xh = rand_floats(n, -2, 2), *sh_ = rand_floats(n, -2, 2), *th = rand_floats(n, -1, 1);
    float *gh = rand_floats(n, -1, 1), *glh = rand_floats(nb, -1, 1);
    pcase c;
    pc_begin(&c, "coupling %dx%dx%dx%d mask %d invert %d dlogdet %d", sh->batch, sh->channels,
             sh->height, sh->width, (int)sh->mask, sh->invert_mask, with_dlogdet);
    pbuf *x = pc_in(&c, "x", xh, n), *s = pc_in(&c, "s", sh_, n), *t = pc_in(&c, "t", th, n);
    pbuf *dy = pc_in(&c, "dy", gh, n), *dl = pc_in(&c, "dlogdet", glh, nb);
    pbuf *y = pc_out(&c, "y", n), *ld = pc_acc(&c, "logdet (+=)", nb), *y2 = pc_out(&c, "y (logdet NULL)", n);
    pbuf *dx = pc_out(&c, "dx", n), *ds = pc_out(&c, "ds", n), *dt = pc_out(&c, "dt", n);
    pbuf *ds2 = pc_out(&c, "ds (dx, dt NULL)", n), *inv = pc_out(&c, "inverse", n);
    const float *dlc = with_dlogdet ? dl->cpu : NULL, *dlg = with_dlogdet ? dl->dev : NULL;
    gb_coupling_forward(&cpu, y->cpu, ld->cpu, x->cpu, s->cpu, t->cpu, sh);
    gb_coupling_forward(&cpu, y2->cpu, NULL, x->cpu, s->cpu, t->cpu, sh);
    gb_coupling_backward(&cpu, dx->cpu, ds->cpu, dt->cpu, dy->cpu, dlc, x->cpu, s->cpu, sh);
    gb_coupling_backward(&cpu, NULL, ds2->cpu, NULL, dy->cpu, dlc, x->cpu, s->cpu, sh);
    gb_coupling_inverse(&cpu, inv->cpu, x->cpu, s->cpu, t->cpu, sh);
    GPU_TWICE(&c, {
        gb_coupling_forward(&gpu, y->dev, ld->dev, x->dev, s->dev, t->dev, sh);
        gb_coupling_forward(&gpu, y2->dev, NULL, x->dev, s->dev, t->dev, sh);
        gb_coupling_backward(&gpu, dx->dev, ds->dev, dt->dev, dy->dev, dlg, x->dev, s->dev, sh);
        gb_coupling_backward(&gpu, NULL, ds2->dev, NULL, dy->dev, dlg, x->dev, s->dev, sh);
        gb_coupling_inverse(&gpu, inv->dev, x->dev, s->dev, t->dev, sh);
    });
    pc_check(&c, y, TOL_CANCEL), pc_check(&c, y2, TOL_CANCEL), pc_check(&c, ld, TOL_CANCEL);
    pc_check(&c, dx, TOL_ONE_ROUNDING), pc_check(&c, ds, TOL_CANCEL), pc_check(&c, dt, TOL_BITS);
    pc_check(&c, ds2, TOL_CANCEL), pc_check(&c, inv, TOL_CANCEL);
    pc_end(&c);
    free(xh), free(sh_), free(th), free(gh), free(glh);
}

Test(cuda_attn_loss, coupling, .fini = close_devices) {
    REQUIRE_GPU();
    const int shapes[][4] = {{1, 2, 4, 4}, {2, 3, 5, 6}, {3, 4, 8, 8}, {2, 1, 3, 3}, {16, 12, 16, 16}};
    uint64_t seed = 10000;
    for (int k = 0; k < 5; k++)
        for (int v = 0; v < 4; v++) {
            const gb_coupling_shape sh = {shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3],
                                          (v & 1) ? GB_MASK_CHANNEL : GB_MASK_CHECKERBOARD, v >> 1};
            coupling_case(&sh, (int)(seed % 2), seed);
            seed++;
        }
}

#else /* no CUDA backend in this build */

Test(cuda_attn_loss, skipped_without_cuda_build) {
    printf("SKIPPED: no CUDA device (this build has no CUDA backend: nvcc was not found)\n");
    fflush(stdout);
    cr_skip_test("SKIPPED: no CUDA device (no CUDA backend in this build)");
}

#endif
