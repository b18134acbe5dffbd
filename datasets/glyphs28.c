/* datasets/glyphs28.c - the glyphs28 stand-in: stroke tables, affine jitter, distance
 * rasteriser, and the gzipped IDX writer (datasets/glyphs28.h).
 * Tested by tests/test_datasets_synth.c.
 */
#include "datasets/glyphs28.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/atomic_file.h"
#include "core/philox.h"

/* A stroke in the unit box (x right, y down, about [-1, 1]): a line from (a, b) to (c, d),
 * or an elliptic arc centred at (a, b) with radii (c, d) from angle t0 to t1 degrees
 * (0 = right, 90 = down, 270 = up; t1 < t0 runs the other way). */
typedef struct {
    char kind; /* 'l' line, 'a' arc, 0 end of the glyph */
    float a, b, c, d, t0, t1;
} stroke;

enum { MAX_STROKES = 4, MAX_POINTS = 128 };

static const stroke glyphs[GB_GLYPHS28_CLASSES][MAX_STROKES] = {
    {{'a', 0.0f, 0.0f, 0.55f, 0.85f, 0, 360}},
    {{'l', 0.05f, -0.85f, 0.05f, 0.85f, 0, 0}, {'l', -0.3f, -0.55f, 0.05f, -0.85f, 0, 0}},
    {{'a', 0.0f, -0.4f, 0.5f, 0.45f, 180, 380}, {'l', 0.47f, -0.25f, -0.55f, 0.85f, 0, 0},
     {'l', -0.55f, 0.85f, 0.6f, 0.85f, 0, 0}},
    {{'a', 0.0f, -0.42f, 0.45f, 0.43f, 200, 450}, {'a', 0.0f, 0.42f, 0.5f, 0.43f, 270, 520}},
    {{'l', 0.3f, -0.85f, -0.6f, 0.35f, 0, 0}, {'l', -0.6f, 0.35f, 0.65f, 0.35f, 0, 0},
     {'l', 0.3f, -0.4f, 0.3f, 0.85f, 0, 0}},
    {{'l', 0.55f, -0.85f, -0.4f, -0.85f, 0, 0}, {'l', -0.4f, -0.85f, -0.45f, -0.1f, 0, 0},
     {'a', 0.0f, 0.35f, 0.5f, 0.48f, 220, 500}},
    {{'a', 0.1f, 0.1f, 0.6f, 0.95f, 250, 160}, {'a', 0.0f, 0.4f, 0.48f, 0.45f, 0, 360}},
    {{'l', -0.55f, -0.85f, 0.6f, -0.85f, 0, 0}, {'l', 0.6f, -0.85f, -0.1f, 0.85f, 0, 0}},
    {{'a', 0.0f, -0.45f, 0.4f, 0.38f, 0, 360}, {'a', 0.0f, 0.4f, 0.5f, 0.45f, 0, 360}},
    {{'a', 0.0f, -0.4f, 0.48f, 0.42f, 0, 360}, {'l', 0.48f, -0.4f, 0.35f, 0.85f, 0, 0}},
};

int gb_glyphs28_label(uint64_t index) { return (int)(index % GB_GLYPHS28_CLASSES); }

static float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* Flatten one stroke into points (unit box); returns how many were written. Arcs take one
 * point per 20 degrees or less. */
static int flatten(const stroke *s, float *xs, float *ys, int room) {
    if (s->kind == 'l') {
        GB_ASSERT(room >= 2, "glyph point buffer too small");
        xs[0] = s->a, ys[0] = s->b, xs[1] = s->c, ys[1] = s->d;
        return 2;
    }
    float span = s->t1 - s->t0;
    int n = (int)ceilf(fabsf(span) / 20.0f);
    if (n < 4) n = 4;
    GB_ASSERT(n + 1 <= room, "glyph point buffer too small");
    for (int i = 0; i <= n; i++) {
        float t = (s->t0 + span * (float)i / (float)n) * 0.017453292f;
        xs[i] = s->a + s->c * cosf(t);
        ys[i] = s->b + s->d * sinf(t);
    }
    return n + 1;
}

/* Distance from (px, py) to the segment (ax, ay)-(bx, by). */
static float seg_dist(float px, float py, float ax, float ay, float bx, float by) {
    float dx = bx - ax, dy = by - ay, wx = px - ax, wy = py - ay;
    float len2 = dx * dx + dy * dy;
    float t = len2 > 0.0f ? clampf((wx * dx + wy * dy) / len2, 0.0f, 1.0f) : 0.0f;
    float ex = wx - t * dx, ey = wy - t * dy;
    return sqrtf(ex * ex + ey * ey);
}

int gb_glyphs28_render(uint8_t *out, uint64_t seed, int train, uint64_t index) {
    enum { S = GB_GLYPHS28_SIDE };
    int label = gb_glyphs28_label(index);
    gb_stream st = gb_stream_openf(seed, "data/glyphs28/%s/%llu", train ? "train" : "test",
                                   (unsigned long long)index);
    float u[10];
    gb_stream_uniform(&st, u, 10);
    /* Affine map unit box -> pixels: p = c + A q, A = scale * R(rot) * shear * aspect. */
    float scale = 8.5f + 2.0f * u[0];                 /* pixels per unit: glyph height 14..18 px */
    float aspect = 0.8f + 0.35f * u[1];
    float rot = 0.5f * (u[2] - 0.5f);                  /* +-14 degrees */
    float shear = 0.5f * (u[3] - 0.5f);
    float cx = 14.0f + 3.0f * (u[4] - 0.5f), cy = 14.0f + 3.0f * (u[5] - 0.5f);
    float half_width = 0.9f + 0.8f * u[6];             /* strokes 1.8 .. 3.4 px wide */
    float peak = 0.85f + 0.15f * u[7];
    float jitter = 0.03f + 0.05f * u[8];
    float cr = cosf(rot), sr = sinf(rot);
    float a11 = scale * aspect * cr, a12 = scale * (cr * shear - sr);
    float a21 = scale * aspect * sr, a22 = scale * (sr * shear + cr);

    float dist[S * S];
    for (int i = 0; i < S * S; i++) dist[i] = 1e9f;
    /* Flatten, wobble and map every stroke first, so the glyph can be kept inside the image. */
    float xs[MAX_STROKES][MAX_POINTS], ys[MAX_STROKES][MAX_POINTS];
    int npts[MAX_STROKES] = {0};
    float reach = half_width + 1.0f; /* farthest a lit pixel centre lies from a stroke */
    float bx0 = 1e9f, bx1 = -1e9f, by0 = 1e9f, by1 = -1e9f;
    for (int k = 0; k < MAX_STROKES && glyphs[label][k].kind; k++) {
        int n = npts[k] = flatten(&glyphs[label][k], xs[k], ys[k], MAX_POINTS);
        /* Each stroke gets one smooth wobble (a random offset at each end, blended along it). */
        float j[4];
        gb_stream_uniform(&st, j, 4);
        for (int i = 0; i < n; i++) {
            float t = n > 1 ? (float)i / (float)(n - 1) : 0.0f;
            float qx = xs[k][i] + jitter * ((1 - t) * (2 * j[0] - 1) + t * (2 * j[2] - 1));
            float qy = ys[k][i] + jitter * ((1 - t) * (2 * j[1] - 1) + t * (2 * j[3] - 1));
            xs[k][i] = cx + a11 * qx + a12 * qy;
            ys[k][i] = cy + a21 * qx + a22 * qy;
            bx0 = fminf(bx0, xs[k][i]), bx1 = fmaxf(bx1, xs[k][i]);
            by0 = fminf(by0, ys[k][i]), by1 = fmaxf(by1, ys[k][i]);
        }
    }
    /* Shift back inside a 1-pixel black frame when the jitter pushed the glyph out (as MNIST,
     * no stroke is ever cut by the border). */
    float sx = 0.0f, sy = 0.0f, lo = 1.0f + reach, hi = (float)S - 1.0f - reach;
    if (bx0 < lo) sx = lo - bx0;
    else if (bx1 > hi) sx = hi - bx1;
    if (by0 < lo) sy = lo - by0;
    else if (by1 > hi) sy = hi - by1;
    for (int k = 0; k < MAX_STROKES && npts[k]; k++) {
        int n = npts[k];
        for (int i = 0; i < n; i++) xs[k][i] += sx, ys[k][i] += sy;
        /* Only the pixels within reach of a segment's bounding box can change. */
        for (int i = 0; i + 1 < n; i++) {
            const float *x_ = xs[k], *y_ = ys[k];
            int x0 = (int)floorf(fminf(x_[i], x_[i + 1]) - reach), x1 = (int)ceilf(fmaxf(x_[i], x_[i + 1]) + reach);
            int y0 = (int)floorf(fminf(y_[i], y_[i + 1]) - reach), y1 = (int)ceilf(fmaxf(y_[i], y_[i + 1]) + reach);
            if (x0 < 0) x0 = 0;
            if (y0 < 0) y0 = 0;
            if (x1 > S - 1) x1 = S - 1;
            if (y1 > S - 1) y1 = S - 1;
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++) {
                    float d = seg_dist((float)x + 0.5f, (float)y + 0.5f, x_[i], y_[i], x_[i + 1], y_[i + 1]);
                    if (d < dist[y * S + x]) dist[y * S + x] = d;
                }
        }
    }
    for (int i = 0; i < S * S; i++)
        out[i] = (uint8_t)lrintf(255.0f * peak * clampf(half_width + 0.5f - dist[i], 0.0f, 1.0f));
    return label;
}

gb_status gb_glyphs28_generate(gb_image_set *set, uint64_t seed, int train, uint64_t first, int count) {
    GB_TRY(gb_image_set_alloc(set, count, 1, GB_GLYPHS28_SIDE, GB_GLYPHS28_SIDE, 1, GB_GLYPHS28_CLASSES));
    size_t bytes = gb_image_set_image_bytes(set);
    for (int i = 0; i < count; i++)
        set->labels[i] = gb_glyphs28_render(set->pixels + (size_t)i * bytes, seed, train, first + (uint64_t)i);
    snprintf(set->identity, sizeof set->identity, "synthetic:glyphs28");
    set->sha256[0] = '\0';
    return GB_OK;
}

gb_status gb_gzip_buffer(const void *data, size_t n, uint8_t **out, size_t *out_n) {
    *out = NULL;
    *out_n = 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16: a gzip wrapper; zlib writes mtime 0 and no name, so output is stable. */
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return gb_fail(GB_ENV, "gzip: zlib deflateInit2 failed");
    uLong bound = deflateBound(&z, (uLong)n);
    uint8_t *buf = malloc(bound);
    if (!buf) {
        deflateEnd(&z);
        return gb_fail(GB_ENV, "gzip: out of memory for %lu bytes", (unsigned long)bound);
    }
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    size_t produced = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return gb_fail(GB_ENV, "gzip: zlib deflate failed (%d)", rc);
    }
    *out = buf;
    *out_n = produced;
    return GB_OK;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static gb_status write_gz(const char *dir, const char *name, const uint8_t *raw, size_t n) {
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0) return gb_fail(GB_ENV, "out of memory");
    uint8_t *gz = NULL;
    size_t gz_n = 0;
    gb_status s = gb_gzip_buffer(raw, n, &gz, &gz_n);
    if (s == GB_OK) s = gb_atomic_write(path, gz, gz_n);
    free(gz);
    free(path);
    return s;
}

/* One split: the images file (16-byte header) and the labels file (8-byte header). */
static gb_status write_split(const char *dir, uint64_t seed, int train, int count) {
    enum { PIX = GB_GLYPHS28_SIDE * GB_GLYPHS28_SIDE };
    size_t img_n = 16 + (size_t)count * PIX, lab_n = 8 + (size_t)count;
    uint8_t *img = malloc(img_n), *lab = malloc(lab_n);
    if (!img || !lab) {
        free(img);
        free(lab);
        return gb_fail(GB_ENV, "glyphs28: out of memory for %d images", count);
    }
    put_be32(img, 0x00000803u);
    put_be32(img + 4, (uint32_t)count);
    put_be32(img + 8, GB_GLYPHS28_SIDE);
    put_be32(img + 12, GB_GLYPHS28_SIDE);
    put_be32(lab, 0x00000801u);
    put_be32(lab + 4, (uint32_t)count);
    for (int i = 0; i < count; i++)
        lab[8 + i] = (uint8_t)gb_glyphs28_render(img + 16 + (size_t)i * PIX, seed, train, (uint64_t)i);
    const char *pre = train ? "train" : "t10k";
    char img_name[64], lab_name[64];
    snprintf(img_name, sizeof img_name, "%s-images-idx3-ubyte.gz", pre);
    snprintf(lab_name, sizeof lab_name, "%s-labels-idx1-ubyte.gz", pre);
    gb_status s = write_gz(dir, img_name, img, img_n);
    if (s == GB_OK) s = write_gz(dir, lab_name, lab, lab_n);
    free(img);
    free(lab);
    return s;
}

gb_status gb_glyphs28_write_idx(const char *dir, uint64_t seed, int train_count, int test_count) {
    if (train_count < 1 || test_count < 1)
        return gb_fail(GB_USAGE, "glyphs28: image counts must be at least 1 (got %d train, %d test)",
                       train_count, test_count);
    GB_TRY(gb_mkdirs(dir));
    GB_TRY(write_split(dir, seed, 1, train_count));
    return write_split(dir, seed, 0, test_count);
}
