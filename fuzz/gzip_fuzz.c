/* fuzz/gzip_fuzz.c - libFuzzer target for core/gzip_file.c (gb_gz_read_file and the
 * streaming gb_gz_open / gb_gz_read).
 *
 * The input is written to a scratch file (the reader takes a path). Invariants: the
 * whole-file read and a streaming read in small odd-sized chunks agree (same status, same
 * bytes, same offset); a plain (non-gzip) file reads back as itself; an accepted gzip file
 * inflates to the same bytes as zlib's own gzread. Output is capped at 1 MiB so
 * decompression bombs stay cheap. Run with `make fuzz`.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/gzip_file.h"
#include "fuzz/fuzz_util.h"

enum { FUZZ_GZ_MAX = 1 << 20 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_file("in.gz", data, size);
    uint8_t *whole = NULL;
    size_t n = 0;
    gb_status s = gb_gz_read_file(path, FUZZ_GZ_MAX, &whole, &n);
    if (s != GB_OK) fuzz_check(!whole && gb_last_error()[0], "failure without a message or with data");
    else fuzz_check(n <= FUZZ_GZ_MAX && whole[n] == 0, "size %zu or missing NUL", n);

    /* Stream the same file in chunks of 1..13 bytes (chosen by the input). */
    gb_gz_reader *r;
    fuzz_check(gb_gz_open(&r, path) == GB_OK, "gb_gz_open failed on an existing file: %s", gb_last_error());
    int compressed = gb_gz_compressed(r);
    fuzz_check(compressed == (size >= 2 && data[0] == 0x1f && data[1] == 0x8b), "gzip detection");
    uint8_t *stream = malloc(FUZZ_GZ_MAX + 16);
    fuzz_check(stream, "out of memory");
    size_t len = 0, chunk = 1 + (size ? data[size - 1] % 13 : 0);
    gb_status t = GB_OK;
    for (;;) {
        size_t got;
        t = gb_gz_read(r, stream + len, chunk, &got);
        if (t != GB_OK) break;
        fuzz_check(got <= chunk, "read %zu of %zu", got, chunk);
        len += got;
        fuzz_check(gb_gz_offset(r) == len, "offset %llu, delivered %zu", (unsigned long long)gb_gz_offset(r), len);
        if (got < chunk || len > FUZZ_GZ_MAX) break;
    }
    gb_gz_close(r);
    if (s == GB_OK) {
        fuzz_check(t == GB_OK && len == n && memcmp(stream, whole, n) == 0,
                   "streaming read differs from the whole-file read (%zu vs %zu bytes)", len, n);
        if (!compressed) {
            fuzz_check(n == size && memcmp(whole, data, size) == 0, "plain file changed");
        } else {
            gzFile z = gzopen(path, "rb");
            fuzz_check(z, "gzopen");
            int got = gzread(z, stream, FUZZ_GZ_MAX + 1);
            gzclose(z);
            fuzz_check(got >= 0 && (size_t)got == n && memcmp(stream, whole, n) == 0,
                       "zlib's gzread gives %d bytes, gb_gz_read_file %zu", got, n);
        }
    } else if (len <= FUZZ_GZ_MAX) {
        fuzz_check(t != GB_OK, "the whole-file read failed (%s) but streaming succeeded", gb_last_error());
    }
    free(stream);
    free(whole);
    return 0;
}
