/* fuzz/image_zip_fuzz.c - libFuzzer target for metrics/image_archive.c: a zip archive of images
 * as the metric commands read one (core/zip_read.c over libzip, then each member through
 * gb_image_decode_rgb).
 *
 * The input is written to a scratch file named in.zip and opened; on success the listing must
 * be non-empty and strictly sorted (so no name twice), and the first FUZZ_ZIP_MAX_IMAGES images
 * are loaded: a success gives positive dimensions and 3 * h * w bytes (ASan checks the last), a
 * failure a message naming the member. Member bytes fail their CRC-32 when mutated, so the
 * decoders themselves are fuzzed by fuzz/png_fuzz.c and fuzz/jpeg_fuzz.c; this target covers
 * the archive's structure and the reading of members. Run with `make fuzz`.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz_util.h"
#include "metrics/image_archive.h"

enum { FUZZ_ZIP_MAX_IMAGES = 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_file("in.zip", data, size);
    gb_image_archive *a;
    if (gb_image_archive_open(&a, path) != GB_OK) {
        fuzz_check(gb_last_error()[0], "failure without a message");
        return 0;
    }
    size_t n = gb_image_archive_count(a);
    fuzz_check(n > 0, "an archive of no images was opened");
    for (size_t i = 1; i < n; i++)
        fuzz_check(strcmp(gb_image_archive_member(a, i - 1), gb_image_archive_member(a, i)) < 0,
                   "members %zu and %zu out of order or repeated", i - 1, i);
    for (size_t i = 0; i < n && i < FUZZ_ZIP_MAX_IMAGES; i++) {
        uint8_t *chw;
        int h, w;
        if (gb_image_archive_load_rgb(a, i, &chw, &h, &w) != GB_OK) {
            fuzz_check(!chw && strstr(gb_last_error(), gb_image_archive_member(a, i)), "failure of %s: %s",
                       gb_image_archive_member(a, i), gb_last_error());
            continue;
        }
        fuzz_check(h > 0 && w > 0, "%dx%d", h, w);
        chw[3 * (size_t)h * (size_t)w - 1] ^= 1;
        free(chw);
    }
    gb_image_archive_close(a);
    return 0;
}
