/* core/tar.c - tar member iteration (ustar, GNU long names, pax) over core/gzip_file.h.
 *
 * Header layout (POSIX.1-1988 ustar; GNU tar manual "Basic Tar Format"): name 0..99,
 * size 124..135, chksum 148..155, typeflag 156, magic 257..262, prefix 345..499.
 * Tested by tests/test_archive.c. */
#include "core/tar.h"

#include <stdlib.h>
#include <string.h>

#include "core/gzip_file.h"

enum { GB_TAR_BLOCK = 512, GB_TAR_META_MAX = 1 << 20 };

struct gb_tar {
    gb_gz_reader *r;
    char *name;          /* current member's full name */
    char *long_name;     /* pending GNU 'L' name for the next member, or NULL */
    char *pax_path;      /* pending pax path= for the next member, or NULL */
    uint64_t pax_size;   /* pending pax size=, when has_pax_size */
    int has_pax_size;
    uint64_t remaining;  /* unread data bytes of the current member */
    uint64_t padding;    /* zero bytes after the data up to the next block */
    uint64_t header_at;  /* offset of the current member's header */
};

const char *gb_tar_path(const gb_tar *t) { return gb_gz_path(t->r); }

gb_status gb_tar_open(gb_tar **tar, const char *path) {
    *tar = NULL;
    gb_gz_reader *r;
    GB_TRY(gb_gz_open(&r, path));
    gb_tar *t = calloc(1, sizeof *t);
    GB_ASSERT(t, "out of memory opening %s", path);
    t->r = r;
    *tar = t;
    return GB_OK;
}

void gb_tar_close(gb_tar *t) {
    if (!t) return;
    gb_gz_close(t->r);
    free(t->name);
    free(t->long_name);
    free(t->pax_path);
    free(t);
}

/* Exactly n bytes from the stream; `what` names the member for the truncation message. */
static gb_status gb_tar_read_raw(gb_tar *t, void *buf, size_t n, const char *what) {
    uint64_t at = gb_gz_offset(t->r);
    size_t got;
    GB_TRY(gb_gz_read(t->r, buf, n, &got));
    if (got < n)
        return gb_fail(GB_INPUT, "%s: archive ends at byte %llu inside %s (header at byte %llu, "
                                 "%zu bytes missing): the archive is truncated; download it again",
                       gb_tar_path(t), (unsigned long long)(at + got), what,
                       (unsigned long long)t->header_at, n - got);
    return GB_OK;
}

static gb_status gb_tar_skip(gb_tar *t, uint64_t n, const char *what) {
    uint8_t buf[1 << 14];
    while (n > 0) {
        size_t take = n < sizeof buf ? (size_t)n : sizeof buf;
        GB_TRY(gb_tar_read_raw(t, buf, take, what));
        n -= take;
    }
    return GB_OK;
}

/* Octal field (leading spaces, digits, then NUL/space), or GNU base-256 when the top bit of
 * the first byte is set. -1 when malformed. */
static int gb_tar_number(const uint8_t *f, size_t len, uint64_t *v) {
    *v = 0;
    if (f[0] & 0x80) {
        if (f[0] != 0x80) return -1; /* negative or beyond 64 bits */
        for (size_t i = 1; i < len; i++) {
            if (*v >> 56) return -1;
            *v = *v << 8 | f[i];
        }
        return 0;
    }
    size_t i = 0;
    while (i < len && f[i] == ' ') i++;
    int digits = 0;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (*v >> 60) return -1;
        *v = *v << 3 | (uint64_t)(f[i] - '0');
    }
    for (; i < len; i++)
        if (f[i] != ' ' && f[i] != 0) return -1;
    return digits > 0 ? 0 : -1;
}

static char *gb_tar_strndup(const void *p, size_t n) {
    char *s = strndup(p, n);
    GB_ASSERT(s, "out of memory");
    return s;
}

/* pax extended header: records "<len> <key>=<value>\n", len counting the whole record. */
static gb_status gb_tar_pax(gb_tar *t, const char *data, size_t n) {
    size_t at = 0;
    while (at < n) {
        size_t len = 0, i = at;
        while (i < n && data[i] >= '0' && data[i] <= '9' && len < n) len = len * 10 + (size_t)(data[i++] - '0');
        if (i >= n || data[i] != ' ' || len == 0 || len > n - at || data[at + len - 1] != '\n')
            return gb_fail(GB_INPUT, "%s: malformed pax record at byte %zu of the extended header "
                                     "at byte %llu: the archive is corrupt",
                           gb_tar_path(t), at, (unsigned long long)t->header_at);
        const char *key = data + i + 1, *end = data + at + len - 1;
        const char *eq = memchr(key, '=', (size_t)(end - key));
        if (!eq)
            return gb_fail(GB_INPUT, "%s: pax record without '=' at byte %zu of the extended "
                                     "header at byte %llu", gb_tar_path(t), at,
                           (unsigned long long)t->header_at);
        size_t klen = (size_t)(eq - key), vlen = (size_t)(end - eq - 1);
        if (klen == 4 && memcmp(key, "path", 4) == 0) {
            free(t->pax_path);
            t->pax_path = gb_tar_strndup(eq + 1, vlen);
        } else if (klen == 4 && memcmp(key, "size", 4) == 0) {
            uint64_t v = 0;
            if (vlen == 0 || vlen > 19)
                return gb_fail(GB_INPUT, "%s: bad pax size record in the extended header at byte "
                                         "%llu", gb_tar_path(t), (unsigned long long)t->header_at);
            for (size_t k = 0; k < vlen; k++) {
                char c = eq[1 + k];
                if (c < '0' || c > '9')
                    return gb_fail(GB_INPUT, "%s: bad pax size record in the extended header at "
                                             "byte %llu", gb_tar_path(t),
                                   (unsigned long long)t->header_at);
                v = v * 10 + (uint64_t)(c - '0');
            }
            t->pax_size = v;
            t->has_pax_size = 1;
        }
        at += len;
    }
    return GB_OK;
}

static int gb_tar_all_zero(const uint8_t *b) {
    for (int i = 0; i < GB_TAR_BLOCK; i++)
        if (b[i]) return 0;
    return 1;
}

gb_status gb_tar_next(gb_tar *t, gb_tar_entry *entry, int *end) {
    *end = 0;
    for (;;) {
        /* Finish the previous member: unread data, then padding to the block boundary. */
        GB_TRY(gb_tar_skip(t, t->remaining + t->padding, t->name ? t->name : "a member"));
        t->remaining = t->padding = 0;

        uint8_t h[GB_TAR_BLOCK];
        t->header_at = gb_gz_offset(t->r);
        size_t got;
        GB_TRY(gb_gz_read(t->r, h, sizeof h, &got));
        if (got < sizeof h)
            return gb_fail(GB_INPUT, "%s: archive ends at byte %llu without the end-of-archive "
                                     "marker: it is truncated; download it again",
                           gb_tar_path(t), (unsigned long long)(t->header_at + got));
        if (gb_tar_all_zero(h)) {
            *end = 1;
            return GB_OK;
        }
        uint64_t stored;
        if (gb_tar_number(h + 148, 8, &stored) != 0)
            return gb_fail(GB_INPUT, "%s: unreadable header checksum field at byte %llu: this is "
                                     "not a tar archive, or it is corrupt",
                           gb_tar_path(t), (unsigned long long)(t->header_at + 148));
        /* The checksum counts the field itself as eight spaces; old tars summed signed bytes. */
        uint64_t sum_u = 8 * ' ';
        int64_t sum_s = 8 * ' ';
        for (int i = 0; i < GB_TAR_BLOCK; i++) {
            if (i >= 148 && i < 156) continue;
            sum_u += h[i];
            sum_s += (int8_t)h[i];
        }
        if (stored != sum_u && (int64_t)stored != sum_s)
            return gb_fail(GB_INPUT, "%s: tar header at byte %llu has checksum %llu, computed "
                                     "%llu: the archive is corrupt; download it again",
                           gb_tar_path(t), (unsigned long long)t->header_at,
                           (unsigned long long)stored, (unsigned long long)sum_u);
        uint64_t size;
        if (gb_tar_number(h + 124, 12, &size) != 0)
            return gb_fail(GB_INPUT, "%s: unreadable size field at byte %llu", gb_tar_path(t),
                           (unsigned long long)(t->header_at + 124));
        char type = h[156] ? (char)h[156] : '0';
        if (type == 'L' || type == 'x' || type == 'K' || type == 'g') {
            if (size > GB_TAR_META_MAX)
                return gb_fail(GB_INPUT, "%s: %c record at byte %llu claims %llu bytes: the archive "
                                         "is corrupt", gb_tar_path(t), type,
                               (unsigned long long)t->header_at, (unsigned long long)size);
            char *meta = malloc((size_t)size + 1);
            GB_ASSERT(meta, "out of memory");
            gb_status s = gb_tar_read_raw(t, meta, (size_t)size, "a long-name or pax record");
            if (s == GB_OK) {
                meta[size] = 0;
                if (type == 'L') {
                    free(t->long_name);
                    t->long_name = gb_tar_strndup(meta, (size_t)size);
                } else if (type == 'x') {
                    s = gb_tar_pax(t, meta, (size_t)size);
                }
            }
            free(meta);
            GB_TRY(s);
            t->padding = (GB_TAR_BLOCK - size % GB_TAR_BLOCK) % GB_TAR_BLOCK;
            continue;
        }

        free(t->name);
        if (t->pax_path) {
            t->name = t->pax_path;
            t->pax_path = NULL;
        } else if (t->long_name) {
            t->name = t->long_name;
            t->long_name = NULL;
        } else if (memcmp(h + 257, "ustar\0", 6) == 0 && h[345]) {
            /* POSIX ustar only: GNU tar ("ustar  ") keeps other data in this area. */
            size_t plen = strnlen((const char *)h + 345, 155), nlen = strnlen((const char *)h, 100);
            t->name = malloc(plen + nlen + 2);
            GB_ASSERT(t->name, "out of memory");
            memcpy(t->name, h + 345, plen);
            t->name[plen] = '/';
            memcpy(t->name + plen + 1, h, nlen);
            t->name[plen + 1 + nlen] = 0;
        } else {
            t->name = gb_tar_strndup(h, 100);
        }
        if (t->has_pax_size) size = t->pax_size;
        t->has_pax_size = 0;
        /* Links, directories and devices carry no data whatever their size field says. */
        uint64_t data = (type == '1' || type == '2' || type == '3' || type == '4' || type == '5' ||
                         type == '6')
                            ? 0
                            : size;
        t->remaining = data;
        t->padding = (GB_TAR_BLOCK - data % GB_TAR_BLOCK) % GB_TAR_BLOCK;
        entry->name = t->name;
        entry->type = type;
        entry->size = data;
        entry->offset = t->header_at;
        return GB_OK;
    }
}

gb_status gb_tar_read(gb_tar *t, void *buf, size_t n) {
    GB_ASSERT(n <= t->remaining, "gb_tar_read: %zu bytes asked, %llu left in %s", n,
              (unsigned long long)t->remaining, t->name ? t->name : "(no member)");
    GB_TRY(gb_tar_read_raw(t, buf, n, t->name));
    t->remaining -= n;
    return GB_OK;
}

gb_status gb_tar_read_all(gb_tar *t, size_t max_bytes, uint8_t **data, size_t *n) {
    *data = NULL;
    *n = 0;
    if (t->remaining > max_bytes)
        return gb_fail(GB_INPUT, "%s: member '%s' (header at byte %llu) holds %llu bytes, more than "
                                 "the %zu expected: is it the right archive?",
                       gb_tar_path(t), t->name, (unsigned long long)t->header_at,
                       (unsigned long long)t->remaining, max_bytes);
    size_t len = (size_t)t->remaining;
    uint8_t *buf = malloc(len + 1);
    GB_ASSERT(buf, "out of memory reading %s from %s", t->name, gb_tar_path(t));
    gb_status s = gb_tar_read(t, buf, len);
    if (s != GB_OK) {
        free(buf);
        return s;
    }
    buf[len] = 0;
    *data = buf;
    *n = len;
    return GB_OK;
}
