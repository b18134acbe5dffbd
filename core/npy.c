/* core/npy.c - NumPy .npy / .npz reading and writing (see core/npy.h for the format and the
 * rules; tested by tests/test_npy.c). */
#include "core/npy.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "core/atomic_file.h"
#include "core/zip_read.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "core/npy.c assumes a little-endian host (loaded arrays are in host order)"
#endif

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

size_t gb_npy_itemsize(gb_npy_dtype t) {
    switch (t) {
    case GB_NPY_U8: return 1;
    case GB_NPY_I32: return 4;
    case GB_NPY_I64: return 8;
    case GB_NPY_F32: return 4;
    case GB_NPY_F64: return 8;
    }
    gb_assert_fail(__FILE__, __LINE__, "known dtype", "unknown npy dtype %d", (int)t);
}

const char *gb_npy_descr(gb_npy_dtype t) {
    switch (t) {
    case GB_NPY_U8: return "|u1";
    case GB_NPY_I32: return "<i4";
    case GB_NPY_I64: return "<i8";
    case GB_NPY_F32: return "<f4";
    case GB_NPY_F64: return "<f8";
    }
    gb_assert_fail(__FILE__, __LINE__, "known dtype", "unknown npy dtype %d", (int)t);
}

gb_npy_array gb_npy_view(gb_npy_dtype t, int ndim, const size_t *shape, void *data) {
    GB_ASSERT(ndim >= 0 && ndim <= GB_NPY_MAX_DIMS, "ndim %d out of range", ndim);
    gb_npy_array a = {.dtype = t, .ndim = ndim, .count = 1, .data = data};
    for (int i = 0; i < ndim; i++) {
        a.shape[i] = shape[i];
        a.count *= shape[i];
    }
    return a;
}

void gb_npy_free(gb_npy_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- header parsing ---------------------------------------------------------------------- */

typedef struct {
    const char *s;     /* header text */
    size_t len;        /* its length */
    size_t pos;        /* cursor within s */
    size_t base;       /* file offset of s[0] */
    const char *where; /* file name for messages */
} hdr_cursor;

static gb_status hdr_fail(const hdr_cursor *c, const char *what) {
    return gb_fail(GB_INPUT,
                   "%s: .npy header at byte %zu: %s (expected a dict like {'descr': '<f4', "
                   "'fortran_order': False, 'shape': (n, d), }; re-save the array with numpy.save)",
                   c->where, c->base + c->pos, what);
}

static void hdr_skip_ws(hdr_cursor *c) {
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' || c->s[c->pos] == '\n' ||
                               c->s[c->pos] == '\r'))
        c->pos++;
}

static int hdr_peek(const hdr_cursor *c) { return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1; }

/* A Python string literal in ' or " quotes, without escapes (numpy never writes any). */
static gb_status hdr_string(hdr_cursor *c, char *out, size_t cap) {
    int q = hdr_peek(c);
    if (q != '\'' && q != '"') return hdr_fail(c, "expected a quoted string");
    size_t start = ++c->pos, k = 0;
    while (c->pos < c->len && c->s[c->pos] != q) {
        if (c->s[c->pos] == '\\') return hdr_fail(c, "escape sequences are not supported in header strings");
        if (k + 1 >= cap) return hdr_fail(c, "string too long");
        out[k++] = c->s[c->pos++];
    }
    if (c->pos >= c->len) {
        c->pos = start;
        return hdr_fail(c, "unterminated string");
    }
    c->pos++;
    out[k] = 0;
    return GB_OK;
}

static int hdr_word(hdr_cursor *c, const char *w) {
    size_t n = strlen(w);
    if (c->len - c->pos < n || memcmp(c->s + c->pos, w, n) != 0) return 0;
    char next = c->pos + n < c->len ? c->s[c->pos + n] : ' ';
    if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9') || next == '_')
        return 0;
    c->pos += n;
    return 1;
}

static gb_status hdr_shape(hdr_cursor *c, int *ndim, size_t *shape) {
    if (hdr_peek(c) != '(') return hdr_fail(c, "'shape' must be a tuple such as (2048,) or (n, d)");
    c->pos++;
    int n = 0, trailing_comma = 0;
    for (;;) {
        hdr_skip_ws(c);
        if (hdr_peek(c) == ')') {
            c->pos++;
            break;
        }
        if (hdr_peek(c) < '0' || hdr_peek(c) > '9') return hdr_fail(c, "shape entries must be non-negative integers");
        if (n == GB_NPY_MAX_DIMS) return hdr_fail(c, "more than 8 dimensions");
        size_t v = 0;
        while (hdr_peek(c) >= '0' && hdr_peek(c) <= '9') {
            size_t digit = (size_t)(hdr_peek(c) - '0');
            if (v > (SIZE_MAX - digit) / 10) return hdr_fail(c, "shape entry overflows");
            v = v * 10 + digit;
            c->pos++;
        }
        if (hdr_peek(c) == 'L' || hdr_peek(c) == 'l') c->pos++; /* Python 2 long literal */
        shape[n++] = v;
        hdr_skip_ws(c);
        trailing_comma = 0;
        if (hdr_peek(c) == ',') {
            c->pos++;
            trailing_comma = 1;
        } else if (hdr_peek(c) != ')') {
            return hdr_fail(c, "expected ',' or ')' in the shape tuple");
        }
    }
    /* "(5)" is the integer 5 in Python, not a tuple: numpy rejects it, so do we. */
    if (n == 1 && !trailing_comma) return hdr_fail(c, "a 1-element shape needs a trailing comma, as in (5,)");
    *ndim = n;
    return GB_OK;
}

typedef struct {
    gb_npy_dtype dtype;
    int big_endian;
    int fortran;
    int ndim;
    size_t shape[GB_NPY_MAX_DIMS];
} npy_header;

static gb_status hdr_descr(hdr_cursor *c, npy_header *h) {
    if (hdr_peek(c) == '[') return hdr_fail(c, "structured dtypes (a list in 'descr') are not supported");
    size_t at = c->pos;
    char d[32];
    GB_TRY(hdr_string(c, d, sizeof d));
    static const struct {
        const char *name;
        gb_npy_dtype t;
        int be;
    } known[] = {{"<f4", GB_NPY_F32, 0}, {"<f8", GB_NPY_F64, 0}, {"<i4", GB_NPY_I32, 0}, {"<i8", GB_NPY_I64, 0},
                 {"|u1", GB_NPY_U8, 0},  {">f4", GB_NPY_F32, 1}, {">f8", GB_NPY_F64, 1}, {">i4", GB_NPY_I32, 1},
                 {">i8", GB_NPY_I64, 1}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(d, known[i].name) == 0) {
            h->dtype = known[i].t;
            h->big_endian = known[i].be;
            return GB_OK;
        }
    }
    c->pos = at;
    return gb_fail(GB_INPUT,
                   "%s: .npy header at byte %zu: dtype '%s' is not supported (use <f4, <f8, <i4, <i8 or |u1, "
                   "e.g. arr.astype(np.float32) before numpy.save)",
                   c->where, c->base + at, d);
}

static gb_status parse_header(npy_header *h, hdr_cursor *c) {
    int seen_descr = 0, seen_fortran = 0, seen_shape = 0;
    hdr_skip_ws(c);
    if (hdr_peek(c) != '{') return hdr_fail(c, "expected '{'");
    c->pos++;
    for (;;) {
        hdr_skip_ws(c);
        if (hdr_peek(c) == '}') {
            c->pos++;
            break;
        }
        size_t key_at = c->pos;
        char key[32];
        GB_TRY(hdr_string(c, key, sizeof key));
        hdr_skip_ws(c);
        if (hdr_peek(c) != ':') return hdr_fail(c, "expected ':' after a key");
        c->pos++;
        hdr_skip_ws(c);
        int *seen;
        if (strcmp(key, "descr") == 0) {
            seen = &seen_descr;
            if (*seen) goto duplicate;
            GB_TRY(hdr_descr(c, h));
        } else if (strcmp(key, "fortran_order") == 0) {
            seen = &seen_fortran;
            if (*seen) goto duplicate;
            if (hdr_word(c, "True")) h->fortran = 1;
            else if (hdr_word(c, "False")) h->fortran = 0;
            else return hdr_fail(c, "'fortran_order' must be True or False");
        } else if (strcmp(key, "shape") == 0) {
            seen = &seen_shape;
            if (*seen) goto duplicate;
            GB_TRY(hdr_shape(c, &h->ndim, h->shape));
        } else {
            c->pos = key_at;
            return hdr_fail(c, "unknown key (only 'descr', 'fortran_order' and 'shape' are allowed)");
        }
        *seen = 1;
        hdr_skip_ws(c);
        if (hdr_peek(c) == ',') c->pos++;
        else if (hdr_peek(c) != '}') return hdr_fail(c, "expected ',' or '}'");
        continue;
    duplicate:
        c->pos = key_at;
        return hdr_fail(c, "duplicate key");
    }
    hdr_skip_ws(c);
    if (c->pos != c->len) return hdr_fail(c, "unexpected bytes after the closing '}'");
    if (!seen_descr || !seen_fortran || !seen_shape) {
        c->pos = 0;
        return hdr_fail(c, "missing one of the keys 'descr', 'fortran_order', 'shape'");
    }
    return GB_OK;
}

static void swap_bytes(unsigned char *p, size_t count, size_t size) {
    for (size_t i = 0; i < count; i++, p += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* dst (C order) <- src (Fortran order): walk the C-order multi-index, keep the F offset. */
static void fortran_to_c(unsigned char *dst, const unsigned char *src, const npy_header *h, size_t count,
                         size_t size) {
    size_t fstride[GB_NPY_MAX_DIMS], idx[GB_NPY_MAX_DIMS] = {0}, off = 0;
    for (int k = 0; k < h->ndim; k++) fstride[k] = k == 0 ? 1 : fstride[k - 1] * h->shape[k - 1];
    for (size_t i = 0; i < count; i++) {
        memcpy(dst + i * size, src + off * size, size);
        for (int k = h->ndim - 1; k >= 0; k--) {
            off += fstride[k];
            if (++idx[k] < h->shape[k]) break;
            off -= fstride[k] * h->shape[k];
            idx[k] = 0;
        }
    }
}

/* The header length field: where the header text starts and how long it is. GB_INPUT for a
 * wrong magic or version, or n too short to hold the field. */
static gb_status header_span(size_t *hstart, size_t *hlen, const unsigned char *buf, size_t n, const char *where) {
    if (n < 10 || memcmp(buf, npy_magic, sizeof npy_magic) != 0)
        return gb_fail(GB_INPUT, "%s: byte 0: not a .npy file (no \\x93NUMPY magic; write it with numpy.save)", where);
    unsigned major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0)
        return gb_fail(GB_INPUT, "%s: byte 6: .npy version %u.%u is not supported (1.0, 2.0 or 3.0)", where, major,
                       minor);
    if (major == 1) {
        *hstart = 10;
        *hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
    } else {
        if (n < 12) return gb_fail(GB_INPUT, "%s: byte 8: file ends inside the header length", where);
        *hstart = 12;
        *hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
    }
    /* np.save pads the dict to a multiple of 64 bytes and numpy reads at most 10,000 by
     * default; a larger claim is a corrupt file, not a header to allocate for */
    if (*hlen > GB_NPY_MAX_HEADER)
        return gb_fail(GB_INPUT, "%s: byte 8: header length %zu is over %d bytes: not a numpy header", where, *hlen,
                       GB_NPY_MAX_HEADER);
    return GB_OK;
}

/* The header of a .npy image of `total` bytes whose first n bytes (at least the header) are
 * buf: *h, where the data starts, the element count, and the check that the data size is
 * what the shape and dtype need. */
static gb_status decode_header(npy_header *h, size_t *data_at, size_t *count_out, const unsigned char *buf, size_t n,
                               size_t total, const char *where) {
    size_t hstart = 0, hlen = 0;
    GB_TRY(header_span(&hstart, &hlen, buf, n, where));
    if (hlen > total - hstart)
        return gb_fail(GB_INPUT, "%s: byte 8: header length %zu runs past the end of the file (%zu bytes): truncated?",
                       where, hlen, total);
    GB_ASSERT(hstart + hlen <= n, "%s: the caller read %zu bytes of a %zu-byte header", where, n, hstart + hlen);
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = buf[hstart + i];
        if (ch == 0 || ch >= 0x80)
            return gb_fail(GB_INPUT, "%s: byte %zu: non-ASCII or NUL byte 0x%02x in the .npy header", where,
                           hstart + i, ch);
    }
    memset(h, 0, sizeof *h);
    hdr_cursor c = {.s = (const char *)buf + hstart, .len = hlen, .pos = 0, .base = hstart, .where = where};
    GB_TRY(parse_header(h, &c));

    size_t size = gb_npy_itemsize(h->dtype), count = 1;
    for (int k = 0; k < h->ndim; k++) {
        if (h->shape[k] != 0 && count > SIZE_MAX / h->shape[k])
            return gb_fail(GB_INPUT, "%s: shape overflows the address space", where);
        count *= h->shape[k];
    }
    if (count > SIZE_MAX / size) return gb_fail(GB_INPUT, "%s: shape overflows the address space", where);
    size_t bytes = count * size, at = hstart + hlen, have = total - at;
    if (have != bytes)
        return gb_fail(GB_INPUT, "%s: byte %zu: the data holds %zu bytes but the shape and dtype need %zu (%s)", where,
                       at, have, bytes, have < bytes ? "truncated file" : "trailing bytes");
    *data_at = at;
    *count_out = count;
    return GB_OK;
}

/* out's description of an array with header h and count elements, data not set. */
static void describe(gb_npy_array *out, const npy_header *h, size_t count) {
    out->dtype = h->dtype;
    out->ndim = h->ndim;
    memcpy(out->shape, h->shape, sizeof h->shape);
    out->count = count;
}

gb_status gb_npy_decode(gb_npy_array *out, const unsigned char *buf, size_t n, const char *where) {
    memset(out, 0, sizeof *out);
    npy_header h;
    size_t data_at = 0, count = 0;
    GB_TRY(decode_header(&h, &data_at, &count, buf, n, n, where));
    size_t size = gb_npy_itemsize(h.dtype), bytes = count * size;
    unsigned char *data = malloc(bytes ? bytes : 1);
    if (!data) return gb_fail(GB_ENV, "%s: out of memory for %zu bytes", where, bytes);
    if (h.fortran && h.ndim > 1) fortran_to_c(data, buf + data_at, &h, count, size);
    else memcpy(data, buf + data_at, bytes);
    if (h.big_endian) swap_bytes(data, count, size);
    describe(out, &h, count);
    out->data = data;
    return GB_OK;
}

/* ---- headers without the data --------------------------------------------------------- */

typedef struct {
    FILE *fp;      /* a .npy file, or */
    zip_file_t *zf; /* an .npz member */
} byte_source;

static int read_exact(byte_source *src, unsigned char *buf, size_t n) {
    if (src->fp) return fread(buf, 1, n, src->fp) == n;
    return zip_fread(src->zf, buf, n) == (zip_int64_t)n;
}

/* The header of an image of `total` bytes read from src: *h and the element count; src is left
 * at the first byte of the data. (The first read takes 12 bytes, which stay inside the header:
 * the shortest dict the parser accepts is far longer than the 2 bytes that would reach past.) */
static gb_status read_header(npy_header *h, size_t *count, byte_source *src, size_t total, const char *where) {
    unsigned char prefix[12];
    size_t got = total < sizeof prefix ? total : sizeof prefix;
    if (!read_exact(src, prefix, got)) return gb_fail(GB_INPUT, "%s: cannot read the .npy header", where);
    size_t hstart = 0, hlen = 0;
    GB_TRY(header_span(&hstart, &hlen, prefix, got, where));
    if (hlen > total - hstart)
        return gb_fail(GB_INPUT, "%s: byte 8: header length %zu runs past the end of the file (%zu bytes): truncated?",
                       where, hlen, total);
    const size_t need = hstart + hlen, have = need > got ? need : got;
    unsigned char *buf = malloc(have);
    if (!buf) return gb_fail(GB_ENV, "%s: out of memory for a %zu-byte header", where, hlen);
    memcpy(buf, prefix, got);
    gb_status s = need <= got || read_exact(src, buf + got, need - got)
                      ? GB_OK
                      : gb_fail(GB_INPUT, "%s: cannot read the .npy header", where);
    size_t data_at = 0;
    if (s == GB_OK) s = decode_header(h, &data_at, count, buf, have, total, where);
    GB_ASSERT(s != GB_OK || data_at >= got, "%s: a %zu-byte .npy header", where, data_at);
    free(buf);
    return s;
}

/* The header of an image of `total` bytes read from src, into out (data NULL). */
static gb_status peek_header(gb_npy_array *out, byte_source *src, size_t total, const char *where) {
    npy_header h;
    size_t count = 0;
    GB_TRY(read_header(&h, &count, src, total, where));
    describe(out, &h, count);
    return GB_OK;
}

/* A .npy file, or an .npz member "<key>.npy" (key not NULL), opened at its first byte: src, its
 * size, and its name for messages (where[where_size]). On failure nothing is left open. */
static gb_status open_source(byte_source *src, zip_t **za, size_t *total, char *where, size_t where_size,
                             const char *path, const char *key) {
    memset(src, 0, sizeof *src);
    *za = NULL;
    if (!key) {
        snprintf(where, where_size, "%s", path);
        FILE *fp = fopen(path, "rb");
        if (!fp) return gb_fail(GB_INPUT, "%s: cannot open: %s", path, strerror(errno));
        struct stat st;
        if (fstat(fileno(fp), &st) != 0) {
            fclose(fp);
            return gb_fail(GB_INPUT, "%s: cannot stat: %s", path, strerror(errno));
        }
        src->fp = fp;
        *total = (size_t)st.st_size;
        return GB_OK;
    }
    /* opened with the checks gb_npz_load makes */
    GB_TRY(gb_zip_open(za, path, ".npz/ZIP archive", "write it with numpy.savez"));
    char name[256];
    if (snprintf(name, sizeof name, "%s.npy", key) >= (int)sizeof name) {
        zip_discard(*za);
        *za = NULL;
        return gb_fail(GB_INPUT, "%s: no member %.240s.npy (the name is too long)", path, key);
    }
    snprintf(where, where_size, "%s:%s", path, name);
    zip_stat_t zs;
    zip_stat_init(&zs);
    gb_status s = GB_OK;
    if (zip_stat(*za, name, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE))
        s = gb_fail(GB_INPUT, "%s: no member %s", path, name);
    else if (!(src->zf = zip_fopen(*za, name, 0)))
        s = gb_fail(GB_INPUT, "%s: cannot open the member (%s)", where, zip_strerror(*za));
    if (s != GB_OK) {
        zip_discard(*za);
        *za = NULL;
        return s;
    }
    *total = (size_t)zs.size;
    return GB_OK;
}

static void close_source(byte_source *src, zip_t *za) {
    if (src->fp) fclose(src->fp);
    if (src->zf) zip_fclose(src->zf);
    if (za) zip_discard(za);
    memset(src, 0, sizeof *src);
}

static gb_status peek(gb_npy_array *out, const char *path, const char *key) {
    memset(out, 0, sizeof *out);
    byte_source src;
    zip_t *za;
    size_t total = 0;
    char where[1300];
    GB_TRY(open_source(&src, &za, &total, where, sizeof where, path, key));
    gb_status s = peek_header(out, &src, total, where);
    close_source(&src, za);
    return s;
}

gb_status gb_npy_peek(gb_npy_array *out, const char *path) { return peek(out, path, NULL); }

gb_status gb_npz_peek(gb_npy_array *out, const char *path, const char *key) { return peek(out, path, key); }

/* ---- array data, front to back ---------------------------------------------------------- */

struct gb_npy_stream {
    byte_source src;
    zip_t *za;
    char where[1300];
    size_t itemsize, remaining; /* data bytes not yet read */
    int big_endian;
};

gb_status gb_npy_stream_open(gb_npy_stream **out, gb_npy_array *header, int *fortran, const char *path,
                             const char *key) {
    *out = NULL;
    memset(header, 0, sizeof *header);
    gb_npy_stream *st = calloc(1, sizeof *st);
    if (!st) return gb_fail(GB_ENV, "%s: out of memory", path);
    size_t total = 0, count = 0;
    gb_status s = open_source(&st->src, &st->za, &total, st->where, sizeof st->where, path, key);
    if (s != GB_OK) {
        free(st);
        return s;
    }
    npy_header h;
    s = read_header(&h, &count, &st->src, total, st->where);
    if (s != GB_OK) {
        gb_npy_stream_close(st);
        return s;
    }
    describe(header, &h, count);
    *fortran = h.fortran && h.ndim > 1;
    st->itemsize = gb_npy_itemsize(h.dtype);
    st->remaining = count * st->itemsize;
    st->big_endian = h.big_endian;
    *out = st;
    return GB_OK;
}

gb_status gb_npy_stream_read(gb_npy_stream *st, void *dst, size_t bytes) {
    GB_ASSERT(bytes <= st->remaining && bytes % st->itemsize == 0, "%s: read of %zu bytes with %zu left", st->where,
              bytes, st->remaining);
    if (bytes && !read_exact(&st->src, dst, bytes))
        return gb_fail(GB_INPUT, "%s: the array data is damaged or truncated (a read with %zu bytes left failed%s%s)",
                       st->where, st->remaining, st->src.zf ? ": " : "",
                       st->src.zf ? zip_file_strerror(st->src.zf) : "");
    st->remaining -= bytes;
    if (st->big_endian) swap_bytes(dst, bytes / st->itemsize, st->itemsize);
    return GB_OK;
}

gb_status gb_npy_stream_finish(gb_npy_stream *st) {
    GB_ASSERT(st->remaining == 0, "%s: finished with %zu bytes unread", st->where, st->remaining);
    unsigned char extra;
    if (st->src.zf) { /* one more read must hit the end: that is where libzip checks the CRC-32 */
        zip_int64_t more = zip_fread(st->src.zf, &extra, 1);
        if (more != 0)
            return gb_fail(GB_INPUT, "%s: data is damaged (%s); write it with numpy.savez", st->where,
                           more < 0 ? zip_file_strerror(st->src.zf) : "longer than the central directory says");
    } else if (fread(&extra, 1, 1, st->src.fp) != 0) {
        return gb_fail(GB_INPUT, "%s: the file grew while it was read (was it rewritten meanwhile?)", st->where);
    }
    return GB_OK;
}

void gb_npy_stream_close(gb_npy_stream *st) {
    if (!st) return;
    close_source(&st->src, st->za);
    free(st);
}

gb_status gb_npy_encode(unsigned char **buf, size_t *n, const gb_npy_array *a) {
    *buf = NULL;
    *n = 0;
    GB_ASSERT(a->ndim >= 0 && a->ndim <= GB_NPY_MAX_DIMS, "ndim %d out of range", a->ndim);
    char shape[GB_NPY_MAX_DIMS * 24 + 8];
    size_t k = 0, count = 1;
    shape[k++] = '(';
    for (int i = 0; i < a->ndim; i++) {
        k += (size_t)snprintf(shape + k, sizeof shape - k, i ? ", %zu" : "%zu", a->shape[i]);
        count *= a->shape[i];
    }
    if (a->ndim == 1) shape[k++] = ',';
    shape[k++] = ')';
    shape[k] = 0;
    GB_ASSERT(count == a->count, "array count %zu does not match its shape (%zu)", a->count, count);
    char dict[sizeof shape + 96];
    int dlen = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                        gb_npy_descr(a->dtype), shape);
    /* Pad with spaces, end with '\n', so that prefix + header is a multiple of 64 (at least
     * one space, as numpy does). Version 2.0 only when the header outgrows the u16 length. */
    size_t prefix = 10, hlen = (size_t)dlen + 1;
    size_t pad = 64 - (prefix + hlen) % 64;
    if (hlen + pad > 65535) {
        prefix = 12;
        pad = 64 - (prefix + hlen) % 64;
    }
    hlen += pad;
    size_t bytes = a->count * gb_npy_itemsize(a->dtype), total = prefix + hlen + bytes;
    unsigned char *b = malloc(total);
    if (!b) return gb_fail(GB_ENV, "out of memory encoding a .npy array of %zu bytes", total);
    memcpy(b, npy_magic, sizeof npy_magic);
    b[6] = prefix == 10 ? 1 : 2;
    b[7] = 0;
    for (size_t i = 0; i < prefix - 8; i++) b[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + prefix, dict, (size_t)dlen);
    memset(b + prefix + dlen, ' ', pad);
    b[prefix + hlen - 1] = '\n';
    if (bytes) memcpy(b + prefix + hlen, a->data, bytes);
    *buf = b;
    *n = total;
    return GB_OK;
}

gb_status gb_npy_load(gb_npy_array *out, const char *path) {
    memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t n;
    GB_TRY(gb_read_file(path, &buf, &n));
    gb_status s = gb_npy_decode(out, buf, n, path);
    free(buf);
    return s;
}

gb_status gb_npy_save(const char *path, const gb_npy_array *a) {
    unsigned char *buf;
    size_t n;
    GB_TRY(gb_npy_encode(&buf, &n, a));
    gb_status s = gb_atomic_write(path, buf, n);
    free(buf);
    return s;
}

#define CONVERT_LOOP(T_OUT)                                                                   \
    switch (a->dtype) {                                                                       \
    case GB_NPY_U8: for (size_t i = 0; i < a->count; i++) out[i] = (T_OUT)((const uint8_t *)a->data)[i]; break; \
    case GB_NPY_I32: for (size_t i = 0; i < a->count; i++) out[i] = (T_OUT)((const int32_t *)a->data)[i]; break; \
    case GB_NPY_I64: for (size_t i = 0; i < a->count; i++) out[i] = (T_OUT)((const int64_t *)a->data)[i]; break; \
    case GB_NPY_F32: for (size_t i = 0; i < a->count; i++) out[i] = (T_OUT)((const float *)a->data)[i]; break; \
    case GB_NPY_F64: for (size_t i = 0; i < a->count; i++) out[i] = (T_OUT)((const double *)a->data)[i]; break; \
    }

void gb_npy_to_f64(double *out, const gb_npy_array *a) { CONVERT_LOOP(double) }
void gb_npy_to_f32(float *out, const gb_npy_array *a) { CONVERT_LOOP(float) }

/* ---- .npz ------------------------------------------------------------------------------------ */

void gb_npz_free(gb_npz *z) {
    if (!z) return;
    for (size_t i = 0; i < z->count; i++) {
        free(z->keys ? z->keys[i] : NULL);
        if (z->arrays) gb_npy_free(&z->arrays[i]);
    }
    free(z->keys);
    free(z->arrays);
    memset(z, 0, sizeof *z);
}

const gb_npy_array *gb_npz_find(const gb_npz *z, const char *key) {
    for (size_t i = 0; i < z->count; i++)
        if (strcmp(z->keys[i], key) == 0) return &z->arrays[i];
    return NULL;
}

int gb_npz_has(const char *path, const char *key) {
    int err = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY, &err);
    if (!za) return 0;
    char name[256];
    int found = snprintf(name, sizeof name, "%s.npy", key) < (int)sizeof name && zip_name_locate(za, name, 0) >= 0;
    zip_discard(za);
    return found;
}

static gb_status npz_member(gb_npz *z, zip_t *za, zip_uint64_t i, const char *path, size_t archive_bytes) {
    const char *name = zip_get_name(za, i, 0);
    if (!name)
        return gb_fail(GB_INPUT, "%s: member %llu: unreadable central-directory entry (%s)", path,
                       (unsigned long long)i, zip_strerror(za));
    size_t nl = strlen(name);
    if (nl <= 4 || strcmp(name + nl - 4, ".npy") != 0)
        return gb_fail(GB_INPUT, "%s: member '%s' is not named <key>.npy (write the archive with numpy.savez)", path,
                       name);
    char where[1200];
    snprintf(where, sizeof where, "%s:%s", path, name);
    unsigned char *buf;
    size_t n;
    GB_TRY(gb_zip_read_member(&buf, &n, za, i, archive_bytes, where, "re-create the archive"));
    char *key = strndup(name, nl - 4);
    if (!key) {
        free(buf);
        return gb_fail(GB_ENV, "out of memory");
    }
    gb_status s = gb_npy_decode(&z->arrays[z->count], buf, n, where);
    free(buf);
    if (s != GB_OK) {
        free(key);
        return s;
    }
    z->keys[z->count++] = key;
    return GB_OK;
}

/* Members of the open archive into out: every one (keys NULL), or those named by keys that
 * are present. archive_bytes bounds their claimed sizes. On failure out is freed. */
static gb_status npz_members(gb_npz *out, zip_t *za, const char *path, size_t archive_bytes, const char *const *keys,
                             size_t n_keys) {
    zip_int64_t m = zip_get_num_entries(za, 0);
    size_t slots = keys ? n_keys : (m > 0 ? (size_t)m : 0);
    gb_status s = GB_OK;
    out->keys = calloc(slots ? slots : 1, sizeof *out->keys);
    out->arrays = calloc(slots ? slots : 1, sizeof *out->arrays);
    if (!out->keys || !out->arrays) s = gb_fail(GB_ENV, "%s: out of memory", path);
    for (size_t k = 0; s == GB_OK && k < slots; k++) {
        zip_int64_t i = (zip_int64_t)k;
        if (keys) {
            char name[256];
            if (snprintf(name, sizeof name, "%s.npy", keys[k]) >= (int)sizeof name) continue; /* no such member */
            if ((i = zip_name_locate(za, name, 0)) < 0) continue;
        }
        s = npz_member(out, za, (zip_uint64_t)i, path, archive_bytes);
    }
    if (s != GB_OK) gb_npz_free(out);
    return s;
}

gb_status gb_npz_load(gb_npz *out, const char *path) {
    memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t n;
    GB_TRY(gb_read_file(path, &buf, &n));
    if (n == 0) { /* libzip would open an empty buffer as an archive without members */
        free(buf);
        return gb_fail(GB_INPUT, "%s: an empty file (0 bytes), not an .npz archive; write it with numpy.savez", path);
    }
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_buffer_create(buf, n, 0, &err);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err) : NULL;
    if (!za) {
        gb_status s = gb_fail(GB_INPUT, "%s: not a readable .npz/ZIP archive (%s); write it with numpy.savez", path,
                              zip_error_strerror(&err));
        zip_error_fini(&err);
        if (src) zip_source_free(src);
        free(buf);
        return s;
    }
    zip_error_fini(&err);
    gb_status s = npz_members(out, za, path, n, NULL, 0);
    zip_discard(za); /* also frees src */
    free(buf);
    return s;
}

gb_status gb_npz_load_keys(gb_npz *out, const char *path, const char *const *keys, size_t n_keys) {
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) != 0) return gb_fail(GB_INPUT, "%s: cannot read (%s)", path, strerror(errno));
    zip_t *za;
    GB_TRY(gb_zip_open(&za, path, ".npz/ZIP archive", "write it with numpy.savez"));
    gb_status s = npz_members(out, za, path, (size_t)st.st_size, keys, n_keys);
    zip_discard(za);
    return s;
}

gb_status gb_npz_save(const char *path, const char *const *keys, const gb_npy_array *arrays, size_t n,
                      gb_npz_compression compression) {
    for (size_t i = 0; i < n; i++) {
        if (!keys[i] || !*keys[i]) return gb_fail(GB_USAGE, "%s: npz key %zu is empty", path, i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(keys[i], keys[j]) == 0) return gb_fail(GB_USAGE, "%s: npz key '%s' repeats", path, keys[i]);
    }
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &err);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &err) : NULL;
    if (!za) {
        gb_status s = gb_fail(GB_ENV, "%s: libzip cannot create an in-memory archive (%s)", path,
                              zip_error_strerror(&err));
        zip_error_fini(&err);
        if (src) zip_source_free(src);
        return s;
    }
    zip_error_fini(&err);
    zip_source_keep(src); /* keep the bytes after zip_close to copy them out */
    gb_status s = GB_OK;
    for (size_t i = 0; s == GB_OK && i < n; i++) {
        unsigned char *b;
        size_t bn;
        s = gb_npy_encode(&b, &bn, &arrays[i]);
        if (s != GB_OK) break;
        char name[1024];
        snprintf(name, sizeof name, "%s.npy", keys[i]);
        zip_source_t *ms = zip_source_buffer(za, b, bn, 1);
        zip_int64_t idx = ms ? zip_file_add(za, name, ms, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            if (ms) zip_source_free(ms);
            else free(b);
            s = gb_fail(GB_ENV, "%s: libzip cannot add member %s (%s)", path, name, zip_strerror(za));
            break;
        }
        /* DOS date 0x21 = 1980-01-01, time 0: fixed, so equal arrays give equal bytes. */
        if (zip_set_file_compression(za, (zip_uint64_t)idx, compression == GB_NPZ_DEFLATED ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                                     0) != 0 ||
            zip_file_set_dostime(za, (zip_uint64_t)idx, 0, 0x21, 0) != 0)
            s = gb_fail(GB_ENV, "%s: libzip cannot set the options of member %s (%s)", path, name, zip_strerror(za));
    }
    if (s != GB_OK) {
        zip_discard(za);
        zip_source_free(src);
        return s;
    }
    if (zip_close(za) != 0) {
        s = gb_fail(GB_ENV, "%s: libzip cannot finish the archive (%s)", path, zip_strerror(za));
        zip_discard(za);
        zip_source_free(src);
        return s;
    }
    unsigned char *bytes = NULL;
    zip_int64_t size = -1;
    if (zip_source_open(src) == 0) {
        if (zip_source_seek(src, 0, SEEK_END) == 0) size = zip_source_tell(src);
        if (size >= 0 && zip_source_seek(src, 0, SEEK_SET) == 0 && (bytes = malloc(size ? (size_t)size : 1)) &&
            zip_source_read(src, bytes, (zip_uint64_t)size) != size)
            size = -1;
        zip_source_close(src);
    }
    zip_source_free(src);
    if (size < 0 || !bytes) {
        free(bytes);
        return gb_fail(GB_ENV, "%s: cannot read back the in-memory archive", path);
    }
    s = gb_atomic_write(path, bytes, (size_t)size);
    free(bytes);
    return s;
}
