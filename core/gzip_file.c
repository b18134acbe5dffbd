/* core/gzip_file.c - streaming gzip/plain reader on zlib (core/gzip_file.h).
 * Tested by tests/test_archive.c. */
#include "core/gzip_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { GB_GZ_IN_BYTES = 1 << 16 };

/* Between members: after Z_STREAM_END the next input decides whether another member follows. */
typedef enum { GB_GZ_IN_MEMBER, GB_GZ_BETWEEN, GB_GZ_END } gb_gz_state;

struct gb_gz_reader {
    FILE *fp;
    char *path;
    int gz;
    gb_gz_state state;
    z_stream zs;
    uint64_t file_read;  /* compressed bytes read from the file so far */
    uint64_t out_offset; /* uncompressed bytes delivered */
    uint8_t in[GB_GZ_IN_BYTES];
};

/* Compressed bytes consumed by zlib so far (for messages). */
static unsigned long long gb_gz_in_offset(const gb_gz_reader *r) {
    return (unsigned long long)(r->file_read - r->zs.avail_in);
}

static gb_status gb_gz_refill(gb_gz_reader *r) {
    size_t got = fread(r->in, 1, sizeof r->in, r->fp);
    if (got == 0 && ferror(r->fp))
        return gb_fail(GB_ENV, "%s: read failed at byte %llu: %s", r->path,
                       (unsigned long long)r->file_read, strerror(errno));
    r->zs.next_in = r->in;
    r->zs.avail_in = (uInt)got;
    r->file_read += got;
    return GB_OK;
}

gb_status gb_gz_open(gb_gz_reader **reader, const char *path) {
    *reader = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return gb_fail(GB_INPUT, "cannot open '%s': %s (check the path)", path, strerror(errno));
    gb_gz_reader *r = calloc(1, sizeof *r);
    GB_ASSERT(r, "out of memory opening %s", path);
    r->fp = fp;
    r->path = strdup(path);
    GB_ASSERT(r->path, "out of memory");
    gb_status s = gb_gz_refill(r);
    if (s != GB_OK) {
        gb_gz_close(r);
        return s;
    }
    r->gz = r->zs.avail_in >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b;
    if (r->gz) {
        /* 16 + MAX_WBITS: gzip wrapper only, so a zlib or raw stream is refused, not guessed. */
        if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK) {
            gb_gz_close(r);
            return gb_fail(GB_ENV, "%s: zlib inflateInit2 failed (out of memory?)", path);
        }
        r->state = GB_GZ_IN_MEMBER;
    }
    *reader = r;
    return GB_OK;
}

/* Plain files: hand out the buffered bytes, then read the rest directly. */
static gb_status gb_gz_read_plain(gb_gz_reader *r, uint8_t *out, size_t n, size_t *got) {
    size_t done = 0;
    if (r->zs.avail_in > 0) {
        size_t take = r->zs.avail_in < n ? r->zs.avail_in : n;
        memcpy(out, r->zs.next_in, take);
        r->zs.next_in += take;
        r->zs.avail_in -= (uInt)take;
        done = take;
    }
    if (done < n) {
        size_t more = fread(out + done, 1, n - done, r->fp);
        if (more < n - done && ferror(r->fp))
            return gb_fail(GB_ENV, "%s: read failed at byte %llu: %s", r->path,
                           (unsigned long long)(r->out_offset + done + more), strerror(errno));
        done += more;
    }
    *got = done;
    r->out_offset += done;
    return GB_OK;
}

/* After a member ended: another member (1f ...), zero padding, end of file, or garbage. */
static gb_status gb_gz_next_member(gb_gz_reader *r) {
    if (r->zs.avail_in == 0) GB_TRY(gb_gz_refill(r));
    if (r->zs.avail_in == 0) {
        r->state = GB_GZ_END;
        return GB_OK;
    }
    if (r->zs.next_in[0] == 0x1f) {
        /* inflate itself validates the rest of the header ("incorrect header check"). */
        inflateReset(&r->zs);
        r->state = GB_GZ_IN_MEMBER;
        return GB_OK;
    }
    for (;;) {
        for (uInt i = 0; i < r->zs.avail_in; i++)
            if (r->zs.next_in[i] != 0)
                return gb_fail(GB_INPUT, "%s: unexpected data after the last gzip member at byte "
                                         "%llu (the file is not one gzip stream: download it again)",
                               r->path, gb_gz_in_offset(r) + i);
        r->zs.avail_in = 0;
        GB_TRY(gb_gz_refill(r));
        if (r->zs.avail_in == 0) break;
    }
    r->state = GB_GZ_END;
    return GB_OK;
}

gb_status gb_gz_read(gb_gz_reader *r, void *buf, size_t n, size_t *got) {
    uint8_t *out = buf;
    *got = 0;
    if (!r->gz) return gb_gz_read_plain(r, out, n, got);
    size_t done = 0;
    while (done < n && r->state != GB_GZ_END) {
        if (r->state == GB_GZ_BETWEEN) {
            GB_TRY(gb_gz_next_member(r));
            continue;
        }
        if (r->zs.avail_in == 0) {
            GB_TRY(gb_gz_refill(r));
            if (r->zs.avail_in == 0)
                return gb_fail(GB_INPUT, "%s: gzip data end early at compressed byte %llu "
                                         "(uncompressed offset %llu): the file is truncated; "
                                         "download it again",
                               r->path, gb_gz_in_offset(r),
                               (unsigned long long)(r->out_offset + done));
        }
        size_t chunk = n - done;
        if (chunk > (1u << 30)) chunk = 1u << 30; /* avail_out is a uInt */
        r->zs.next_out = out + done;
        r->zs.avail_out = (uInt)chunk;
        int ret = inflate(&r->zs, Z_NO_FLUSH);
        done += chunk - r->zs.avail_out;
        if (ret == Z_STREAM_END) {
            r->state = GB_GZ_BETWEEN;
        } else if (ret != Z_OK && !(ret == Z_BUF_ERROR && r->zs.avail_in == 0)) {
            return gb_fail(GB_INPUT, "%s: corrupt gzip data near compressed byte %llu "
                                     "(uncompressed offset %llu): %s; download the file again",
                           r->path, gb_gz_in_offset(r), (unsigned long long)(r->out_offset + done),
                           r->zs.msg ? r->zs.msg : "zlib error");
        }
    }
    *got = done;
    r->out_offset += done;
    return GB_OK;
}

uint64_t gb_gz_offset(const gb_gz_reader *r) { return r->out_offset; }
int gb_gz_compressed(const gb_gz_reader *r) { return r->gz; }
const char *gb_gz_path(const gb_gz_reader *r) { return r->path; }

void gb_gz_close(gb_gz_reader *r) {
    if (!r) return;
    if (r->gz) inflateEnd(&r->zs);
    if (r->fp) fclose(r->fp);
    free(r->path);
    free(r);
}

gb_status gb_gz_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *n) {
    *data = NULL;
    *n = 0;
    gb_gz_reader *r;
    GB_TRY(gb_gz_open(&r, path));
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = malloc(cap);
    GB_ASSERT(buf, "out of memory reading %s", path);
    gb_status s = GB_OK;
    for (;;) {
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
            GB_ASSERT(buf, "out of memory reading %s (%zu bytes)", path, cap);
        }
        size_t got;
        s = gb_gz_read(r, buf + len, cap - 1 - len, &got);
        if (s != GB_OK) break;
        len += got;
        if (len > max_bytes) {
            s = gb_fail(GB_INPUT, "%s: more than %zu bytes of data (uncompressed), the limit for "
                                  "this file: is it the right file?", path, max_bytes);
            break;
        }
        if (got == 0) break;
    }
    gb_gz_close(r);
    if (s != GB_OK) {
        free(buf);
        return s;
    }
    buf[len] = 0;
    *data = buf;
    *n = len;
    return GB_OK;
}
