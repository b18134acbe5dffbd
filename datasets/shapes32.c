/* datasets/shapes32.c - the shapes32 stand-in: scene parameters, signed distances,
 * compositing, and the CIFAR-10 binary writer (datasets/shapes32.h).
 * Tested by tests/test_datasets_synth.c.
 */
#include "datasets/shapes32.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/philox.h"

enum { SHAPE_DISC, SHAPE_SQUARE, SHAPE_TRIANGLE, SHAPE_RING, SHAPE_CROSS, SHAPE_KINDS };

/* Hue centres in degrees: red, yellow, green, blue, magenta. */
static const float family_hue[5] = {0.0f, 55.0f, 120.0f, 215.0f, 295.0f};

const char *const gb_shapes32_class_names[GB_SHAPES32_CLASSES] = {
    "red_disc",     "yellow_square", "green_triangle", "blue_ring",   "magenta_cross",
    "green_disc",   "blue_square",   "magenta_triangle", "red_ring",  "yellow_cross",
};

int gb_shapes32_label(uint64_t index) { return (int)(index % GB_SHAPES32_CLASSES); }

/* Class k: shape k % 5; hue family k % 5 for the first five, shifted by two for the rest,
 * so every shape and every family occurs in exactly two classes. */
static int class_shape(int k) { return k % SHAPE_KINDS; }
static int class_family(int k) { return (k % 5 + (k / 5) * 2) % 5; }

static float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

static void hsv_to_rgb(float h, float s, float v, float rgb[3]) {
    h = fmodf(h, 360.0f);
    if (h < 0.0f) h += 360.0f;
    float c = v * s, hp = h / 60.0f;
    float x = c * (1.0f - fabsf(fmodf(hp, 2.0f) - 1.0f));
    float r = 0, g = 0, b = 0;
    switch ((int)hp) {
    case 0: r = c; g = x; break;
    case 1: r = x; g = c; break;
    case 2: g = c; b = x; break;
    case 3: g = x; b = c; break;
    case 4: r = x; b = c; break;
    default: r = c; b = x; break;
    }
    float m = v - c;
    rgb[0] = r + m;
    rgb[1] = g + m;
    rgb[2] = b + m;
}

static float box_sdf(float x, float y, float bx, float by) {
    float qx = fabsf(x) - bx, qy = fabsf(y) - by;
    float ox = qx > 0 ? qx : 0, oy = qy > 0 ? qy : 0;
    float inside = qx > qy ? qx : qy;
    return sqrtf(ox * ox + oy * oy) + (inside < 0 ? inside : 0);
}

/* Exact signed distance (negative inside) in shape units; every shape spans about [-1, 1]. */
static float shape_sdf(int kind, float x, float y) {
    switch (kind) {
    case SHAPE_DISC: return sqrtf(x * x + y * y) - 1.0f;
    case SHAPE_SQUARE: return box_sdf(x, y, 0.8f, 0.8f);
    case SHAPE_TRIANGLE: { /* equilateral, side 2, centroid at the origin */
        const float k = 1.7320508f;
        float px = fabsf(x) - 1.0f, py = y + 1.0f / k;
        if (px + k * py > 0.0f) {
            float nx = (px - k * py) * 0.5f, ny = (-k * px - py) * 0.5f;
            px = nx;
            py = ny;
        }
        px -= clampf(px, -2.0f, 0.0f);
        float len = sqrtf(px * px + py * py);
        return py > 0 ? -len : len;
    }
    case SHAPE_RING: return fabsf(sqrtf(x * x + y * y) - 0.72f) - 0.28f;
    default: { /* cross: union of two bars */
        float a = box_sdf(x, y, 0.95f, 0.3f), b = box_sdf(x, y, 0.3f, 0.95f);
        return a < b ? a : b;
    }
    }
}

int gb_shapes_render(uint8_t *out, int side, uint64_t seed, int train, uint64_t index) {
    GB_ASSERT(side >= 8 && side <= 4096, "shapes side %d out of range", side);
    int label = gb_shapes32_label(index);
    gb_stream st = gb_stream_openf(seed, "data/shapes32/%s/%llu", train ? "train" : "test",
                                   (unsigned long long)index);
    /* A fixed number of scene draws first, so the noise words always start at the same place. */
    float u[20];
    gb_stream_uniform(&st, u, 20);
    float S = (float)side;

    float bg_a[3], bg_b[3], fg[3];
    hsv_to_rgb(360.0f * u[0], 0.05f + 0.35f * u[1], 0.15f + 0.55f * u[2], bg_a);
    hsv_to_rgb(360.0f * u[3], 0.05f + 0.35f * u[4], 0.15f + 0.55f * u[5], bg_b);
    float grad_angle = 6.2831853f * u[6];
    float gdx = cosf(grad_angle), gdy = sinf(grad_angle);
    float stripe_freq = 0.5f + 2.5f * u[7], stripe_amp = 0.06f * u[8], stripe_phase = 6.2831853f * u[9];
    float noise_amp = 0.02f + 0.08f * u[10];

    int kind = class_shape(label);
    float hue = family_hue[class_family(label)] + 24.0f * (u[11] - 0.5f);
    hsv_to_rgb(hue, 0.65f + 0.35f * u[12], 0.6f + 0.4f * u[13], fg);
    float radius = S * (0.2f + 0.14f * u[14]);           /* 6.4 .. 10.9 px at 32 */
    float margin = radius * 0.9f;
    float cx = margin + (S - 2.0f * margin) * u[15], cy = margin + (S - 2.0f * margin) * u[16];
    float rot = 6.2831853f * u[17];
    float cr = cosf(rot), sr = sinf(rot);
    float shade_dir = 6.2831853f * u[18], shade_amp = 0.15f * u[19];
    float sdx = cosf(shade_dir), sdy = sinf(shade_dir);

    size_t plane = (size_t)side * (size_t)side;
    for (int y = 0; y < side; y++) {
        for (int x = 0; x < side; x++) {
            float px = (float)x + 0.5f, py = (float)y + 0.5f;
            /* background: gradient along (gdx, gdy) across the image, faint stripes across it */
            float t = clampf(0.5f + ((px / S - 0.5f) * gdx + (py / S - 0.5f) * gdy), 0.0f, 1.0f);
            float stripe = stripe_amp * sinf(stripe_phase + 6.2831853f * stripe_freq * (px * gdy - py * gdx) / S);
            /* shape coverage from the distance in pixels */
            float lx = ((px - cx) * cr + (py - cy) * sr) / radius;
            float ly = (-(px - cx) * sr + (py - cy) * cr) / radius;
            float cov = clampf(0.5f - shape_sdf(kind, lx, ly) * radius, 0.0f, 1.0f);
            float shade = 1.0f + shade_amp * (lx * sdx + ly * sdy);
            float n3[3];
            gb_stream_uniform(&st, n3, 3);
            for (int c = 0; c < 3; c++) {
                float bg = bg_a[c] + (bg_b[c] - bg_a[c]) * t + stripe;
                float v = bg + (fg[c] * shade - bg) * cov + noise_amp * (2.0f * n3[c] - 1.0f);
                out[(size_t)c * plane + (size_t)y * side + x] = (uint8_t)lrintf(clampf(v, 0.0f, 1.0f) * 255.0f);
            }
        }
    }
    return label;
}

gb_status gb_shapes_generate(gb_image_set *set, int side, uint64_t seed, int train, uint64_t first, int count) {
    if (side < 8 || side > 4096) return gb_fail(GB_USAGE, "shapes: side %d is outside 8..4096", side);
    GB_TRY(gb_image_set_alloc(set, count, 3, side, side, 1, GB_SHAPES32_CLASSES));
    size_t bytes = gb_image_set_image_bytes(set);
    for (int i = 0; i < count; i++)
        set->labels[i] = gb_shapes_render(set->pixels + (size_t)i * bytes, side, seed, train, first + (uint64_t)i);
    snprintf(set->identity, sizeof set->identity, "synthetic:shapes%d", side);
    set->sha256[0] = '\0';
    return GB_OK;
}

gb_status gb_shapes32_generate(gb_image_set *set, uint64_t seed, int train, uint64_t first, int count) {
    return gb_shapes_generate(set, GB_SHAPES32_SIDE, seed, train, first, count);
}

/* One .bin file: records of label byte + CHW pixels, indices first.. of the split. */
static gb_status write_batch(const char *path, uint64_t seed, int train, uint64_t first, int records) {
    enum { REC = 1 + 3 * GB_SHAPES32_SIDE * GB_SHAPES32_SIDE };
    uint8_t *buf = malloc((size_t)records * REC);
    if (!buf) return gb_fail(GB_ENV, "%s: out of memory for %d records", path, records);
    for (int i = 0; i < records; i++) {
        uint8_t *rec = buf + (size_t)i * REC;
        rec[0] = (uint8_t)gb_shapes_render(rec + 1, GB_SHAPES32_SIDE, seed, train, first + (uint64_t)i);
    }
    gb_status s = gb_atomic_write(path, buf, (size_t)records * REC);
    free(buf);
    return s;
}

gb_status gb_shapes32_write_cifar_bin(const char *dir, uint64_t seed, int records_per_file) {
    if (records_per_file < 1)
        return gb_fail(GB_USAGE, "shapes32: records per file must be at least 1 (got %d)", records_per_file);
    char *sub = NULL, *path = NULL;
    if (asprintf(&sub, "%s/cifar-10-batches-bin", dir) < 0) return gb_fail(GB_ENV, "out of memory");
    gb_status s = gb_mkdirs(sub);
    for (int f = 1; f <= 6 && s == GB_OK; f++) {
        int train = f <= 5;
        int ok = train ? asprintf(&path, "%s/data_batch_%d.bin", sub, f) : asprintf(&path, "%s/test_batch.bin", sub);
        if (ok < 0) {
            path = NULL;
            s = gb_fail(GB_ENV, "out of memory");
            break;
        }
        uint64_t first = train ? (uint64_t)(f - 1) * (uint64_t)records_per_file : 0;
        s = write_batch(path, seed, train, first, records_per_file);
        free(path);
        path = NULL;
    }
    if (s == GB_OK) {
        char meta[512];
        size_t n = 0;
        for (int k = 0; k < GB_SHAPES32_CLASSES; k++)
            n += (size_t)snprintf(meta + n, sizeof meta - n, "%s\n", gb_shapes32_class_names[k]);
        if (asprintf(&path, "%s/batches.meta.txt", sub) < 0) {
            path = NULL;
            s = gb_fail(GB_ENV, "out of memory");
        } else {
            s = gb_atomic_write(path, meta, n);
        }
        free(path);
    }
    free(sub);
    return s;
}
