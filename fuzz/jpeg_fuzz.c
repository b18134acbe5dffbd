/* fuzz/jpeg_fuzz.c - libFuzzer target for gb_jpeg_decode_rgb (datasets/jpeg.c over libjpeg).
 *
 * Decodes the input in memory. Headers claiming between FUZZ_JPEG_MAX_PIXELS and the
 * decoder's own limit are skipped (read first with libjpeg here): libjpeg fills missing
 * or corrupt scan data with grey, so such a file decodes in time linear in its pixels, which
 * in this instrumented build passes the 10 s timeout; headers beyond the decoder's limit
 * are still decoded, to check they are refused. Invariants on success: positive dimensions, a buffer of
 * 3 * height * width bytes (ASan checks the last byte), and for a greyscale file three equal
 * planes (the channel is repeated). Run with `make fuzz`.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "datasets/jpeg.h"
#include "fuzz/fuzz_util.h"

enum { FUZZ_JPEG_MAX_PIXELS = 1 << 22 };

typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf escape;
} header_error;

static void header_error_exit(j_common_ptr cinfo) { longjmp(((header_error *)(void *)cinfo->err)->escape, 1); }
static void header_message(j_common_ptr cinfo, int level) { (void)cinfo, (void)level; }

/* Pixels the header claims, 0 when libjpeg cannot read a header. */
static unsigned long long header_pixels(const uint8_t *data, size_t size) {
    struct jpeg_decompress_struct cinfo;
    header_error err;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = header_error_exit;
    err.mgr.emit_message = header_message;
    if (setjmp(err.escape)) {
        jpeg_destroy_decompress(&cinfo);
        return 0;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    unsigned long long pixels = (unsigned long long)cinfo.image_width * cinfo.image_height;
    jpeg_destroy_decompress(&cinfo);
    return pixels;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned long long claimed = header_pixels(data, size);
    if (claimed > FUZZ_JPEG_MAX_PIXELS && claimed <= GB_IMAGE_MAX_PIXELS) return 0;
    uint8_t *chw;
    int h, w, comps = 0;
    gb_status s = gb_jpeg_decode_rgb("fuzz.jpg", data, size, &chw, &h, &w, &comps);
    if (s != GB_OK) {
        fuzz_check(!chw && gb_last_error()[0], "failure with data or without a message");
        return 0;
    }
    fuzz_check(claimed <= GB_IMAGE_MAX_PIXELS, "a header claiming %llu pixels was decoded", claimed);
    fuzz_check(h > 0 && w > 0 && (comps == 1 || comps == 3), "%dx%d, %d components", h, w, comps);
    size_t plane = (size_t)h * (size_t)w;
    if (comps == 1)
        fuzz_check(memcmp(chw, chw + plane, plane) == 0 && memcmp(chw, chw + 2 * plane, plane) == 0,
                   "greyscale planes differ");
    chw[3 * plane - 1] ^= 1;
    free(chw);
    return 0;
}
