/* fuzz/png_fuzz.c - libFuzzer target for gb_image_decode_rgb on PNG bytes (metrics/fid_protocol.c:
 * libpng with Pillow's convert("RGB") rules), the decoder of every PNG a metric command reads
 * from a folder or a zip archive. JPEG bytes take the path fuzz/jpeg_fuzz.c covers, so inputs
 * without the PNG signature are skipped.
 *
 * Headers claiming more than FUZZ_PNG_MAX_PIXELS but no more than the decoder's limit are
 * skipped: libpng decodes such a file in time linear in its rows, past the 10 s timeout of this
 * instrumented build; headers beyond the limit are still decoded, to check they are refused.
 * Invariants on success: positive dimensions within the limit and a buffer of 3 * height *
 * width bytes (ASan checks the last byte); on failure, no buffer and a message. Run with
 * `make fuzz`.
 */
#include <stdlib.h>
#include <string.h>

#include "datasets/jpeg.h"
#include "fuzz/fuzz_util.h"
#include "metrics/fid_protocol.h"

enum { FUZZ_PNG_MAX_PIXELS = 1 << 22 };

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 8 || memcmp(data, png_signature, 8) != 0) return 0;
    /* IHDR, when it is the first chunk as the format requires: width and height at 16 and 20 */
    unsigned long long claimed = size >= 24 && memcmp(data + 12, "IHDR", 4) == 0
                                     ? (unsigned long long)be32(data + 16) * be32(data + 20)
                                     : 0;
    if (claimed > FUZZ_PNG_MAX_PIXELS && claimed <= GB_IMAGE_MAX_PIXELS) return 0;
    uint8_t *chw;
    int h, w;
    gb_status s = gb_image_decode_rgb(&chw, &h, &w, "fuzz.png", data, size);
    if (s != GB_OK) {
        fuzz_check(!chw && gb_last_error()[0], "failure with data or without a message");
        return 0;
    }
    fuzz_check(h > 0 && w > 0 && (unsigned long long)h * (unsigned long long)w <= GB_IMAGE_MAX_PIXELS, "%dx%d", h, w);
    chw[3 * (size_t)h * (size_t)w - 1] ^= 1;
    free(chw);
    return 0;
}
