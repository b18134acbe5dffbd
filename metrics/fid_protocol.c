/* metrics/fid_protocol.c - FID preprocessing and image decoding
 * (read fid_protocol.h first). */
#include "metrics/fid_protocol.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "datasets/jpeg.h"
#include "datasets/resize.h"

#define S GB_INCEPTION_SIZE

static const char *const protocol_names[] = {"pytorch-fid", "clean", "legacy-tf"};

const char *gb_fid_protocol_name(gb_fid_protocol p) { return protocol_names[p]; }

gb_status gb_fid_protocol_by_name(gb_fid_protocol *out, const char *name) {
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, protocol_names[i]) == 0) {
            *out = (gb_fid_protocol)i;
            return GB_OK;
        }
    return gb_fail(GB_USAGE, "unknown FID protocol '%s': use pytorch-fid, clean or legacy-tf", name ? name : "(none)");
}

/* ---- resizers ------------------------------------------------------------------------- */

/* PyTorch's upsample_bilinear2d (align_corners=False) source index and weights for one
 * axis, in float as its CUDA kernel computes them (area_pixel_compute_source_index on float:
 * pytorch-fid on a GPU). PyTorch 1.13's CPU kernel forms the weights in double instead; the two
 * part by the float index's rounding, which grows with the input size (tests/tolerances.md). */
static void torch_axis(int *i0, int *i1, float *l0, float *l1, int out_size, int in_size) {
    float scale = (float)in_size / (float)out_size;
    for (int o = 0; o < out_size; o++) {
        float src = scale * ((float)o + 0.5f) - 0.5f;
        if (src < 0) src = 0;
        int lo = (int)src;
        i0[o] = lo;
        i1[o] = lo + (lo < in_size - 1 ? 1 : 0);
        l1[o] = src - (float)lo;
        l0[o] = 1.0f - l1[o];
    }
}

void gb_resize_bilinear_torch(float *out, int out_h, int out_w, const float *in, int in_h, int in_w) {
    int *yi = malloc(sizeof(int) * 2 * (size_t)(out_h + out_w));
    float *yl = malloc(sizeof(float) * 2 * (size_t)(out_h + out_w));
    GB_ASSERT(yi && yl, "out of memory in a resize");
    int *y1 = yi + out_h, *xi = yi + 2 * out_h, *x1 = xi + out_w;
    float *yl1 = yl + out_h, *xl = yl + 2 * out_h, *xl1 = xl + out_w;
    torch_axis(yi, y1, yl, yl1, out_h, in_h);
    torch_axis(xi, x1, xl, xl1, out_w, in_w);
    /* the kernel's order: each row's column blend t = a w0 + b w1, then t0 h0 + t1 h1 */
    for (int y = 0; y < out_h; y++) {
        const float *r0 = in + (size_t)yi[y] * in_w, *r1 = in + (size_t)y1[y] * in_w;
        for (int x = 0; x < out_w; x++) {
            float t0 = r0[xi[x]] * xl[x];
            t0 += r0[x1[x]] * xl1[x];
            float t1 = r1[xi[x]] * xl[x];
            t1 += r1[x1[x]] * xl1[x];
            float v = t0 * yl[y];
            v += t1 * yl1[y];
            out[(size_t)y * out_w + x] = v;
        }
    }
    free(yi);
    free(yl);
}

/* TF1 resize_bilinear, align_corners=False and no half-pixel centres (image_resizer_state.h,
 * resize_bilinear_op.cc): scale = in / out in float, source = dst * scale, lower = floor,
 * upper = min(lower + 1, in - 1), lerp = source - lower. */
static void tf1_axis(int *lo, int *hi, float *t, int out_size, int in_size) {
    float scale = (float)in_size / (float)out_size;
    for (int o = 0; o < out_size; o++) {
        float src = (float)o * scale;
        int l = (int)src;
        lo[o] = l;
        hi[o] = l + 1 < in_size ? l + 1 : in_size - 1;
        t[o] = src - (float)l;
    }
}

void gb_resize_bilinear_tf1(float *out, int out_h, int out_w, const float *in, int in_h, int in_w) {
    int *yl = malloc(sizeof(int) * 2 * (size_t)(out_h + out_w));
    float *yt = malloc(sizeof(float) * (size_t)(out_h + out_w));
    GB_ASSERT(yl && yt, "out of memory in a resize");
    int *yh = yl + out_h, *xl = yl + 2 * out_h, *xh = xl + out_w;
    float *xt = yt + out_h;
    tf1_axis(yl, yh, yt, out_h, in_h);
    tf1_axis(xl, xh, xt, out_w, in_w);
    for (int y = 0; y < out_h; y++) {
        const float *r0 = in + (size_t)yl[y] * in_w, *r1 = in + (size_t)yh[y] * in_w;
        for (int x = 0; x < out_w; x++) {
            float top = r0[xl[x]] + (r0[xh[x]] - r0[xl[x]]) * xt[x];
            float bottom = r1[xl[x]] + (r1[xh[x]] - r1[xl[x]]) * xt[x];
            out[(size_t)y * out_w + x] = top + (bottom - top) * yt[y];
        }
    }
    free(yl);
    free(yt);
}

/* ---- protocols ------------------------------------------------------------------------ */

gb_status gb_fid_preprocess_f32(gb_fid_protocol p, float *out, const float *chw, int h, int w) {
    if (h < 1 || w < 1) return gb_fail(GB_INPUT, "FID preprocessing: empty image (%d x %d)", h, w);
    const size_t in_plane = (size_t)h * w, out_plane = (size_t)S * S;
    float *tmp = malloc(in_plane * sizeof *tmp);
    if (!tmp) return gb_fail(GB_ENV, "out of memory preprocessing a %d x %d image", h, w);
    gb_status s = GB_OK;
    for (int c = 0; c < 3 && s == GB_OK; c++) {
        const float *src = chw + c * in_plane;
        float *dst = out + c * out_plane;
        if (p == GB_FID_PYTORCH_FID) {
            for (size_t i = 0; i < in_plane; i++) tmp[i] = src[i] / 255.0f;
            if (h == S && w == S) memcpy(dst, tmp, out_plane * sizeof *dst);
            else gb_resize_bilinear_torch(dst, S, S, tmp, h, w);
            for (size_t i = 0; i < out_plane; i++) dst[i] = 2.0f * dst[i] - 1.0f;
        } else {
            if (p == GB_FID_CLEAN) {
                s = gb_resize_f32(dst, S, S, src, h, w, GB_RESIZE_BICUBIC);
                for (size_t i = 0; i < out_plane; i++) dst[i] = dst[i] < 0.0f ? 0.0f : dst[i] > 255.0f ? 255.0f : dst[i];
            } else if (h == S && w == S) {
                memcpy(dst, src, out_plane * sizeof *dst);
            } else {
                gb_resize_bilinear_tf1(dst, S, S, src, h, w);
            }
            for (size_t i = 0; i < out_plane; i++) dst[i] = (dst[i] - 128.0f) / 128.0f;
        }
    }
    free(tmp);
    return s;
}

gb_status gb_fid_preprocess_u8(gb_fid_protocol p, float *out, const uint8_t *chw, int h, int w) {
    if (h < 1 || w < 1) return gb_fail(GB_INPUT, "FID preprocessing: empty image (%d x %d)", h, w);
    size_t n = 3 * (size_t)h * w;
    float *f = malloc(n * sizeof *f);
    if (!f) return gb_fail(GB_ENV, "out of memory preprocessing a %d x %d image", h, w);
    for (size_t i = 0; i < n; i++) f[i] = (float)chw[i];
    gb_status s = gb_fid_preprocess_f32(p, out, f, h, w);
    free(f);
    return s;
}

/* ---- decoding --------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t n, pos;
    char why[200];
} png_src;

static void png_read_mem(png_structp png, png_bytep out, png_size_t len) {
    png_src *s = png_get_io_ptr(png);
    if (len > s->n - s->pos) png_error(png, "the file ends early (truncated)");
    memcpy(out, s->data + s->pos, len);
    s->pos += len;
}

static void png_on_error(png_structp png, png_const_charp msg) {
    png_src *s = png_get_error_ptr(png);
    snprintf(s->why, sizeof s->why, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* The bytes of every IDAT chunk of a PNG in memory (a walk over the chunk headers; a chunk
 * running past the end counts up to the end). */
static size_t png_idat_bytes(const uint8_t *data, size_t n) {
    size_t total = 0;
    for (size_t at = 8; at + 8 <= n;) {
        size_t len = (size_t)data[at] << 24 | (size_t)data[at + 1] << 16 | (size_t)data[at + 2] << 8 | data[at + 3];
        size_t avail = n - at - 8;
        if (memcmp(data + at + 4, "IDAT", 4) == 0) total += len < avail ? len : avail;
        if (len > avail) break;
        at += 8 + len + 4;
    }
    return total;
}

/* Pillow's Image.open(p).convert("RGB") for PNG: see the header. */
static gb_status decode_png(uint8_t **chw, int *h, int *w, const char *path, const uint8_t *data, size_t n) {
    png_src src = {.data = data, .n = n};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return gb_fail(GB_ENV, "%s: out of memory decoding a PNG", path);
    }
    uint8_t *volatile rgb = NULL;
    volatile int is_grey16 = 0;
    volatile unsigned long long claimed = 0; /* set when the header claims too many pixels */
    if (setjmp(png_jmpbuf(png))) {
        free(rgb);
        png_destroy_read_struct(&png, &info, NULL);
        if (claimed)
            return gb_fail(GB_INPUT, "%s: the PNG header claims %llu pixels, more than the %llu that Pillow accepts (a "
                                     "corrupt file or a decompression bomb)",
                           path, claimed, GB_IMAGE_MAX_PIXELS);
        if (is_grey16)
            return gb_fail(GB_INPUT, "%s: 16-bit greyscale PNG: Pillow's convert('RGB') clips such images rather than "
                                     "scaling them, so genbench does not guess; save it as 8-bit", path);
        return gb_fail(GB_INPUT, "%s: damaged PNG (%s); re-export the image", path, src.why);
    }
    png_set_read_fn(png, &src, png_read_mem);
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX); /* the pixel count below is the limit */
    /* Only IHDR, PLTE, tRNS, IDAT and IEND change what convert("RGB") returns, so every other
     * chunk libpng knows is skipped unread (unknown ones are skipped anyway). Otherwise libpng
     * allocates an ancillary chunk at its declared length and zeroes it before reading: a
     * 56-byte file declaring a 2 GB zTXt took 2 GB (found by fuzz/png_fuzz.c); its chunk-size
     * limit is only a warning when reading. */
    static const png_byte unused_chunks[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0"
                                            "sCAL\0sPLT\0sRGB\0sTER\0tEXt\0tIME\0zTXt";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, unused_chunks, (int)(sizeof unused_chunks / 5));
    png_read_info(png, info);
    /* a 100-byte file may claim 1,000,000 x 1,000,000 pixels: refused as Pillow refuses it */
    unsigned long long pixels = (unsigned long long)png_get_image_width(png, info) * png_get_image_height(png, info);
    if (pixels > GB_IMAGE_MAX_PIXELS) {
        claimed = pixels;
        png_error(png, "too many pixels");
    }
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    /* Nor may it claim more rows than its image data can inflate to (DEFLATE expands at most
     * 1032:1): a 57-byte file claiming 1 x 178,956,970 pixels would otherwise have 537 MB
     * allocated and libpng's row buffers filled before the data ran out. Pillow fails on such a
     * file too (truncated). */
    size_t idat = png_idat_bytes(data, n), row_bits = (size_t)png_get_image_width(png, info) * depth *
                                                     png_get_channels(png, info);
    double raw = (double)png_get_image_height(png, info) * (double)(1 + (row_bits + 7) / 8);
    if (1032.0 * (double)idat + 1024 < raw)
        png_error(png, "the image data is too short for the image size (truncated)");
    /* 16-bit grey without alpha only: Pillow opens it as 'I;16' and clips. 16-bit grey with
     * alpha it opens as RGBA from the high bytes, as strip_16 does. */
    if (color == PNG_COLOR_TYPE_GRAY && depth == 16) {
        is_grey16 = 1;
        png_error(png, "16-bit grey");
    }
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (!(color & PNG_COLOR_MASK_COLOR) && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    /* Alpha is dropped, never composited, whether it is a channel or comes from a tRNS chunk:
     * libpng's palette expansion turns tRNS into an alpha channel (Pillow's convert("RGB")
     * simply ignores the transparency). A tRNS colour on grey or RGB adds no channel here. */
    if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    if (!(color & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    const int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ww = (int)png_get_image_width(png, info), hh = (int)png_get_image_height(png, info);
    if (png_get_rowbytes(png, info) != (size_t)ww * 3) png_error(png, "unexpected row layout after conversion");
    rgb = malloc((size_t)ww * hh * 3);
    if (!rgb) png_error(png, "out of memory");
    /* row by row, each interlace pass filling in the rows the earlier ones began (what
     * png_read_image does, without its table of hh row pointers) */
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < hh; y++) png_read_row(png, rgb + (size_t)y * ww * 3, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    uint8_t *planar = malloc((size_t)ww * hh * 3);
    if (!planar) {
        free(rgb);
        return gb_fail(GB_ENV, "%s: out of memory", path);
    }
    size_t plane = (size_t)ww * hh;
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) planar[c * plane + i] = rgb[i * 3 + c];
    free(rgb);
    *chw = planar;
    *h = hh;
    *w = ww;
    return GB_OK;
}

gb_status gb_image_decode_rgb(uint8_t **chw, int *h, int *w, const char *name, const uint8_t *data, size_t n) {
    *chw = NULL;
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && memcmp(data, png_magic, 8) == 0) return decode_png(chw, h, w, name, data, n);
    if (n >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        return gb_jpeg_decode_rgb(name, data, n, chw, h, w, NULL);
    return gb_fail(GB_INPUT, "%s: neither a PNG nor a JPEG file (by its first bytes); convert it to PNG", name);
}

gb_status gb_image_load_rgb(uint8_t **chw, int *h, int *w, const char *path) {
    *chw = NULL;
    unsigned char *data;
    size_t n;
    GB_TRY(gb_read_file(path, &data, &n));
    gb_status s = gb_image_decode_rgb(chw, h, w, path, data, n);
    free(data);
    return s;
}
