/* pipelines/gan_fid.c - FID of generated images against the training set (gan_fid.h). */
#include "gan_fid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"

#define FID_CHUNK 16

/* Features of `count` images produced one at a time by `get` into f->rgb, accumulated; those
 * of the first n_keep images are also copied into keep [n_keep, 2048], and when logits is not
 * NULL every image's logits into it [count, 1008]. */
typedef void (*image_fn)(void *self, size_t i, float *rgb);

static gb_status accumulate(gan_fid *f, gb_fid_accum *acc, size_t count, int h, int w, image_fn get, void *self,
                            float *keep, size_t n_keep, float *logits) {
    const size_t in = 3 * (size_t)GB_INCEPTION_SIZE * GB_INCEPTION_SIZE;
    for (size_t at = 0; at < count; at += f->chunk) {
        size_t k = count - at < f->chunk ? count - at : f->chunk;
        for (size_t i = 0; i < k; i++) {
            get(self, at + i, f->rgb);
            GB_TRY(gb_fid_preprocess_f32(f->protocol, f->pre + i * in, f->rgb, h, w));
        }
        gb_inception_forward(&f->net, f->pool, logits ? logits + at * GB_INCEPTION_CLASSES : NULL, f->pre, k);
        GB_TRY(gb_fid_accum_add(acc, f->pool, k));
        if (at < n_keep) {
            size_t rows = n_keep - at < k ? n_keep - at : k;
            memcpy(keep + at * GB_INCEPTION_FEATURES, f->pool, rows * GB_INCEPTION_FEATURES * sizeof(float));
        }
    }
    return GB_OK;
}

typedef struct {
    const uint8_t *u8;
    const float *f01;
    int c;
    size_t plane;
} source;

static void get_image(void *self, size_t i, float *rgb) {
    const source *s = self;
    for (int ch = 0; ch < 3; ch++) {
        int from = s->c == 3 ? ch : 0;
        float *dst = rgb + (size_t)ch * s->plane;
        if (s->u8) {
            const uint8_t *src = s->u8 + (i * (size_t)s->c + (size_t)from) * s->plane;
            for (size_t k = 0; k < s->plane; k++) dst[k] = (float)src[k];
        } else {
            const float *src = s->f01 + (i * (size_t)s->c + (size_t)from) * s->plane;
            for (size_t k = 0; k < s->plane; k++) dst[k] = src[k] * 255.0f;
        }
    }
}

static gb_status stats_of(gan_fid *f, gb_fid_stats *out, const char *label, size_t n, int h, int w, source *src,
                          float *keep, size_t n_keep, float *logits) {
    gb_fid_accum acc;
    GB_TRY(gb_fid_accum_init(&acc, GB_INCEPTION_FEATURES));
    acc.label = label;
    gb_status s = accumulate(f, &acc, n, h, w, get_image, src, keep, n_keep, logits);
    if (s == GB_OK) s = gb_fid_accum_finish(&acc, out);
    gb_fid_accum_free(&acc);
    if (s == GB_OK) gb_fid_stats_warn_few_samples(out);
    return s;
}

gb_status gan_fid_open(gan_fid *f, gan_run *r, gb_fid_protocol protocol, size_t n_ref) {
    memset(f, 0, sizeof *f);
    f->protocol = protocol;
    const gb_run_options *opt = r->ctx->opt;
    char path[1200];
    if (opt->inception_weights) {
        snprintf(path, sizeof path, "%s", opt->inception_weights);
        if (access(path, R_OK) != 0)
            return gb_fail(GB_INPUT, "%s: cannot read the Inception weights given by --inception-weights", path);
    } else {
        snprintf(path, sizeof path, "%s/weights/%s", opt->data_dir, GB_INCEPTION_FILE);
        if (access(path, F_OK) != 0) {
            snprintf(f->reason, sizeof f->reason, "Inception-v3 weights absent from %.100s/weights", opt->data_dir);
            return GB_OK;
        }
    }
    f->n_ref = n_ref && n_ref < r->n ? n_ref : r->n;
    f->n_real_feat = f->n_ref < GAN_FEATURE_CAP ? f->n_ref : GAN_FEATURE_CAP;
    f->kid_seed = r->seed;
    f->chunk = FID_CHUNK;
    GB_TRY(gb_inception_load(&f->net, r->ctx->dev, path, opt->inception_sha256, f->chunk));
    f->net.logits_without_bias = 1; /* the Inception score's logits; pool3 does not depend on it */
    f->pre = malloc(f->chunk * 3 * (size_t)GB_INCEPTION_SIZE * GB_INCEPTION_SIZE * sizeof(float));
    f->pool = malloc(f->chunk * GB_INCEPTION_FEATURES * sizeof(float));
    f->rgb = malloc(3 * (size_t)r->h * (size_t)r->w * sizeof(float));
    f->real_feat = malloc(f->n_real_feat * GB_INCEPTION_FEATURES * sizeof(float));
    GB_ASSERT(f->pre && f->pool && f->rgb && f->real_feat, "out of host memory");
    gb_info("FID: %s protocol, weights sha256 %.16s..., statistics of %zu training images", gb_fid_protocol_name(protocol),
            f->net.sha256, f->n_ref);
    source src = {.u8 = r->data.pixels, .c = r->c, .plane = (size_t)r->h * (size_t)r->w};
    gb_status s =
        stats_of(f, &f->real, "the training images", f->n_ref, r->h, r->w, &src, f->real_feat, f->n_real_feat, NULL);
    if (s != GB_OK) {
        gan_fid_free(f);
        return s;
    }
    f->ready = 1;
    return GB_OK;
}

gb_status gan_fid_images(gan_fid *f, const float *imgs, size_t n, int c, int h, int w, double *fid) {
    GB_ASSERT(f->ready, "FID is not ready");
    source src = {.f01 = imgs, .c = c, .plane = (size_t)h * (size_t)w};
    gb_fid_stats gen = {0};
    gb_status s = stats_of(f, &gen, "the generated samples", n, h, w, &src, NULL, 0, NULL);
    if (s == GB_OK) s = gb_fid_from_stats_on(f->net.dev, fid, &gen, &f->real);
    gb_fid_stats_free(&gen);
    return s;
}

gb_status gan_fid_final(gan_fid *f, const float *imgs, size_t n, int c, int h, int w, gan_fid_scores *out) {
    GB_ASSERT(f->ready, "FID is not ready");
    memset(out, 0, sizeof *out);
    source src = {.f01 = imgs, .c = c, .plane = (size_t)h * (size_t)w};
    out->n_gen_feat = n < GAN_FEATURE_CAP ? n : GAN_FEATURE_CAP;
    out->n_real_feat = f->n_real_feat;
    float *gen_feat = malloc(out->n_gen_feat * GB_INCEPTION_FEATURES * sizeof(float));
    float *gen_logits = malloc(n * GB_INCEPTION_CLASSES * sizeof(float));
    if (!gen_feat || !gen_logits) {
        free(gen_feat);
        free(gen_logits);
        return gb_fail(GB_ENV, "out of memory for %zu generated samples' features and logits", n);
    }
    gb_fid_stats gen = {0};
    gb_status s = stats_of(f, &gen, "the generated samples", n, h, w, &src, gen_feat, out->n_gen_feat, gen_logits);
    if (s == GB_OK) s = gb_fid_from_stats_on(f->net.dev, &out->fid, &gen, &f->real);
    out->is_splits = n < GB_IS_SPLITS ? n : GB_IS_SPLITS;
    if (s == GB_OK)
        s = gb_inception_score_shuffled(&out->is_mean, &out->is_std, gen_logits, n, GB_INCEPTION_CLASSES,
                                        out->is_splits, GB_IS_LOGITS, GB_IS_SHUFFLE_SEED);
    free(gen_logits);
    /* KID's subsets cannot be larger than either set; the usual 1000 when both allow it */
    size_t m = out->n_gen_feat < out->n_real_feat ? out->n_gen_feat : out->n_real_feat;
    if (m > GB_KID_SUBSET_SIZE) m = GB_KID_SUBSET_SIZE;
    if (s == GB_OK)
        s = gb_kid(&out->kid, NULL, gen_feat, out->n_gen_feat, f->real_feat, out->n_real_feat, GB_INCEPTION_FEATURES,
                   GB_KID_SUBSETS, m, f->kid_seed);
    gb_prdc_protocol protocol;
    if (s == GB_OK) s = gb_prdc_protocol_by_name(&protocol, "kynkaanniemi");
    if (s == GB_OK)
        s = gb_prdc(&out->prdc, f->real_feat, out->n_real_feat, gen_feat, out->n_gen_feat, GB_INCEPTION_FEATURES,
                    protocol);
    gb_fid_stats_free(&gen);
    free(gen_feat);
    return s;
}

void gan_fid_free(gan_fid *f) {
    if (f->net.params) gb_inception_free(&f->net);
    gb_fid_stats_free(&f->real);
    free(f->pre);
    free(f->pool);
    free(f->rgb);
    free(f->real_feat);
    memset(f, 0, sizeof *f);
}
