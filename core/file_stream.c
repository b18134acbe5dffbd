/* core/file_stream.c - see file_stream.h. */
#include "file_stream.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

gb_status gb_file_stream(const char *path, gb_stream_consumer consume, void *ctx) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return gb_fail(GB_INPUT, "%s: cannot open for hashing: %s (check the path and its permissions)", path,
                       strerror(errno));
    uint8_t buf[1 << 14]; /* on the stack: re-entrant, small enough for worker threads */
    unsigned long long total = 0;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        consume(ctx, buf, n);
        total += n;
    }
    if (ferror(f)) {
        int err = errno;
        fclose(f);
        return gb_fail(GB_INPUT, "%s: read failed after %llu bytes while hashing: %s", path, total, strerror(err));
    }
    fclose(f);
    return GB_OK;
}
