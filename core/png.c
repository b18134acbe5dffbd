/* core/png.c - PNG encode/decode through libpng's low-level API, atomic PNG files, image grids.
 *
 * libpng reports errors by longjmp. Each setjmp lives in a small function (gb_png_*_body) that
 * modifies no local after setjmp, and everything that must be freed on the error path is held
 * in a context struct owned by the caller, so no local can be clobbered and nothing leaks.
 * Tested by tests/test_plot.c.
 */
#include "core/png.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

/* Decoding refuses larger images so a corrupt header cannot ask for gigabytes. */
#define GB_PNG_MAX_SIDE 16384

typedef struct {
    char msg[256];
} gb_png_error;

static void gb_png_on_error(png_structp png, png_const_charp msg) {
    gb_png_error *err = png_get_error_ptr(png);
    snprintf(err->msg, sizeof err->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void gb_png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    gb_debug("libpng: %s", msg);
}

static gb_status gb_png_check_size(int width, int height, const char *what) {
    if (width <= 0 || height <= 0 || width > GB_PNG_MAX_SIDE || height > GB_PNG_MAX_SIDE)
        return gb_fail(GB_USAGE, "%s: image size %dx%d is outside 1..%d per side", what, width,
                       height, GB_PNG_MAX_SIDE);
    return GB_OK;
}

/* ---- encode ------------------------------------------------------------------------------- */

typedef struct {
    uint8_t *buf; /* [cap] */
    size_t len, cap;
} gb_png_sink;

static void gb_png_sink_write(png_structp png, png_bytep data, png_size_t n) {
    gb_png_sink *s = png_get_io_ptr(png);
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n) cap *= 2;
        uint8_t *b = realloc(s->buf, cap);
        if (!b) png_error(png, "out of memory growing the output buffer");
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
}

static void gb_png_sink_flush(png_structp png) { (void)png; }

static int gb_png_encode_body(png_structp png, png_infop info, gb_png_sink *sink,
                              const uint8_t *rgb, int width, int height) {
    if (setjmp(png_jmpbuf(png))) return 0;
    png_set_write_fn(png, sink, gb_png_sink_write, gb_png_sink_flush);
    /* Fixed settings: the bytes depend only on the pixels (and the zlib build). */
    png_set_compression_level(png, 6);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, rgb + (size_t)y * (size_t)width * 3);
    png_write_end(png, NULL);
    return 1;
}

gb_status gb_png_encode_rgb(uint8_t **bytes, size_t *n, const uint8_t *rgb, int width, int height) {
    GB_ASSERT(bytes && n && rgb, "null argument");
    GB_TRY(gb_png_check_size(width, height, "PNG encode"));
    gb_png_error err = {""};
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, &err, gb_png_on_error, gb_png_on_warning);
    if (!png) return gb_fail(GB_ENV, "PNG encode: libpng could not allocate its state");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return gb_fail(GB_ENV, "PNG encode: libpng could not allocate its state");
    }
    gb_png_sink sink = {NULL, 0, 0};
    int ok = gb_png_encode_body(png, info, &sink, rgb, width, height);
    png_destroy_write_struct(&png, &info);
    if (!ok) {
        free(sink.buf);
        return gb_fail(GB_ENV, "PNG encode of a %dx%d image: %s", width, height, err.msg);
    }
    *bytes = sink.buf;
    *n = sink.len;
    return GB_OK;
}

/* ---- atomic file write -------------------------------------------------------------------- */

/* "<dir>/.<base>.tmp.<pid>" next to path, so the rename stays within one file system. */
static char *gb_png_temp_name(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp) return NULL;
    snprintf(tmp, cap, "%.*s.%s.tmp.%ld", (int)dir_len, path, base, (long)getpid());
    return tmp;
}

/* Makes the rename itself durable; a failure here is logged, since the data is already safe
 * in the renamed file on every file system that lets us open the directory at all. */
static void gb_png_sync_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0) gb_debug("fsync of directory %s: %s", dir, strerror(errno));
    if (fd >= 0) close(fd);
}

static gb_status gb_png_write_file(const char *path, const uint8_t *bytes, size_t n) {
    const char *slash = strrchr(path, '/');
    if (path[0] == '\0' || (slash && slash[1] == '\0'))
        return gb_fail(GB_USAGE, "PNG output path '%s' names no file; give a path like dir/plot.png",
                       path);
    char *tmp = gb_png_temp_name(path);
    if (!tmp) return gb_fail(GB_ENV, "%s: out of memory", path);
    const char *step = "create";
    FILE *f = fopen(tmp, "wb");
    if (!f) goto fail;
    step = "write";
    if (fwrite(bytes, 1, n, f) != n || fflush(f) != 0) goto fail;
    step = "fsync";
    if (fsync(fileno(f)) != 0) goto fail;
    step = "close";
    int rc = fclose(f);
    f = NULL;
    if (rc != 0) goto fail;
    step = "rename";
    if (rename(tmp, path) != 0) goto fail;
    free(tmp);
    gb_png_sync_dir(path);
    return GB_OK;
fail:;
    int e = errno;
    if (f) fclose(f);
    unlink(tmp);
    gb_status s = gb_fail(GB_ENV,
                          "cannot write PNG %s (%s of temporary file %s failed: %s); check that "
                          "the directory exists and is writable and the disk is not full",
                          path, step, tmp, strerror(e));
    free(tmp);
    return s;
}

gb_status gb_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height) {
    GB_ASSERT(path && rgb, "null argument");
    uint8_t *bytes = NULL;
    size_t n = 0;
    gb_status s = gb_png_encode_rgb(&bytes, &n, rgb, width, height);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", path);
    s = gb_png_write_file(path, bytes, n);
    free(bytes);
    return s;
}

/* ---- decode ------------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *bytes; /* [n] */
    size_t n, pos;
    uint8_t *rgba;        /* [h, w, 4], freed by the caller on both paths */
    png_bytep *rows;      /* [h] */
    int width, height;
} gb_png_source;

static void gb_png_source_read(png_structp png, png_bytep out, png_size_t n) {
    gb_png_source *s = png_get_io_ptr(png);
    if (n > s->n - s->pos) png_error(png, "stream truncated");
    memcpy(out, s->bytes + s->pos, n);
    s->pos += n;
}

static int gb_png_decode_body(png_structp png, png_infop info, gb_png_source *src) {
    if (setjmp(png_jmpbuf(png))) return 0;
    png_set_read_fn(png, src, gb_png_source_read);
    png_set_user_limits(png, GB_PNG_MAX_SIDE, GB_PNG_MAX_SIDE);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, color;
    png_get_IHDR(png, info, &w, &h, &depth, &color, NULL, NULL, NULL);
    /* Normalise every colour type to RGBA8; alpha is composited by the caller. */
    png_set_expand(png);
    png_set_scale_16(png);
    if (!(color & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4)
        png_error(png, "unexpected row size after conversion to RGBA8");
    src->width = (int)w;
    src->height = (int)h;
    src->rgba = malloc((size_t)w * h * 4);
    src->rows = malloc(sizeof *src->rows * h);
    if (!src->rgba || !src->rows) png_error(png, "out of memory for the decoded image");
    for (png_uint_32 y = 0; y < h; y++) src->rows[y] = src->rgba + (size_t)y * w * 4;
    png_read_image(png, src->rows);
    png_read_end(png, NULL);
    return 1;
}

gb_status gb_png_decode_rgb(uint8_t **rgb, int *width, int *height, const uint8_t *bytes, size_t n) {
    GB_ASSERT(rgb && width && height && (bytes || n == 0), "null argument");
    if (n < 8 || png_sig_cmp(bytes, 0, 8) != 0)
        return gb_fail(GB_INPUT, "not a PNG: the first 8 bytes are not the PNG signature");
    gb_png_error err = {""};
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, gb_png_on_error, gb_png_on_warning);
    if (!png) return gb_fail(GB_ENV, "PNG decode: libpng could not allocate its state");
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return gb_fail(GB_ENV, "PNG decode: libpng could not allocate its state");
    }
    gb_png_source src = {bytes, n, 0, NULL, NULL, 0, 0};
    int ok = gb_png_decode_body(png, info, &src);
    png_destroy_read_struct(&png, &info, NULL);
    free(src.rows);
    if (!ok) {
        free(src.rgba);
        return gb_fail(GB_INPUT, "corrupt PNG at or before byte %zu: %s", src.pos, err.msg);
    }
    size_t npix = (size_t)src.width * (size_t)src.height;
    uint8_t *out = malloc(npix * 3);
    if (!out) {
        free(src.rgba);
        return gb_fail(GB_ENV, "PNG decode: out of memory for %dx%d pixels", src.width, src.height);
    }
    /* Over white: c' = (c * a + 255 * (255 - a)) / 255, rounded; exact for a = 255. */
    for (size_t i = 0; i < npix; i++) {
        unsigned a = src.rgba[4 * i + 3];
        for (int c = 0; c < 3; c++)
            out[3 * i + c] = (uint8_t)((src.rgba[4 * i + c] * a + 255u * (255u - a) + 127u) / 255u);
    }
    free(src.rgba);
    *rgb = out;
    *width = src.width;
    *height = src.height;
    return GB_OK;
}

gb_status gb_png_read_rgb(const char *path, uint8_t **rgb, int *width, int *height) {
    GB_ASSERT(path && rgb && width && height, "null argument");
    FILE *f = fopen(path, "rb");
    if (!f) return gb_fail(GB_INPUT, "cannot open PNG %s: %s", path, strerror(errno));
    uint8_t *bytes = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *b = realloc(bytes, cap);
            if (!b) {
                free(bytes);
                fclose(f);
                return gb_fail(GB_ENV, "%s: out of memory reading the file", path);
            }
            bytes = b;
        }
        size_t got = fread(bytes + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        free(bytes);
        return gb_fail(GB_ENV, "%s: read error", path);
    }
    gb_status s = gb_png_decode_rgb(rgb, width, height, bytes, n);
    free(bytes);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", path);
    return GB_OK;
}

/* ---- image grids -------------------------------------------------------------------------- */

static uint8_t gb_grid_byte(float v, float lo, float hi) {
    double t = ((double)v - lo) / ((double)hi - lo);
    if (!(t > 0)) return 0; /* also NaN */
    if (t >= 1) return 255;
    return (uint8_t)floor(t * 255.0 + 0.5);
}

gb_status gb_image_grid_rgb(uint8_t **rgb, int *width, int *height, const float *images, int n,
                            int channels, int h, int w, int cols, float lo, float hi) {
    GB_ASSERT(rgb && width && height && images, "null argument");
    if (n <= 0 || h <= 0 || w <= 0 || cols <= 0)
        return gb_fail(GB_USAGE, "image grid: n=%d h=%d w=%d cols=%d must all be positive", n, h,
                       w, cols);
    if (channels != 1 && channels != 3)
        return gb_fail(GB_USAGE, "image grid: channels=%d; tiles must be greyscale (1) or RGB (3)",
                       channels);
    if (!(hi > lo) || !isfinite(lo) || !isfinite(hi))
        return gb_fail(GB_USAGE, "image grid: value range [%g, %g] must be finite with lo < hi",
                       (double)lo, (double)hi);
    if (cols > n) cols = n;
    int rows = (n + cols - 1) / cols;
    const int b = GB_GRID_BORDER;
    long long gw = (long long)cols * (w + b) + b, gh = (long long)rows * (h + b) + b;
    if (gw > GB_PNG_MAX_SIDE || gh > GB_PNG_MAX_SIDE)
        return gb_fail(GB_USAGE, "image grid: %lldx%lld pixels exceed %d per side; use fewer tiles",
                       gw, gh, GB_PNG_MAX_SIDE);
    uint8_t *out = malloc((size_t)gw * (size_t)gh * 3);
    if (!out) return gb_fail(GB_ENV, "image grid: out of memory");
    memset(out, GB_GRID_BORDER_VALUE, (size_t)gw * (size_t)gh * 3);
    size_t plane = (size_t)h * (size_t)w;
    for (int i = 0; i < n; i++) {
        const float *tile = images + (size_t)i * (size_t)channels * plane; /* [channels, h, w] */
        int x0 = b + (i % cols) * (w + b), y0 = b + (i / cols) * (h + b);
        for (int y = 0; y < h; y++) {
            uint8_t *dst = out + ((size_t)(y0 + y) * (size_t)gw + (size_t)x0) * 3;
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) {
                    int src_c = channels == 3 ? c : 0;
                    dst[3 * x + c] = gb_grid_byte(tile[src_c * plane + (size_t)y * w + x], lo, hi);
                }
        }
    }
    *rgb = out;
    *width = (int)gw;
    *height = (int)gh;
    return GB_OK;
}

gb_status gb_png_write_grid(const char *path, const float *images, int n, int channels, int h, int w,
                            int cols, float lo, float hi) {
    uint8_t *rgb = NULL;
    int gw = 0, gh = 0;
    gb_status s = gb_image_grid_rgb(&rgb, &gw, &gh, images, n, channels, h, w, cols, lo, hi);
    if (s != GB_OK) return gb_fail_wrap(s, "%s", path);
    s = gb_png_write_rgb(path, rgb, gw, gh);
    free(rgb);
    return s;
}
