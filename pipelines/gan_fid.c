/* pipelines/gan_fid.c - FID of generated images against the training set (gan_fid.h). */
#include "gan_fid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"

#define FID_CHUNK 16

/* Features of `count` images produced one at a time by `get` into f->rgb, accumulated. */
typedef void (*image_fn)(void *self, size_t i, float *rgb);

static gb_status accumulate(gan_fid *f, gb_fid_accum *acc, size_t count, int h, int w, image_fn get, void *self) {
    const size_t in = 3 * (size_t)GB_INCEPTION_SIZE * GB_INCEPTION_SIZE;
    for (size_t at = 0; at < count; at += f->chunk) {
        size_t k = count - at < f->chunk ? count - at : f->chunk;
        for (size_t i = 0; i < k; i++) {
            get(self, at + i, f->rgb);
            GB_TRY(gb_fid_preprocess_f32(f->protocol, f->pre + i * in, f->rgb, h, w));
        }
        gb_inception_forward(&f->net, f->pool, NULL, f->pre, k);
        GB_TRY(gb_fid_accum_add(acc, f->pool, k));
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

static gb_status stats_of(gan_fid *f, gb_fid_stats *out, size_t n, int h, int w, source *src) {
    gb_fid_accum acc;
    GB_TRY(gb_fid_accum_init(&acc, GB_INCEPTION_FEATURES));
    gb_status s = accumulate(f, &acc, n, h, w, get_image, src);
    if (s == GB_OK) s = gb_fid_accum_finish(&acc, out);
    gb_fid_accum_free(&acc);
    return s;
}

gb_status gan_fid_open(gan_fid *f, gan_run *r, gb_fid_protocol protocol, size_t n_ref) {
    memset(f, 0, sizeof *f);
    f->protocol = protocol;
    char path[1200];
    snprintf(path, sizeof path, "%s/weights/%s", r->ctx->opt->data_dir, GB_INCEPTION_FILE);
    if (access(path, F_OK) != 0) {
        snprintf(f->reason, sizeof f->reason, "Inception-v3 weights absent from %.100s/weights", r->ctx->opt->data_dir);
        return GB_OK;
    }
    f->n_ref = n_ref && n_ref < r->n ? n_ref : r->n;
    f->chunk = FID_CHUNK;
    GB_TRY(gb_inception_load(&f->net, r->ctx->dev, path, NULL, f->chunk));
    f->pre = malloc(f->chunk * 3 * (size_t)GB_INCEPTION_SIZE * GB_INCEPTION_SIZE * sizeof(float));
    f->pool = malloc(f->chunk * GB_INCEPTION_FEATURES * sizeof(float));
    f->rgb = malloc(3 * (size_t)r->h * (size_t)r->w * sizeof(float));
    GB_ASSERT(f->pre && f->pool && f->rgb, "out of host memory");
    gb_info("FID: %s protocol, weights sha256 %.16s..., statistics of %zu training images", gb_fid_protocol_name(protocol),
            f->net.sha256, f->n_ref);
    source src = {.u8 = r->data.pixels, .c = r->c, .plane = (size_t)r->h * (size_t)r->w};
    gb_status s = stats_of(f, &f->real, f->n_ref, r->h, r->w, &src);
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
    gb_status s = stats_of(f, &gen, n, h, w, &src);
    if (s == GB_OK) s = gb_fid_from_stats(fid, &gen, &f->real);
    gb_fid_stats_free(&gen);
    return s;
}

void gan_fid_free(gan_fid *f) {
    if (f->net.params) gb_inception_free(&f->net);
    gb_fid_stats_free(&f->real);
    free(f->pre);
    free(f->pool);
    free(f->rgb);
    memset(f, 0, sizeof *f);
}
