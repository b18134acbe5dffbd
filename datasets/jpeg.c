/* datasets/jpeg.c - libjpeg wrappers with per-call error handling (datasets/jpeg.h).
 *
 * libjpeg reports fatal errors through error_exit, which must not return: it longjmps back
 * to the call that owns the state. Tested by tests/test_datasets_images.c. */
#include "datasets/jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr mgr; /* first member: libjpeg hands back a pointer to it */
    jmp_buf escape;
    char message[JMSG_LENGTH_MAX];
} gb_jpeg_error;

static void gb_jpeg_error_exit(j_common_ptr cinfo) {
    gb_jpeg_error *err = (gb_jpeg_error *)(void *)cinfo->err;
    cinfo->err->format_message(cinfo, err->message);
    longjmp(err->escape, 1);
}

/* Warnings are ignored, as Pillow ignores them, except running out of data: libjpeg would
 * invent grey pixels for the missing part, Pillow raises "image file is truncated". */
static void gb_jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) gb_jpeg_error_exit(cinfo);
}

/* A header may claim up to 65500 x 65500 pixels, which would need a 12 GB output buffer for a
 * 200-byte file: GB_IMAGE_MAX_PIXELS (jpeg.h) is where Pillow stops too. */

static void gb_jpeg_error_init(gb_jpeg_error *err) {
    jpeg_std_error(&err->mgr);
    err->mgr.error_exit = gb_jpeg_error_exit;
    err->mgr.emit_message = gb_jpeg_emit_message;
    err->message[0] = 0;
}

gb_status gb_jpeg_decode_rgb(const char *name, const uint8_t *data, size_t n, uint8_t **chw,
                             int *height, int *width, int *components_in_file) {
    *chw = NULL;
    *height = *width = 0;
    struct jpeg_decompress_struct cinfo;
    gb_jpeg_error err;
    gb_jpeg_error_init(&err);
    cinfo.err = &err.mgr;
    /* Written inside the setjmp region and read after a longjmp: must be volatile. */
    uint8_t *volatile row = NULL;
    uint8_t *volatile out = NULL;
    if (setjmp(err.escape)) {
        jpeg_destroy_decompress(&cinfo);
        free(row);
        free(out);
        return gb_fail(GB_INPUT, "%s: not a readable JPEG: %s (the file is corrupt or truncated)",
                       name, err.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    unsigned long long pixels = (unsigned long long)cinfo.image_width * cinfo.image_height;
    if (pixels > GB_IMAGE_MAX_PIXELS) {
        jpeg_destroy_decompress(&cinfo);
        return gb_fail(GB_INPUT, "%s: the header claims %ux%u = %llu pixels, more than the %llu that Pillow "
                                 "accepts (a corrupt file or a decompression bomb)",
                       name, (unsigned)cinfo.image_width, (unsigned)cinfo.image_height, pixels, GB_IMAGE_MAX_PIXELS);
    }
    int comps = cinfo.num_components;
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK || (comps != 1 && comps != 3)) {
        jpeg_destroy_decompress(&cinfo);
        return gb_fail(GB_INPUT, "%s: a %d-component %s JPEG; only greyscale and RGB/YCbCr JPEGs are "
                                 "accepted (convert it to RGB first)",
                       name, comps, cinfo.jpeg_color_space == JCS_YCCK ? "YCCK" : comps == 4 ? "CMYK" : "");
    }
    cinfo.out_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, oc = cinfo.output_components;
    size_t plane = (size_t)w * (size_t)h;
    out = malloc(3 * plane + 1);
    row = malloc((size_t)w * (size_t)oc + 1);
    GB_ASSERT(out && row, "out of memory decoding %s (%dx%d)", name, w, h);
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        for (int c = 0; c < 3; c++) {
            uint8_t *dst = out + c * plane + y * (size_t)w;
            int src_c = oc == 1 ? 0 : c;
            for (int x = 0; x < w; x++) dst[x] = row[(size_t)x * oc + src_c];
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *chw = out;
    *height = h;
    *width = w;
    if (components_in_file) *components_in_file = comps;
    return GB_OK;
}

gb_status gb_jpeg_encode(const char *name, const uint8_t *chw, int channels, int height, int width,
                         int quality, uint8_t **jpeg, size_t *n) {
    GB_ASSERT(channels == 1 || channels == 3, "gb_jpeg_encode: %d channels", channels);
    *jpeg = NULL;
    *n = 0;
    struct jpeg_compress_struct cinfo;
    gb_jpeg_error err;
    gb_jpeg_error_init(&err);
    cinfo.err = &err.mgr;
    unsigned char *volatile buf = NULL;
    unsigned long size = 0;
    uint8_t *volatile row = NULL;
    if (setjmp(err.escape)) {
        jpeg_destroy_compress(&cinfo);
        free(row);
        free(buf);
        return gb_fail(GB_INPUT, "%s: JPEG encoding failed: %s", name, err.message);
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, (unsigned char **)&buf, &size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t plane = (size_t)width * (size_t)height;
    row = malloc((size_t)width * (size_t)channels + 1);
    GB_ASSERT(row, "out of memory encoding %s", name);
    while (cinfo.next_scanline < cinfo.image_height) {
        size_t y = cinfo.next_scanline;
        for (int x = 0; x < width; x++)
            for (int c = 0; c < channels; c++) row[(size_t)x * channels + c] = chw[c * plane + y * width + x];
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(row);
    *jpeg = buf;
    *n = size;
    return GB_OK;
}
