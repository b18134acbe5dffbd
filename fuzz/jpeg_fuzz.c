/* fuzz/jpeg_fuzz.c - libFuzzer target for gb_jpeg_decode_rgb (datasets/jpeg.c over libjpeg).
 *
 * Decodes the input in memory. Invariants on success: positive dimensions, a buffer of
 * 3 * height * width bytes (ASan checks the last byte), and for a greyscale file three equal
 * planes (the channel is repeated). Run with `make fuzz`.
 */
#include <stdlib.h>
#include <string.h>

#include "datasets/jpeg.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *chw;
    int h, w, comps = 0;
    gb_status s = gb_jpeg_decode_rgb("fuzz.jpg", data, size, &chw, &h, &w, &comps);
    if (s != GB_OK) {
        fuzz_check(!chw && gb_last_error()[0], "failure with data or without a message");
        return 0;
    }
    fuzz_check(h > 0 && w > 0 && (comps == 1 || comps == 3), "%dx%d, %d components", h, w, comps);
    size_t plane = (size_t)h * (size_t)w;
    if (comps == 1)
        fuzz_check(memcmp(chw, chw + plane, plane) == 0 && memcmp(chw, chw + 2 * plane, plane) == 0,
                   "greyscale planes differ");
    chw[3 * plane - 1] ^= 1;
    free(chw);
    return 0;
}
