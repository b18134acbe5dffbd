/* tests/test_kernels_cuda_ops.c - CUDA against the CPU backend: elementwise arithmetic,
 * activations (forward, backward, jvp, jvp_backward), FiLM, BatchNorm, GroupNorm, channel
 * LayerNorm, pooling and the layout ops.
 *
 * Harness in tests/cuda_parity.h: guard regions around every device buffer, inputs checked
 * unchanged, outputs poisoned, each GPU op run twice and compared bit for bit (determinism).
 * Shapes include size 0 and 1, odd sizes, batch 1, channels not a multiple of 8, spatial
 * sizes that leave partial blocks, and sizes of many blocks. Every op in this file is
 * compared BITWISE with the CPU backend: the CUDA files transcribe the CPU's float
 * expressions in its operation order with _rn intrinsics (no FMA), the activations use the
 * same vmath polynomials (kernels/cuda/vmath.cuh), and the double reductions reproduce the
 * CPU's order (vmath lanes, per-channel / per-position sequential sums). Why each is exact
 * is in tests/tolerances.md ("CUDA backend parity"). Without a GPU every test is skipped.
 */
#include "tests/cuda_parity.h"

#ifdef GB_HAVE_CUDA

/* ---- elementwise ---- */

Test(cuda_ops, elementwise_bitwise, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t sizes[] = {0, 1, 7, 1000, 100003};
    for (size_t k = 0; k < 5; k++) {
        const size_t n = sizes[k];
        seed_rng(1000 + k);
        float *ah = rand_floats(n, -3, 3), *bh = rand_floats(n, -3, 3);
        pcase c;
        pc_begin(&c, "elementwise n=%zu", n);
        pbuf *a = pc_in(&c, "a", ah, n), *b = pc_in(&c, "b", bh, n);
        pbuf *fill = pc_out(&c, "fill", n), *add = pc_out(&c, "add", n), *mul = pc_out(&c, "mul", n);
        pbuf *axpy = pc_acc(&c, "axpy", n), *scale = pc_out(&c, "scale_by", n);
        gb_fill(&cpu, fill->cpu, -2.75f, n);
        gb_add(&cpu, add->cpu, a->cpu, b->cpu, n);
        gb_mul(&cpu, mul->cpu, a->cpu, b->cpu, n);
        gb_axpy(&cpu, axpy->cpu, -0.7f, a->cpu, n);
        gb_scale_by(&cpu, scale->cpu, 1.3f, b->cpu, n);
        GPU_TWICE(&c, {
            gb_fill(&gpu, fill->dev, -2.75f, n);
            gb_add(&gpu, add->dev, a->dev, b->dev, n);
            gb_mul(&gpu, mul->dev, a->dev, b->dev, n);
            gb_axpy(&gpu, axpy->dev, -0.7f, a->dev, n);
            gb_scale_by(&gpu, scale->dev, 1.3f, b->dev, n);
        });
        pbuf *outs[] = {fill, add, mul, axpy, scale};
        for (int i = 0; i < 5; i++) pc_check(&c, outs[i], TOL_BITS);
        pc_end(&c);

        /* out aliasing an input */
        pc_begin(&c, "elementwise in place n=%zu", n);
        pbuf *x = pc_add(&c, "x (add in place)", PB_ACC, ah, n), *y = pc_in(&c, "y", bh, n);
        gb_add(&cpu, x->cpu, x->cpu, y->cpu, n);
        GPU_TWICE(&c, gb_add(&gpu, x->dev, x->dev, y->dev, n));
        pc_check(&c, x, TOL_BITS);
        pc_end(&c);
        free(ah), free(bh);
    }
}

/* ---- activations ---- */

/* Random values with the special points of every kind's branches and tails. */
static float *activation_inputs(size_t n, float lo, float hi) {
    static const float special[] = {0.0f,   -0.0f,  1e-40f, -1e-40f, 1e-30f, -0.55f, 0.55f,
                                    0.5499f, 19.99f, 20.0f, 20.01f, -20.0f, 9.5f,   -9.5f,
                                    15.0f,  16.0f,  -16.0f, 89.0f,  -89.0f, -104.0f, -110.0f,
                                    INFINITY, -INFINITY, NAN};
    float *x = rand_floats(n, lo, hi);
    const size_t ns = sizeof special / sizeof special[0];
    for (size_t i = 0; i < n && i < ns; i++) x[(i * 7919) % n] = special[i];
    return x;
}

static const char *act_name(gb_act_kind k) {
    static const char *names[] = {"identity", "relu",     "leaky_relu", "tanh",
                                  "sigmoid",  "softplus", "silu",       "gelu"};
    return names[k];
}

static void activation_case(gb_act_kind kind, size_t n, uint64_t seed) {
    seed_rng(seed);
    const gb_activation act = {kind, 0.2f};
    float *xh = activation_inputs(n, -12, 12), *th = rand_floats(n, -2, 2);
    float *gh = rand_floats(n, -2, 2), *gth = rand_floats(n, -2, 2);
    pcase c;
    pc_begin(&c, "%s n=%zu", act_name(kind), n);
    pbuf *x = pc_in(&c, "x", xh, n), *xt = pc_in(&c, "x_t", th, n);
    pbuf *g = pc_in(&c, "dout", gh, n), *gt = pc_in(&c, "dout_t", gth, n);
    pbuf *out = pc_out(&c, "forward", n), *dx = pc_out(&c, "backward", n);
    pbuf *jvp = pc_out(&c, "jvp", n), *jd = pc_out(&c, "jvp_backward dinp", n);
    pbuf *jdt = pc_out(&c, "jvp_backward dinp_t", n), *jd0 = pc_out(&c, "jvp_backward dinp (dout NULL)", n);
    gb_activation_forward(&cpu, out->cpu, x->cpu, n, &act);
    gb_activation_backward(&cpu, dx->cpu, g->cpu, x->cpu, n, &act);
    gb_activation_jvp(&cpu, jvp->cpu, x->cpu, xt->cpu, n, &act);
    gb_activation_jvp_backward(&cpu, jd->cpu, jdt->cpu, g->cpu, gt->cpu, x->cpu, xt->cpu, n, &act);
    gb_activation_jvp_backward(&cpu, jd0->cpu, NULL, NULL, gt->cpu, x->cpu, xt->cpu, n, &act);
    GPU_TWICE(&c, {
        gb_activation_forward(&gpu, out->dev, x->dev, n, &act);
        gb_activation_backward(&gpu, dx->dev, g->dev, x->dev, n, &act);
        gb_activation_jvp(&gpu, jvp->dev, x->dev, xt->dev, n, &act);
        gb_activation_jvp_backward(&gpu, jd->dev, jdt->dev, g->dev, gt->dev, x->dev, xt->dev, n, &act);
        gb_activation_jvp_backward(&gpu, jd0->dev, NULL, NULL, gt->dev, x->dev, xt->dev, n, &act);
    });
    pbuf *outs[] = {out, dx, jvp, jd, jdt, jd0};
    for (int i = 0; i < 6; i++) pc_check(&c, outs[i], TOL_BITS);
    pc_end(&c);
    free(xh), free(th), free(gh), free(gth);
}

Test(cuda_ops, activations_bitwise, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t sizes[] = {1, 37, 4099, 70001};
    for (int k = GB_ACT_IDENTITY; k <= GB_ACT_GELU; k++)
        for (size_t s = 0; s < 4; s++) activation_case((gb_act_kind)k, sizes[s], 2000 + 10 * k + s);
}

/* ---- FiLM ---- */

static void film_case(int batch, int channels, int spatial, int with_scale, int with_shift,
                      uint64_t seed) {
    seed_rng(seed);
    const gb_norm_shape sh = {batch, channels, spatial, 1, 0.0f};
    const size_t planes = (size_t)batch * channels, n = planes * spatial;
    float *xh = rand_floats(n, -2, 2), *sch = rand_floats(planes, -1, 1), *shh = rand_floats(planes, -1, 1);
    float *gh = rand_floats(n, -2, 2);
    pcase c;
    pc_begin(&c, "film %dx%dx%d scale %d shift %d", batch, channels, spatial, with_scale, with_shift);
    pbuf *x = pc_in(&c, "x", xh, n), *sc = pc_in(&c, "scale", sch, planes);
    pbuf *sf = pc_in(&c, "shift", shh, planes), *g = pc_in(&c, "dout", gh, n);
    pbuf *out = pc_out(&c, "out", n), *dx = pc_out(&c, "dinp", n);
    pbuf *dsc = pc_out(&c, "dscale", planes), *dsf = pc_out(&c, "dshift", planes);
    pbuf *dsc2 = pc_out(&c, "dscale (dinp, dshift NULL)", planes);
    const float *scc = with_scale ? sc->cpu : NULL, *sfc = with_shift ? sf->cpu : NULL;
    gb_film_forward(&cpu, out->cpu, x->cpu, scc, sfc, &sh);
    gb_film_backward(&cpu, dx->cpu, dsc->cpu, dsf->cpu, g->cpu, x->cpu, scc, &sh);
    gb_film_backward(&cpu, NULL, dsc2->cpu, NULL, g->cpu, x->cpu, scc, &sh);
    const float *scg = with_scale ? sc->dev : NULL, *sfg = with_shift ? sf->dev : NULL;
    GPU_TWICE(&c, {
        gb_film_forward(&gpu, out->dev, x->dev, scg, sfg, &sh);
        gb_film_backward(&gpu, dx->dev, dsc->dev, dsf->dev, g->dev, x->dev, scg, &sh);
        gb_film_backward(&gpu, NULL, dsc2->dev, NULL, g->dev, x->dev, scg, &sh);
    });
    pbuf *outs[] = {out, dx, dsc, dsf, dsc2};
    for (int i = 0; i < 5; i++) pc_check(&c, outs[i], TOL_BITS);
    pc_end(&c);
    free(xh), free(sch), free(shh), free(gh);
}

Test(cuda_ops, film_bitwise, .fini = close_devices) {
    REQUIRE_GPU();
    const int shapes[][3] = {{1, 1, 1}, {2, 3, 7}, {1, 13, 33}, {3, 5, 1025}, {16, 24, 64}};
    uint64_t seed = 3000;
    for (int k = 0; k < 5; k++)
        for (int v = 0; v < 4; v++)
            film_case(shapes[k][0], shapes[k][1], shapes[k][2], v & 1, v >> 1, seed++);
}

/* ---- normalisation ---- */

/* [batch, channels, spatial] values with a per-channel offset and spread, so the means
 * are far from 0 and the statistics differ per channel. */
static float *norm_inputs(int batch, int channels, int spatial) {
    const size_t n = (size_t)batch * channels * spatial;
    float *x = malloc((n ? n : 1) * sizeof *x);
    cr_assert_not_null(x);
    float *off = rand_floats((size_t)channels, -4, 4), *spread = rand_floats((size_t)channels, 0.5f, 3);
    for (size_t i = 0; i < n; i++) {
        const size_t ch = i / (size_t)spatial % (size_t)channels;
        x[i] = off[ch] + spread[ch] * rng_uniform(-1, 1);
    }
    free(off), free(spread);
    return x;
}

static void batchnorm_case(int batch, int channels, int spatial, int affine, int keep, uint64_t seed) {
    seed_rng(seed);
    const gb_norm_shape sh = {batch, channels, spatial, 1, 1e-5f};
    const size_t C = (size_t)channels, n = (size_t)batch * C * spatial;
    float *xh = norm_inputs(batch, channels, spatial), *gh = rand_floats(n, -1, 1);
    float *gam = rand_floats(C, 0.5f, 1.5f), *bet = rand_floats(C, -1, 1);
    float *rv = rand_floats(C, 0.5f, 2);
    pcase c;
    pc_begin(&c, "batchnorm %dx%dx%d affine %d keep %d", batch, channels, spatial, affine, keep);
    pbuf *x = pc_in(&c, "x", xh, n), *g = pc_in(&c, "dout", gh, n);
    pbuf *ga = pc_in(&c, "gamma", gam, C), *be = pc_in(&c, "beta", bet, C);
    pbuf *out = pc_out(&c, "train out", n), *sm = pc_out(&c, "save_mean", C);
    pbuf *sr = pc_out(&c, "save_rstd", C), *rm = pc_acc(&c, "running_mean", C);
    pbuf *rvar = pc_add(&c, "running_var", PB_ACC, rv, C);
    pbuf *dx = pc_out(&c, "train dinp", n), *dg = pc_acc(&c, "train dgamma", C), *db = pc_acc(&c, "train dbeta", C);
    pbuf *eo = pc_out(&c, "eval out", n), *edx = pc_out(&c, "eval dinp", n);
    pbuf *edg = pc_acc(&c, "eval dgamma", C), *edb = pc_acc(&c, "eval dbeta", C);
    const float *gc = affine ? ga->cpu : NULL, *bc = affine ? be->cpu : NULL;
    const float *gg = affine ? ga->dev : NULL, *bg = affine ? be->dev : NULL;
    /* the backward reads the statistics the forward saved, on each side */
    gb_batchnorm_forward_train(&cpu, out->cpu, sm->cpu, sr->cpu, keep ? rm->cpu : NULL,
                               keep ? rvar->cpu : NULL, x->cpu, gc, bc, &sh, 0.1f);
    gb_batchnorm_backward_train(&cpu, dx->cpu, dg->cpu, db->cpu, g->cpu, x->cpu, gc, sm->cpu,
                                sr->cpu, &sh);
    gb_batchnorm_forward_eval(&cpu, eo->cpu, x->cpu, gc, bc, rm->cpu, rvar->cpu, &sh);
    gb_batchnorm_backward_eval(&cpu, edx->cpu, edg->cpu, edb->cpu, g->cpu, x->cpu, gc, rm->cpu,
                               rvar->cpu, &sh);
    GPU_TWICE(&c, {
        gb_batchnorm_forward_train(&gpu, out->dev, sm->dev, sr->dev, keep ? rm->dev : NULL,
                                   keep ? rvar->dev : NULL, x->dev, gg, bg, &sh, 0.1f);
        gb_batchnorm_backward_train(&gpu, dx->dev, dg->dev, db->dev, g->dev, x->dev, gg, sm->dev,
                                    sr->dev, &sh);
        gb_batchnorm_forward_eval(&gpu, eo->dev, x->dev, gg, bg, rm->dev, rvar->dev, &sh);
        gb_batchnorm_backward_eval(&gpu, edx->dev, edg->dev, edb->dev, g->dev, x->dev, gg, rm->dev,
                                   rvar->dev, &sh);
    });
    for (int i = 4; i < c.count; i++) pc_check(&c, &c.b[i], TOL_BITS);
    pc_end(&c);

    /* NULL gradients are skipped; dinp alone still overwrites */
    pc_begin(&c, "batchnorm %dx%dx%d dinp only", batch, channels, spatial);
    x = pc_in(&c, "x", xh, n), g = pc_in(&c, "dout", gh, n);
    sm = pc_out(&c, "save_mean", C), sr = pc_out(&c, "save_rstd", C);
    dx = pc_out(&c, "dinp", n);
    pbuf *o2 = pc_out(&c, "out", n);
    gb_batchnorm_forward_train(&cpu, o2->cpu, sm->cpu, sr->cpu, NULL, NULL, x->cpu, NULL, NULL, &sh, 0.1f);
    gb_batchnorm_backward_train(&cpu, dx->cpu, NULL, NULL, g->cpu, x->cpu, NULL, sm->cpu, sr->cpu, &sh);
    GPU_TWICE(&c, {
        gb_batchnorm_forward_train(&gpu, o2->dev, sm->dev, sr->dev, NULL, NULL, x->dev, NULL, NULL,
                                   &sh, 0.1f);
        gb_batchnorm_backward_train(&gpu, dx->dev, NULL, NULL, g->dev, x->dev, NULL, sm->dev, sr->dev, &sh);
    });
    for (int i = 2; i < c.count; i++) pc_check(&c, &c.b[i], TOL_BITS);
    pc_end(&c);
    free(xh), free(gh), free(gam), free(bet), free(rv);
}

Test(cuda_ops, batchnorm_bitwise, .fini = close_devices) {
    REQUIRE_GPU();
    const int shapes[][3] = {{1, 3, 7}, {2, 5, 1}, {4, 13, 37}, {1, 1, 1000}, {16, 24, 100}};
    uint64_t seed = 4000;
    for (int k = 0; k < 5; k++)
        for (int v = 0; v < 4; v++) batchnorm_case(shapes[k][0], shapes[k][1], shapes[k][2], v & 1, v >> 1, seed++);
}

static void groupnorm_case(int batch, int channels, int spatial, int groups, int affine, uint64_t seed) {
    seed_rng(seed);
    const gb_norm_shape sh = {batch, channels, spatial, groups, 1e-5f};
    const size_t C = (size_t)channels, n = (size_t)batch * C * spatial, ng = (size_t)batch * groups;
    float *xh = norm_inputs(batch, channels, spatial), *gh = rand_floats(n, -1, 1);
    float *gam = rand_floats(C, 0.5f, 1.5f), *bet = rand_floats(C, -1, 1);
    pcase c;
    pc_begin(&c, "groupnorm %dx%dx%d groups %d affine %d", batch, channels, spatial, groups, affine);
    pbuf *x = pc_in(&c, "x", xh, n), *g = pc_in(&c, "dout", gh, n);
    pbuf *ga = pc_in(&c, "gamma", gam, C), *be = pc_in(&c, "beta", bet, C);
    pbuf *out = pc_out(&c, "out", n), *sm = pc_out(&c, "save_mean", ng), *sr = pc_out(&c, "save_rstd", ng);
    pbuf *dx = pc_out(&c, "dinp", n), *dg = pc_acc(&c, "dgamma", C), *db = pc_acc(&c, "dbeta", C);
    pbuf *dg2 = pc_acc(&c, "dgamma (dinp, dbeta NULL)", C);
    const float *gc = affine ? ga->cpu : NULL, *bc = affine ? be->cpu : NULL;
    const float *gg = affine ? ga->dev : NULL, *bg = affine ? be->dev : NULL;
    gb_groupnorm_forward(&cpu, out->cpu, sm->cpu, sr->cpu, x->cpu, gc, bc, &sh);
    gb_groupnorm_backward(&cpu, dx->cpu, dg->cpu, db->cpu, g->cpu, x->cpu, gc, sm->cpu, sr->cpu, &sh);
    gb_groupnorm_backward(&cpu, NULL, dg2->cpu, NULL, g->cpu, x->cpu, gc, sm->cpu, sr->cpu, &sh);
    GPU_TWICE(&c, {
        gb_groupnorm_forward(&gpu, out->dev, sm->dev, sr->dev, x->dev, gg, bg, &sh);
        gb_groupnorm_backward(&gpu, dx->dev, dg->dev, db->dev, g->dev, x->dev, gg, sm->dev, sr->dev, &sh);
        gb_groupnorm_backward(&gpu, NULL, dg2->dev, NULL, g->dev, x->dev, gg, sm->dev, sr->dev, &sh);
    });
    for (int i = 4; i < c.count; i++) pc_check(&c, &c.b[i], TOL_BITS);
    pc_end(&c);
    free(xh), free(gh), free(gam), free(bet);
}

Test(cuda_ops, groupnorm_bitwise, .fini = close_devices) {
    REQUIRE_GPU();
    const int shapes[][4] = {{1, 4, 7, 2}, {2, 6, 9, 3}, {3, 12, 17, 4}, {2, 5, 3, 5},
                             {2, 6, 5, 1}, {8, 32, 64, 8}, {1, 3, 1, 3}};
    uint64_t seed = 5000;
    for (int k = 0; k < 7; k++)
        for (int affine = 0; affine < 2; affine++)
            groupnorm_case(shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], affine, seed++);
}

static void layernorm_case(int batch, int channels, int spatial, int with_gain, uint64_t seed) {
    seed_rng(seed);
    const gb_norm_shape sh = {batch, channels, spatial, 1, 1e-5f};
    const size_t C = (size_t)channels, n = (size_t)batch * C * spatial, np = (size_t)batch * spatial;
    float *xh = rand_floats(n, -3, 5), *gh = rand_floats(n, -1, 1), *gain = rand_floats(C, 0.5f, 1.5f);
    pcase c;
    pc_begin(&c, "layernorm %dx%dx%d gain %d", batch, channels, spatial, with_gain);
    pbuf *x = pc_in(&c, "x", xh, n), *g = pc_in(&c, "dout", gh, n), *ga = pc_in(&c, "gain", gain, C);
    pbuf *out = pc_out(&c, "out", n), *sm = pc_out(&c, "save_mean", np), *sr = pc_out(&c, "save_rstd", np);
    pbuf *dx = pc_out(&c, "dinp", n), *dg = pc_acc(&c, "dgain", C), *dg2 = pc_acc(&c, "dgain (dinp NULL)", C);
    const float *gc = with_gain ? ga->cpu : NULL, *gg = with_gain ? ga->dev : NULL;
    gb_layernorm_channels_forward(&cpu, out->cpu, sm->cpu, sr->cpu, x->cpu, gc, &sh);
    gb_layernorm_channels_backward(&cpu, dx->cpu, dg->cpu, g->cpu, x->cpu, gc, sm->cpu, sr->cpu, &sh);
    gb_layernorm_channels_backward(&cpu, NULL, dg2->cpu, g->cpu, x->cpu, gc, sm->cpu, sr->cpu, &sh);
    GPU_TWICE(&c, {
        gb_layernorm_channels_forward(&gpu, out->dev, sm->dev, sr->dev, x->dev, gg, &sh);
        gb_layernorm_channels_backward(&gpu, dx->dev, dg->dev, g->dev, x->dev, gg, sm->dev, sr->dev, &sh);
        gb_layernorm_channels_backward(&gpu, NULL, dg2->dev, g->dev, x->dev, gg, sm->dev, sr->dev, &sh);
    });
    for (int i = 3; i < c.count; i++) pc_check(&c, &c.b[i], TOL_BITS);
    pc_end(&c);
    free(xh), free(gh), free(gain);
}

Test(cuda_ops, layernorm_bitwise, .fini = close_devices) {
    REQUIRE_GPU();
    const int shapes[][3] = {{1, 3, 1}, {2, 5, 7}, {3, 13, 130}, {4, 64, 200}, {1, 1, 65}};
    uint64_t seed = 6000;
    for (int k = 0; k < 5; k++)
        for (int gain = 0; gain < 2; gain++) layernorm_case(shapes[k][0], shapes[k][1], shapes[k][2], gain, seed++);
}

/* ---- pooling ---- */

static void pool_case(const gb_pool_shape *sh, uint64_t seed) {
    seed_rng(seed);
    const int oh = gb_pool_out_h(sh), ow = gb_pool_out_w(sh);
    const size_t planes = (size_t)sh->batch * sh->channels;
    const size_t ni = planes * sh->in_height * sh->in_width, no = planes * oh * ow;
    /* small integers: many ties inside a window (argmax must pick the first) */
    float *xh = rand_floats(ni, -3, 3);
    for (size_t i = 0; i < ni; i++) xh[i] = floorf(xh[i]);
    if (ni > 5) xh[ni / 2] = NAN, xh[ni / 3] = -INFINITY;
    float *gh = rand_floats(no, -1, 1), *xa = rand_floats(ni, -2, 2);
    pcase c;
    pc_begin(&c, "pool %dx%dx%dx%d k%dx%d s%dx%d p%dx%d cip %d", sh->batch, sh->channels,
             sh->in_height, sh->in_width, sh->kernel_h, sh->kernel_w, sh->stride_h, sh->stride_w,
             sh->pad_h, sh->pad_w, sh->count_include_pad);
    pbuf *x = pc_in(&c, "x", xh, ni), *xav = pc_in(&c, "x (avg)", xa, ni), *g = pc_in(&c, "dout", gh, no);
    pbuf *mo = pc_out(&c, "max out", no), *am = pc_out(&c, "argmax", no), *mdx = pc_out(&c, "max dinp", ni);
    pbuf *mo2 = pc_out(&c, "max out (argmax NULL)", no);
    pbuf *ao = pc_out(&c, "avg out", no), *adx = pc_out(&c, "avg dinp", ni);
    gb_maxpool2d_forward(&cpu, mo->cpu, (int32_t *)am->cpu, x->cpu, sh);
    gb_maxpool2d_forward(&cpu, mo2->cpu, NULL, x->cpu, sh);
    gb_maxpool2d_backward(&cpu, mdx->cpu, g->cpu, (const int32_t *)am->cpu, sh);
    gb_avgpool2d_forward(&cpu, ao->cpu, xav->cpu, sh);
    gb_avgpool2d_backward(&cpu, adx->cpu, g->cpu, sh);
    GPU_TWICE(&c, {
        gb_maxpool2d_forward(&gpu, mo->dev, (int32_t *)am->dev, x->dev, sh);
        gb_maxpool2d_forward(&gpu, mo2->dev, NULL, x->dev, sh);
        gb_maxpool2d_backward(&gpu, mdx->dev, g->dev, (const int32_t *)am->dev, sh);
        gb_avgpool2d_forward(&gpu, ao->dev, xav->dev, sh);
        gb_avgpool2d_backward(&gpu, adx->dev, g->dev, sh);
    });
    for (int i = 3; i < c.count; i++) pc_check(&c, &c.b[i], TOL_BITS);
    pc_end(&c);
    free(xh), free(gh), free(xa);
}

Test(cuda_ops, pooling_bitwise, .fini = close_devices) {
    REQUIRE_GPU();
    /* batch, channels, h, w, kh, kw, sh, sw, ph, pw, count_include_pad */
    const gb_pool_shape shapes[] = {
        {1, 1, 5, 5, 3, 3, 1, 1, 1, 1, 1},   {2, 3, 7, 9, 3, 3, 2, 2, 1, 1, 1},
        {1, 2, 8, 8, 2, 2, 2, 2, 0, 0, 1},   {2, 5, 11, 6, 3, 3, 3, 3, 0, 0, 0},
        {1, 3, 6, 7, 3, 3, 1, 1, 1, 1, 0},   {3, 4, 9, 9, 5, 5, 2, 2, 2, 2, 1},
        {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1},   {2, 9, 13, 10, 4, 2, 3, 1, 2, 1, 0},
        {8, 16, 32, 32, 3, 3, 2, 2, 1, 1, 0},
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) pool_case(&shapes[k], 7000 + k);
}

/* ---- layout ---- */

Test(cuda_ops, layout_bitwise, .fini = close_devices) {
    REQUIRE_GPU();
    const size_t sums[][2] = {{1, 1}, {7, 49}, {300, 1000}, {3, 0}};
    for (size_t k = 0; k < 4; k++) {
        seed_rng(8000 + k);
        const size_t planes = sums[k][0], spatial = sums[k][1], n = planes * spatial;
        const float scale = spatial ? 1.0f / (float)spatial : 1.0f;
        float *xh = rand_floats(n, -2, 2), *gh = rand_floats(planes, -1, 1);
        pcase c;
        pc_begin(&c, "spatial_sum %zu x %zu", planes, spatial);
        pbuf *x = pc_in(&c, "x", xh, n), *g = pc_in(&c, "dout", gh, planes);
        pbuf *s1 = pc_out(&c, "sum", planes), *sm = pc_out(&c, "mean", planes), *dx = pc_out(&c, "dinp", n);
        gb_spatial_sum_forward(&cpu, s1->cpu, x->cpu, planes, spatial, 1.0f);
        gb_spatial_sum_forward(&cpu, sm->cpu, x->cpu, planes, spatial, scale);
        gb_spatial_sum_backward(&cpu, dx->cpu, g->cpu, planes, spatial, scale);
        GPU_TWICE(&c, {
            gb_spatial_sum_forward(&gpu, s1->dev, x->dev, planes, spatial, 1.0f);
            gb_spatial_sum_forward(&gpu, sm->dev, x->dev, planes, spatial, scale);
            gb_spatial_sum_backward(&gpu, dx->dev, g->dev, planes, spatial, scale);
        });
        for (int i = 2; i < c.count; i++) pc_check(&c, &c.b[i], TOL_BITS);
        pc_end(&c);
        free(xh), free(gh);
    }

    const int ups[][3] = {{1, 1, 1}, {3, 5, 7}, {64, 16, 16}};
    for (size_t k = 0; k < 3; k++) {
        seed_rng(8100 + k);
        const size_t planes = (size_t)ups[k][0];
        const int h = ups[k][1], w = ups[k][2];
        const size_t ni = planes * h * w, no = 4 * ni;
        float *xh = rand_floats(ni, -2, 2), *gh = rand_floats(no, -1, 1);
        pcase c;
        pc_begin(&c, "upsample %zu x %d x %d", planes, h, w);
        pbuf *x = pc_in(&c, "x", xh, ni), *g = pc_in(&c, "dout", gh, no);
        pbuf *o = pc_out(&c, "out", no), *dx = pc_out(&c, "dinp", ni);
        gb_upsample_nearest2x_forward(&cpu, o->cpu, x->cpu, planes, h, w);
        gb_upsample_nearest2x_backward(&cpu, dx->cpu, g->cpu, planes, h, w);
        GPU_TWICE(&c, {
            gb_upsample_nearest2x_forward(&gpu, o->dev, x->dev, planes, h, w);
            gb_upsample_nearest2x_backward(&gpu, dx->dev, g->dev, planes, h, w);
        });
        pc_check(&c, o, TOL_BITS), pc_check(&c, dx, TOL_BITS);
        pc_end(&c);
        free(xh), free(gh);
    }

    const int cats[][4] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {3, 0, 4, 5}, {4, 13, 19, 64}};
    for (size_t k = 0; k < 4; k++) {
        seed_rng(8200 + k);
        const int batch = cats[k][0], ca = cats[k][1], cb = cats[k][2];
        const size_t spatial = (size_t)cats[k][3];
        const size_t na = (size_t)batch * ca * spatial, nb = (size_t)batch * cb * spatial, no = na + nb;
        float *ah = rand_floats(na, -1, 1), *bh = rand_floats(nb, -1, 1), *gh = rand_floats(no, -1, 1);
        pcase c;
        pc_begin(&c, "concat %d x (%d + %d) x %zu", batch, ca, cb, spatial);
        pbuf *a = pc_in(&c, "a", ah, na), *b = pc_in(&c, "b", bh, nb), *g = pc_in(&c, "dout", gh, no);
        pbuf *o = pc_out(&c, "out", no), *da = pc_out(&c, "da", na), *db = pc_out(&c, "db", nb);
        pbuf *db2 = pc_out(&c, "db (da NULL)", nb);
        gb_concat_channels_forward(&cpu, o->cpu, a->cpu, b->cpu, batch, ca, cb, spatial);
        gb_concat_channels_backward(&cpu, da->cpu, db->cpu, g->cpu, batch, ca, cb, spatial);
        gb_concat_channels_backward(&cpu, NULL, db2->cpu, g->cpu, batch, ca, cb, spatial);
        GPU_TWICE(&c, {
            gb_concat_channels_forward(&gpu, o->dev, a->dev, b->dev, batch, ca, cb, spatial);
            gb_concat_channels_backward(&gpu, da->dev, db->dev, g->dev, batch, ca, cb, spatial);
            gb_concat_channels_backward(&gpu, NULL, db2->dev, g->dev, batch, ca, cb, spatial);
        });
        for (int i = 3; i < c.count; i++) pc_check(&c, &c.b[i], TOL_BITS);
        pc_end(&c);
        free(ah), free(bh), free(gh);
    }

    const int sqs[][4] = {{1, 1, 2, 2}, {2, 3, 6, 4}, {3, 5, 10, 14}};
    for (size_t k = 0; k < 3; k++) {
        seed_rng(8300 + k);
        const int batch = sqs[k][0], ch = sqs[k][1], h = sqs[k][2], w = sqs[k][3];
        const size_t n = (size_t)batch * ch * h * w;
        float *xh = rand_floats(n, -1, 1);
        pcase c;
        pc_begin(&c, "squeeze %d x %d x %d x %d", batch, ch, h, w);
        pbuf *x = pc_in(&c, "x", xh, n), *s = pc_out(&c, "squeeze", n), *u = pc_out(&c, "unsqueeze", n);
        gb_squeeze2x_forward(&cpu, s->cpu, x->cpu, batch, ch, h, w);
        gb_unsqueeze2x_forward(&cpu, u->cpu, x->cpu, batch, ch, h, w);
        GPU_TWICE(&c, {
            gb_squeeze2x_forward(&gpu, s->dev, x->dev, batch, ch, h, w);
            gb_unsqueeze2x_forward(&gpu, u->dev, x->dev, batch, ch, h, w);
        });
        pc_check(&c, s, TOL_BITS), pc_check(&c, u, TOL_BITS);
        pc_end(&c);
        free(xh);
    }
}

#else /* no CUDA backend in this build */

Test(cuda_ops, skipped_without_cuda_build) {
    printf("SKIPPED: no CUDA device (this build has no CUDA backend: nvcc was not found)\n");
    fflush(stdout);
    cr_skip_test("SKIPPED: no CUDA device (no CUDA backend in this build)");
}

#endif
