/* core/pickle_numpy.c - ndarray interpretation of a pickle tree, and the Python-2 style
 * int64 array writer (see core/pickle_numpy.h). Tested by tests/test_pickle.c.
 */
#include "core/pickle_numpy.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"

const char *const gb_np_pickle_globals[] = {
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
    "_codecs.encode", "__builtin__.bytes", "builtins.bytes", NULL};

const char *gb_np_dtype_name(gb_np_dtype d) {
    switch (d) {
    case GB_NP_U8: return "uint8";
    case GB_NP_I32: return "int32";
    case GB_NP_I64: return "int64";
    case GB_NP_F32: return "float32";
    case GB_NP_F64: return "float64";
    }
    return "?";
}

static size_t dtype_size(gb_np_dtype d) {
    return d == GB_NP_U8 ? 1 : (d == GB_NP_I32 || d == GB_NP_F32) ? 4 : 8;
}

__attribute__((format(printf, 3, 4))) static gb_status np_fail(const gb_pickle *pk, const gb_pk_node *at,
                                                                const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return gb_fail(GB_INPUT, "%s: pickle byte %zu: %s; expected a numpy array pickle (numpy.core.multiarray._reconstruct)",
                   gb_pickle_origin(pk), at ? at->offset : 0, why);
}

static const gb_pk_node *tuple_item(const gb_pk_node *t, size_t i) {
    return t && t->kind == GB_PK_TUPLE && i < t->count ? t->items[i] : NULL;
}

/* The raw data of the BUILD state in any of its three spellings (header comment). *owned
 * is set when *p was malloc'd here. */
static gb_status raw_bytes(const gb_pickle *pk, const gb_pk_node *x, const uint8_t **p, size_t *len, uint8_t **owned) {
    *owned = NULL;
    if (x && x->kind == GB_PK_BYTES) {
        *p = x->bytes;
        *len = x->len;
        return GB_OK;
    }
    if (x && x->kind == GB_PK_REDUCE &&
        (gb_pk_is_global(x->callable, "__builtin__", "bytes") || gb_pk_is_global(x->callable, "builtins", "bytes")) &&
        x->args->count == 0) {
        *p = (const uint8_t *)"";
        *len = 0;
        return GB_OK;
    }
    if (x && x->kind == GB_PK_REDUCE && gb_pk_is_global(x->callable, "_codecs", "encode")) {
        const gb_pk_node *s = tuple_item(x->args, 0), *enc = tuple_item(x->args, 1);
        if (!s || s->kind != GB_PK_STR || x->args->count != 2 || !(gb_pk_is_text(enc, "latin1") || gb_pk_is_text(enc, "latin-1")))
            return np_fail(pk, x, "_codecs.encode of the array data is not (str, 'latin1')");
        uint8_t *out = malloc(s->len + 1);
        if (!out) return gb_fail(GB_ENV, "%s: out of memory decoding array data", gb_pickle_origin(pk));
        size_t o = 0;
        for (size_t i = 0; i < s->len;) { /* UTF-8 -> code points; each must be one Latin-1 byte */
            uint8_t c = s->bytes[i];
            uint32_t cp;
            if (c < 0x80) cp = c, i += 1;
            else if ((c & 0xe0) == 0xc0 && i + 1 < s->len) cp = (uint32_t)(c & 0x1f) << 6 | (s->bytes[i + 1] & 0x3f), i += 2;
            else cp = 0x100, i = s->len;
            if (cp > 0xff) {
                free(out);
                return np_fail(pk, s, "array data holds a character beyond Latin-1, not encoded bytes");
            }
            out[o++] = (uint8_t)cp;
        }
        *p = out;
        *len = o;
        *owned = out;
        return GB_OK;
    }
    return np_fail(pk, x, "array data is a %s, not bytes", x ? gb_pk_kind_name(x->kind) : "missing item");
}

/* numpy.dtype('<code>', align, copy) with BUILD state (version, byteorder, ...). */
static gb_status parse_dtype(const gb_pickle *pk, const gb_pk_node *x, gb_np_dtype *dt, int *big_endian) {
    if (!x || x->kind != GB_PK_REDUCE || !gb_pk_is_global(x->callable, "numpy", "dtype"))
        return np_fail(pk, x, "the dtype is not a numpy.dtype(...) call");
    const gb_pk_node *code = tuple_item(x->args, 0);
    if (!code || (code->kind != GB_PK_STR && code->kind != GB_PK_BYTES) || code->len < 2 || code->len > 3)
        return np_fail(pk, x, "the dtype code is not a short string");
    const char *c = (const char *)code->bytes;
    char order = 0;
    if (code->len == 3) order = *c++;
    if (!strcmp(c, "u1")) *dt = GB_NP_U8;
    else if (!strcmp(c, "i4")) *dt = GB_NP_I32;
    else if (!strcmp(c, "i8")) *dt = GB_NP_I64;
    else if (!strcmp(c, "f4")) *dt = GB_NP_F32;
    else if (!strcmp(c, "f8")) *dt = GB_NP_F64;
    else return np_fail(pk, code, "dtype '%s' is not one of u1, i4, i8, f4, f8", (const char *)code->bytes);
    const gb_pk_node *bo = tuple_item(x->state, 1);
    if (bo && (bo->kind == GB_PK_STR || bo->kind == GB_PK_BYTES) && bo->len == 1) order = (char)bo->bytes[0];
    else if (x->state) return np_fail(pk, x->state, "the dtype state has no byte order");
    if (order && order != '<' && order != '>' && order != '|' && order != '=')
        return np_fail(pk, x, "dtype byte order '%c' is not one of < > | =", order);
    *big_endian = order == '>' && *dt != GB_NP_U8;
    return GB_OK;
}

gb_status gb_np_from_node(gb_np_array *out, const gb_pickle *pk, const gb_pk_node *x, size_t max_count) {
    memset(out, 0, sizeof *out);
    if (!max_count) max_count = (size_t)1 << 31;
    if (!x || x->kind != GB_PK_REDUCE ||
        !(gb_pk_is_global(x->callable, "numpy.core.multiarray", "_reconstruct") ||
          gb_pk_is_global(x->callable, "numpy._core.multiarray", "_reconstruct")))
        return np_fail(pk, x, "the object is a %s, not a numpy array", x ? gb_pk_kind_name(x->kind) : "nothing");
    if (!gb_pk_is_global(tuple_item(x->args, 0), "numpy", "ndarray"))
        return np_fail(pk, x, "_reconstruct does not build a numpy.ndarray (a subclass such as a matrix?)");
    const gb_pk_node *st = x->state;
    int64_t version = 0, fortran = 0;
    if (!st || st->kind != GB_PK_TUPLE || st->count != 5 || !gb_pk_as_int64(st->items[0], &version) || version != 1)
        return np_fail(pk, st ? st : x, "the array state is not (1, shape, dtype, is_fortran, data)");
    const gb_pk_node *shape = st->items[1];
    if (shape->kind != GB_PK_TUPLE || shape->count > GB_NP_MAX_DIMS)
        return np_fail(pk, shape, "the shape is not a tuple of at most %d ints", GB_NP_MAX_DIMS);
    if (!gb_pk_as_int64(st->items[3], &fortran)) return np_fail(pk, st->items[3], "is_fortran is not a bool");
    gb_np_dtype dt = GB_NP_U8;
    int big = 0;
    GB_TRY(parse_dtype(pk, st->items[2], &dt, &big));
    size_t count = 1;
    for (size_t i = 0; i < shape->count; i++) {
        int64_t d;
        if (!gb_pk_as_int64(shape->items[i], &d) || d < 0) return np_fail(pk, shape, "dimension %zu is not an int >= 0", i);
        if (d && count > max_count / (uint64_t)d)
            return np_fail(pk, shape, "the array has more than %zu elements (limit)", max_count);
        count *= (size_t)d;
        out->shape[i] = d;
    }
    const uint8_t *raw = NULL;
    size_t len = 0;
    uint8_t *owned = NULL;
    GB_TRY(raw_bytes(pk, st->items[4], &raw, &len, &owned));
    size_t es = dtype_size(dt);
    if (len != count * es) {
        free(owned);
        memset(out, 0, sizeof *out);
        return np_fail(pk, st->items[4], "%zu data bytes for %zu elements of %s (%zu expected)", len, count,
                       gb_np_dtype_name(dt), count * es);
    }
    uint8_t *data = malloc(len ? len : 1);
    if (!data) {
        free(owned);
        memset(out, 0, sizeof *out);
        return gb_fail(GB_ENV, "%s: out of memory for a %zu-byte array", gb_pickle_origin(pk), len);
    }
    int nd = (int)shape->count;
    if (fortran && nd > 1 && count) {
        /* Walk the Fortran-order source (first index fastest) and place each element at its
         * C-order position. */
        size_t idx[GB_NP_MAX_DIMS] = {0}, cstride[GB_NP_MAX_DIMS];
        cstride[nd - 1] = 1;
        for (int d = nd - 2; d >= 0; d--) cstride[d] = cstride[d + 1] * (size_t)out->shape[d + 1];
        for (size_t f = 0; f < count; f++) {
            size_t c = 0;
            for (int d = 0; d < nd; d++) c += idx[d] * cstride[d];
            memcpy(data + c * es, raw + f * es, es);
            for (int d = 0; d < nd; d++) {
                if (++idx[d] < (size_t)out->shape[d]) break;
                idx[d] = 0;
            }
        }
    } else if (len) {
        memcpy(data, raw, len);
    }
    free(owned);
    if (big)
        for (size_t i = 0; i < count; i++)
            for (size_t a = 0, b = es - 1; a < b; a++, b--) {
                uint8_t t = data[i * es + a];
                data[i * es + a] = data[i * es + b];
                data[i * es + b] = t;
            }
    out->dtype = dt;
    out->ndim = nd;
    out->count = count;
    out->fortran = fortran != 0;
    out->data = data;
    return GB_OK;
}

gb_status gb_np_load_file(gb_np_array *out, const char *path) {
    memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t n;
    GB_TRY(gb_read_file(path, &buf, &n));
    gb_pickle_opts o = {.origin = path, .allow_globals = gb_np_pickle_globals};
    gb_pickle *pk;
    gb_status st = gb_pickle_parse(&pk, buf, n, &o, NULL);
    free(buf);
    if (st != GB_OK) return st;
    st = gb_np_from_node(out, pk, gb_pickle_root(pk), 0);
    gb_pickle_free(pk);
    return st;
}

int gb_np_get_int64(const gb_np_array *a, size_t i, int64_t *out) {
    if (i >= a->count) return 0;
    switch (a->dtype) {
    case GB_NP_U8: *out = ((const uint8_t *)a->data)[i]; return 1;
    case GB_NP_I32: *out = ((const int32_t *)a->data)[i]; return 1;
    case GB_NP_I64: *out = ((const int64_t *)a->data)[i]; return 1;
    case GB_NP_F32:
    case GB_NP_F64: {
        double v = a->dtype == GB_NP_F32 ? ((const float *)a->data)[i] : ((const double *)a->data)[i];
        if (!(v == floor(v)) || fabs(v) > 9.007199254740992e15) return 0;
        *out = (int64_t)v;
        return 1;
    }
    }
    return 0;
}

void gb_np_array_free(gb_np_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- writer ------------------------------------------------------------------------ */

typedef struct {
    unsigned char *p;
    size_t n, cap;
    int memo;
    int oom;
} pk_buf;

static void put(pk_buf *b, const void *src, size_t k) {
    if (b->oom) return;
    if (b->cap - b->n < k) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        while (cap - b->n < k) cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, k);
    b->n += k;
}
static void put_op(pk_buf *b, unsigned char op) { put(b, &op, 1); }
static void put_text(pk_buf *b, const char *s) { put(b, s, strlen(s)); }
static void put_u32(pk_buf *b, uint32_t v) {
    unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put(b, le, 4);
}
/* cPickle's put2: BINPUT for keys < 256, LONG_BINPUT above; keys start at 1. */
static void memoize(pk_buf *b) {
    int key = ++b->memo;
    if (key < 256) {
        unsigned char q[2] = {'q', (unsigned char)key};
        put(b, q, 2);
    } else {
        put_op(b, 'r');
        put_u32(b, (uint32_t)key);
    }
}
static void put_int(pk_buf *b, int64_t v) { /* cPickle save_int at protocol >= 1 */
    if (v >= 0 && v <= 0xff) {
        unsigned char k[2] = {'K', (unsigned char)v};
        put(b, k, 2);
    } else if (v >= 0 && v <= 0xffff) {
        unsigned char m[3] = {'M', (unsigned char)v, (unsigned char)(v >> 8)};
        put(b, m, 3);
    } else {
        put_op(b, 'J');
        put_u32(b, (uint32_t)(int32_t)v);
    }
}
static void put_str(pk_buf *b, const void *s, size_t len) { /* a Python-2 str */
    if (len < 256) {
        unsigned char u[2] = {'U', (unsigned char)len};
        put(b, u, 2);
    } else {
        put_op(b, 'T');
        put_u32(b, (uint32_t)len);
    }
    put(b, s, len);
    memoize(b);
}

gb_status gb_np_pickle_py2_i64(unsigned char **out, size_t *n, const int64_t *values, size_t count) {
    *out = NULL;
    *n = 0;
    if (count > (size_t)INT32_MAX / 8) return gb_fail(GB_INPUT, "an int64 pickle of %zu values is too large for BINSTRING", count);
    pk_buf b = {0};
    put(&b, "\x80\x02", 2);
    put_text(&b, "cnumpy.core.multiarray\n_reconstruct\n");
    memoize(&b);
    put_text(&b, "cnumpy\nndarray\n");
    memoize(&b);
    put_int(&b, 0);
    put_op(&b, 0x85); /* TUPLE1 */
    memoize(&b);
    put_str(&b, "b", 1);
    put_op(&b, 0x87); /* TUPLE3 */
    memoize(&b);
    put_op(&b, 'R');
    memoize(&b);
    put_op(&b, '(');
    put_int(&b, 1);
    put_int(&b, (int64_t)count);
    put_op(&b, 0x85);
    memoize(&b);
    put_text(&b, "cnumpy\ndtype\n");
    memoize(&b);
    put_str(&b, "i8", 2);
    put_int(&b, 0);
    put_int(&b, 1);
    put_op(&b, 0x87);
    memoize(&b);
    put_op(&b, 'R');
    memoize(&b);
    put_op(&b, '(');
    put_int(&b, 3);
    put_str(&b, "<", 1);
    put_text(&b, "NNN");
    put_int(&b, -1);
    put_int(&b, -1);
    put_int(&b, 0);
    put_op(&b, 't');
    memoize(&b);
    put_op(&b, 'b');
    put_op(&b, 0x89); /* NEWFALSE: C order */
    unsigned char *raw = malloc(count * 8 + 1);
    if (!raw) b.oom = 1;
    for (size_t i = 0; raw && i < count; i++)
        for (int k = 0; k < 8; k++) raw[8 * i + (size_t)k] = (unsigned char)((uint64_t)values[i] >> (8 * k));
    if (raw) put_str(&b, raw, count * 8);
    free(raw);
    put_op(&b, 't');
    memoize(&b);
    put_op(&b, 'b');
    put_op(&b, '.');
    if (b.oom) {
        free(b.p);
        return gb_fail(GB_ENV, "out of memory writing an int64 array pickle of %zu values", count);
    }
    *out = b.p;
    *n = b.n;
    return GB_OK;
}
