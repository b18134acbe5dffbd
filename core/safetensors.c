/* core/safetensors.c - safetensors reader (validating, cJSON for the header)
 * and atomic writer. See safetensors.h for the format and the rules; tested by
 * tests/test_safetensors.c with tests/peers/safetensors_ref.py as the peer.
 *
 * cJSON is lenient where the reference reader (serde_json) is strict, so the
 * reader adds the missing checks itself: UTF-8 validity and raw control bytes
 * inside strings (one scan before parsing), only whitespace after the object,
 * and duplicate keys (cJSON keeps both). One known leniency remains: cJSON
 * stores numbers as doubles, so an integral "2.0" in a shape is accepted.
 */
#include "core/safetensors.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "core/atomic_file.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader copies bytes as they are and needs a little-endian host"
#endif

/* The reference reader refuses larger headers (a guard against huge allocations). */
#define GB_ST_MAX_HEADER 100000000ull
/* Integers above 2^53 do not survive cJSON's doubles exactly. */
#define GB_ST_MAX_JSON_INT 9007199254740992.0

static const struct {
    const char *name;
    size_t size;
} dtype_info[GB_DT_COUNT] = {
    [GB_DT_BOOL] = {"BOOL", 1}, [GB_DT_U8] = {"U8", 1},    [GB_DT_I8] = {"I8", 1},
    [GB_DT_I16] = {"I16", 2},   [GB_DT_U16] = {"U16", 2},  [GB_DT_F16] = {"F16", 2},
    [GB_DT_BF16] = {"BF16", 2}, [GB_DT_I32] = {"I32", 4},  [GB_DT_U32] = {"U32", 4},
    [GB_DT_F32] = {"F32", 4},   [GB_DT_F64] = {"F64", 8},  [GB_DT_I64] = {"I64", 8},
    [GB_DT_U64] = {"U64", 8},
};

/* Valid safetensors dtypes that genbench does not read. */
static const char *const unsupported_dtypes[] = {"F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ",
                                                 "C64",     "F4",      "F6_E2M3", "F6_E3M2"};

size_t gb_dtype_size(gb_dtype dt) {
    GB_ASSERT((unsigned)dt < GB_DT_COUNT, "bad dtype %d", (int)dt);
    return dtype_info[dt].size;
}

const char *gb_dtype_name(gb_dtype dt) {
    GB_ASSERT((unsigned)dt < GB_DT_COUNT, "bad dtype %d", (int)dt);
    return dtype_info[dt].name;
}

static int dtype_from_name(const char *s, gb_dtype *out) {
    for (int i = 0; i < GB_DT_COUNT; i++)
        if (strcmp(s, dtype_info[i].name) == 0) {
            *out = (gb_dtype)i;
            return 1;
        }
    return 0;
}

/* ---- small helpers -------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), 0 when invalid (overlong
 * forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return len;
}

static int utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(p + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

static int is_json_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The header checks cJSON does not make: valid UTF-8 throughout, no raw bytes
 * below 0x20 inside strings, no control bytes outside them but whitespace. */
static gb_status check_header_bytes(const char *label, const unsigned char *h, size_t n) {
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = h[i];
        size_t k = utf8_seq(h + i, n - i);
        if (!k)
            return gb_fail(GB_INPUT, "%s: header is not valid UTF-8 at header byte %zu (file offset %zu)", label, i,
                           i + 8);
        if (c < 0x20 && (in_string || !is_json_space(c)))
            return gb_fail(GB_INPUT, "%s: header has a raw control byte 0x%02x at header byte %zu (file offset "
                           "%zu); JSON needs it escaped", label, c, i, i + 8);
        if (in_string) {
            if (escaped) escaped = 0;
            else if (c == '\\') escaped = 1;
            else if (c == '"') in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        }
        i += k;
    }
    return GB_OK;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key that occurs twice in `obj`, or NULL. */
static const char *duplicate_key(const cJSON *obj) {
    size_t n = 0;
    for (const cJSON *c = obj->child; c; c = c->next) n++;
    if (n < 2) return NULL;
    const char **keys = malloc(n * sizeof *keys);
    GB_ASSERT(keys, "out of memory");
    size_t i = 0;
    for (const cJSON *c = obj->child; c; c = c->next) keys[i++] = c->string;
    qsort(keys, n, sizeof *keys, cmp_str_ptr);
    const char *dup = NULL;
    for (i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
    free(keys);
    return dup;
}

static const char *json_kind(const cJSON *v) {
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    return "an invalid value";
}

/* A non-negative JSON integer that doubles represent exactly. Returns NULL and
 * sets *out, or a short reason. */
static const char *json_uint(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return "is not a number";
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d)) return "is not an integer";
    if (d < 0) return "is negative";
    if (d > GB_ST_MAX_JSON_INT) return "is too large (above 2^53)";
    *out = (uint64_t)d;
    return NULL;
}

/* "[5, 6]" for messages. */
static void format_shape(char *buf, size_t cap, const int64_t *shape, int ndim) {
    size_t used = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%" PRId64, i ? ", " : "", shape[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

/* ---- reading ---------------------------------------------------------------- */

typedef struct {
    uint64_t begin, end;
    size_t index;     /* into the tensor array */
    const char *name; /* the tensor's, for ties and messages */
} span;

static gb_status parse_entry(const char *label, const cJSON *item, gb_st_tensor *t, span *sp) {
    const char *name = item->string;
    if (!cJSON_IsObject(item))
        return gb_fail(GB_INPUT, "%s: tensor '%s': entry is %s, expected an object with dtype, shape and "
                       "data_offsets", label, name, json_kind(item));
    const char *dup = duplicate_key(item);
    if (dup) return gb_fail(GB_INPUT, "%s: tensor '%s': duplicate key '%s' in its entry", label, name, dup);

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!dtype) return gb_fail(GB_INPUT, "%s: tensor '%s': missing \"dtype\"", label, name);
    if (!cJSON_IsString(dtype))
        return gb_fail(GB_INPUT, "%s: tensor '%s': dtype is %s, expected a string such as \"F32\"", label, name,
                       json_kind(dtype));
    if (!dtype_from_name(dtype->valuestring, &t->dtype)) {
        for (size_t i = 0; i < sizeof unsupported_dtypes / sizeof *unsupported_dtypes; i++)
            if (strcmp(dtype->valuestring, unsupported_dtypes[i]) == 0)
                return gb_fail(GB_INPUT, "%s: tensor '%s': dtype %s is valid safetensors but not supported by "
                               "genbench (convert it to F32)", label, name, dtype->valuestring);
        return gb_fail(GB_INPUT, "%s: tensor '%s': unknown dtype \"%s\" (expected BOOL, U8, I8, I16, U16, F16, "
                       "BF16, I32, U32, F32, F64, I64 or U64)", label, name, dtype->valuestring);
    }

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    if (!shape) return gb_fail(GB_INPUT, "%s: tensor '%s': missing \"shape\"", label, name);
    if (!cJSON_IsArray(shape))
        return gb_fail(GB_INPUT, "%s: tensor '%s': shape is %s, expected an array of integers", label, name,
                       json_kind(shape));
    int rank = cJSON_GetArraySize(shape);
    if (rank > GB_ST_MAX_RANK)
        return gb_fail(GB_INPUT, "%s: tensor '%s': rank %d exceeds genbench's limit of %d dimensions", label,
                       name, rank, GB_ST_MAX_RANK);
    t->ndim = rank;
    uint64_t nelem = 1;
    int overflow = 0;
    int d = 0;
    for (const cJSON *dim = shape->child; dim; dim = dim->next, d++) {
        uint64_t v;
        const char *why = json_uint(dim, &v);
        if (why) {
            char text[64];
            if (cJSON_IsNumber(dim)) snprintf(text, sizeof text, "%.17g", dim->valuedouble);
            else snprintf(text, sizeof text, "%s", json_kind(dim));
            return gb_fail(GB_INPUT, "%s: tensor '%s': shape dimension %d (%s) %s; dimensions must be "
                           "non-negative integers", label, name, d, text, why);
        }
        t->shape[d] = (int64_t)v;
        if (v != 0 && nelem > UINT64_MAX / v) overflow = 1;
        else nelem *= v;
    }
    size_t esize = dtype_info[t->dtype].size;
    char shape_text[200];
    format_shape(shape_text, sizeof shape_text, t->shape, t->ndim);
    if (overflow || nelem > SIZE_MAX / esize)
        return gb_fail(GB_INPUT, "%s: tensor '%s': shape %s is too large (element count overflows)", label, name,
                       shape_text);
    t->nbytes = (size_t)nelem * esize;

    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!offs) return gb_fail(GB_INPUT, "%s: tensor '%s': missing \"data_offsets\"", label, name);
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return gb_fail(GB_INPUT, "%s: tensor '%s': data_offsets must be an array of two integers [BEGIN, END]",
                       label, name);
    const char *why = json_uint(offs->child, &sp->begin);
    if (!why) why = json_uint(offs->child->next, &sp->end);
    if (why)
        return gb_fail(GB_INPUT, "%s: tensor '%s': a data_offsets value %s; offsets must be non-negative "
                       "integers", label, name, why);
    if (sp->end < sp->begin)
        return gb_fail(GB_INPUT, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before they "
                       "begin", label, name, sp->begin, sp->end);
    if (sp->end - sp->begin != t->nbytes)
        return gb_fail(GB_INPUT, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                       " bytes but %s %s needs %zu", label, name, sp->begin, sp->end, sp->end - sp->begin,
                       dtype_info[t->dtype].name, shape_text, t->nbytes);
    t->name = strdup(name);
    GB_ASSERT(t->name, "out of memory");
    return GB_OK;
}

static gb_status parse_metadata(const char *label, const cJSON *meta, gb_safetensors *st) {
    if (cJSON_IsNull(meta)) return GB_OK; /* the reference reads null as "no metadata" */
    if (!cJSON_IsObject(meta))
        return gb_fail(GB_INPUT, "%s: __metadata__ is %s, expected an object of string values", label,
                       json_kind(meta));
    const char *dup = duplicate_key(meta);
    if (dup) return gb_fail(GB_INPUT, "%s: __metadata__ has the key '%s' twice", label, dup);
    size_t n = (size_t)cJSON_GetArraySize(meta);
    st->meta_keys = calloc(n ? n : 1, sizeof *st->meta_keys);
    st->meta_values = calloc(n ? n : 1, sizeof *st->meta_values);
    GB_ASSERT(st->meta_keys && st->meta_values, "out of memory");
    for (const cJSON *c = meta->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            return gb_fail(GB_INPUT, "%s: __metadata__ value for key '%s' is %s; metadata values must be "
                           "strings", label, c->string, json_kind(c));
        st->meta_keys[st->n_meta] = strdup(c->string);
        st->meta_values[st->n_meta] = strdup(c->valuestring);
        GB_ASSERT(st->meta_keys[st->n_meta] && st->meta_values[st->n_meta], "out of memory");
        st->n_meta++;
    }
    return GB_OK;
}

/* Offset order; ties (zero-size tensors at one offset) by name, for a stable order. */
static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Sorted by offset, the spans must tile [0, data_len) exactly. */
static gb_status check_layout(const char *label, span *spans, size_t n, uint64_t data_len) {
    qsort(spans, n, sizeof *spans, cmp_span);
    uint64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        const span *s = &spans[i];
        const char *name = s->name;
        if (s->begin > pos) {
            if (i == 0)
                return gb_fail(GB_INPUT, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] leave a hole: "
                               "the first tensor must begin at 0", label, name, s->begin, s->end);
            return gb_fail(GB_INPUT, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] leave a hole of %"
                           PRIu64 " bytes after tensor '%s' (which ends at %" PRIu64 ")", label, name, s->begin,
                           s->end, s->begin - pos, spans[i - 1].name, pos);
        }
        if (s->begin < pos)
            return gb_fail(GB_INPUT, "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] overlap tensor "
                           "'%s' [%" PRIu64 ", %" PRIu64 "]", label, name, s->begin, s->end,
                           spans[i - 1].name, spans[i - 1].begin, spans[i - 1].end);
        pos = s->end;
    }
    if (pos > data_len)
        return gb_fail(GB_INPUT, "%s: tensor '%s': data_offsets end at %" PRIu64 " but the data buffer holds "
                       "only %" PRIu64 " bytes (truncated file?)", label, spans[n - 1].name, pos,
                       data_len);
    if (pos < data_len)
        return gb_fail(GB_INPUT, "%s: file not fully covered: %" PRIu64 " trailing bytes after the last "
                       "tensor's data (the buffer holds %" PRIu64 " bytes, the tensors %" PRIu64 ")", label,
                       data_len - pos, data_len, pos);
    return GB_OK;
}

static gb_status parse_header(const char *label, gb_safetensors *st, uint64_t hlen) {
    const unsigned char *h = st->file + 8;
    GB_TRY(check_header_bytes(label, h, (size_t)hlen));
    size_t first = 0;
    while (first < hlen && is_json_space(h[first])) first++;
    if (first == hlen || h[first] != '{')
        return gb_fail(GB_INPUT, "%s: header is not a JSON object (it must start with '{' after optional "
                       "whitespace; found %s)", label, first == hlen ? "nothing" : "another value");

    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)h, (size_t)hlen, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)((const unsigned char *)end - h) : 0;
        return gb_fail(GB_INPUT, "%s: header is not valid JSON (error near header byte %zu, file offset %zu)",
                       label, at, at + 8);
    }
    gb_status s = GB_OK;
    size_t rest = (size_t)((const unsigned char *)end - h);
    while (rest < hlen && is_json_space(h[rest])) rest++;
    const char *dup = NULL;
    if (rest != hlen)
        s = gb_fail(GB_INPUT, "%s: header has extra bytes after the JSON object (header byte %zu)", label, rest);
    else if (!cJSON_IsObject(root))
        s = gb_fail(GB_INPUT, "%s: header is %s, expected a JSON object", label, json_kind(root));
    else if ((dup = duplicate_key(root)))
        s = gb_fail(GB_INPUT, "%s: header has the key '%s' twice; keys must be unique", label, dup);

    size_t n_items = s == GB_OK ? (size_t)cJSON_GetArraySize(root) : 0;
    span *spans = calloc(n_items ? n_items : 1, sizeof *spans);
    st->tensors = calloc(n_items ? n_items : 1, sizeof *st->tensors);
    GB_ASSERT(spans && st->tensors, "out of memory");
    for (const cJSON *item = root->child; item && s == GB_OK; item = item->next) {
        if (strcmp(item->string, "__metadata__") == 0) {
            s = parse_metadata(label, item, st);
            continue;
        }
        size_t i = st->n_tensors;
        s = parse_entry(label, item, &st->tensors[i], &spans[i]);
        if (s == GB_OK) {
            spans[i].index = i;
            spans[i].name = st->tensors[i].name;
            st->n_tensors++;
        }
    }
    cJSON_Delete(root);

    if (s == GB_OK) s = check_layout(label, spans, st->n_tensors, st->file_size - 8 - hlen);
    if (s == GB_OK) {
        /* Put the tensors in file order and point them at their bytes. */
        gb_st_tensor *ordered = calloc(st->n_tensors ? st->n_tensors : 1, sizeof *ordered);
        GB_ASSERT(ordered, "out of memory");
        const unsigned char *buffer = st->file + 8 + hlen;
        for (size_t i = 0; i < st->n_tensors; i++) {
            ordered[i] = st->tensors[spans[i].index];
            ordered[i].data = buffer + spans[i].begin;
        }
        free(st->tensors);
        st->tensors = ordered;
    }
    free(spans);
    return s;
}

gb_status gb_safetensors_parse(const char *label, unsigned char *bytes, size_t n, gb_safetensors *st) {
    GB_ASSERT(label && st && (bytes || n == 0), "gb_safetensors_parse needs a label, bytes and a struct");
    memset(st, 0, sizeof *st);
    st->file = bytes;
    st->file_size = n;
    st->source = strdup(label);
    GB_ASSERT(st->source, "out of memory");

    gb_status s = GB_OK;
    uint64_t hlen = 0;
    if (n < 8) {
        s = gb_fail(GB_INPUT, "%s: file is %zu bytes, shorter than the 8-byte header length (truncated or not a "
                    "safetensors file)", label, n);
    } else {
        for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
        if (hlen > GB_ST_MAX_HEADER)
            s = gb_fail(GB_INPUT, "%s: header length %" PRIu64 " exceeds the limit of %llu bytes (corrupt file or "
                        "not a safetensors file)", label, hlen, GB_ST_MAX_HEADER);
        else if (hlen > n - 8)
            s = gb_fail(GB_INPUT, "%s: header length %" PRIu64 " runs past the end of the file (%zu bytes after "
                        "the length field; truncated file?)", label, hlen, n - 8);
        else
            s = parse_header(label, st, hlen);
    }
    if (s != GB_OK) gb_safetensors_free(st);
    return s;
}

gb_status gb_safetensors_read(const char *path, gb_safetensors *st) {
    GB_ASSERT(path && st, "gb_safetensors_read needs a path and a struct");
    memset(st, 0, sizeof *st);
    unsigned char *bytes = NULL;
    size_t n = 0;
    GB_TRY(gb_read_file(path, &bytes, &n));
    return gb_safetensors_parse(path, bytes, n, st);
}

const gb_st_tensor *gb_safetensors_find(const gb_safetensors *st, const char *name) {
    GB_ASSERT(st && name, "gb_safetensors_find needs a struct and a name");
    for (size_t i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

const char *gb_safetensors_meta(const gb_safetensors *st, const char *key) {
    GB_ASSERT(st && key, "gb_safetensors_meta needs a struct and a key");
    for (size_t i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

void gb_safetensors_free(gb_safetensors *st) {
    if (!st) return;
    if (st->tensors)
        for (size_t i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    free(st->tensors);
    for (size_t i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->meta_keys);
    free(st->meta_values);
    free(st->file);
    free(st->source);
    memset(st, 0, sizeof *st);
}

gb_status gb_safetensors_get_f32(const gb_safetensors *st, const char *name, float *out, size_t count) {
    GB_ASSERT(st && name && (out || count == 0), "gb_safetensors_get_f32 needs a struct, a name and an output");
    const char *src = st->source ? st->source : "<safetensors>";
    const gb_st_tensor *t = gb_safetensors_find(st, name);
    if (!t) {
        char names[512];
        size_t used = 0;
        names[0] = '\0';
        for (size_t i = 0; i < st->n_tensors && used < sizeof names; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s'%s'", i ? ", " : "",
                                     st->tensors[i].name);
        return gb_fail(GB_INPUT, "%s: no tensor '%s' (the file has %zu: %s)", src, name, st->n_tensors,
                       st->n_tensors ? names : "none");
    }
    char shape_text[200];
    format_shape(shape_text, sizeof shape_text, t->shape, t->ndim);
    if (t->dtype != GB_DT_F32)
        return gb_fail(GB_INPUT, "%s: tensor '%s' is %s %s, expected F32", src, name, gb_dtype_name(t->dtype),
                       shape_text);
    if (t->nbytes != count * sizeof(float))
        return gb_fail(GB_INPUT, "%s: tensor '%s' has shape %s (%zu elements), expected %zu elements", src, name,
                       shape_text, t->nbytes / sizeof(float), count);
    if (count) memcpy(out, t->data, t->nbytes);
    return GB_OK;
}

/* ---- writing ---------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->s, cap);
        GB_ASSERT(grown, "out of memory building a safetensors header");
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    GB_ASSERT(n >= 0 && (size_t)n < sizeof tmp, "header fragment too long");
    sb_put(b, tmp, (size_t)n);
}

/* A JSON string literal; UTF-8 passes through, '"', '\\' and controls are escaped. */
static void sb_json_string(strbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            sb_put(b, esc, 2);
        } else if (*p < 0x20) {
            sb_printf(b, "\\u%04x", *p);
        } else {
            sb_put(b, (const char *)p, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static size_t entry_nbytes(const gb_st_entry *e) {
    size_t n = gb_dtype_size(e->dtype);
    for (int d = 0; d < e->ndim; d++) {
        GB_ASSERT(e->shape[d] >= 0, "tensor '%s': negative dimension %" PRId64, e->name, e->shape[d]);
        uint64_t v = (uint64_t)e->shape[d];
        GB_ASSERT(v == 0 || n <= SIZE_MAX / v, "tensor '%s': size overflows", e->name);
        n *= (size_t)v;
    }
    return n;
}

gb_status gb_safetensors_write(const char *path, const gb_st_entry *entries, size_t n,
                               const char *const *meta_kv) {
    GB_ASSERT(path && (entries || n == 0), "gb_safetensors_write needs a path and entries");
    strbuf h = {0};
    sb_put(&h, "{", 1);
    int first = 1;
    if (meta_kv) {
        sb_put(&h, "\"__metadata__\":{", 16);
        for (size_t i = 0; meta_kv[i]; i += 2) {
            GB_ASSERT(meta_kv[i + 1], "metadata key '%s' has no value (the list needs key, value pairs)",
                      meta_kv[i]);
            GB_ASSERT(utf8_valid(meta_kv[i]) && utf8_valid(meta_kv[i + 1]), "metadata '%s' is not valid UTF-8",
                      meta_kv[i]);
            for (size_t j = 0; j < i; j += 2)
                GB_ASSERT(strcmp(meta_kv[j], meta_kv[i]) != 0, "metadata key '%s' given twice", meta_kv[i]);
            if (i) sb_put(&h, ",", 1);
            sb_json_string(&h, meta_kv[i]);
            sb_put(&h, ":", 1);
            sb_json_string(&h, meta_kv[i + 1]);
        }
        sb_put(&h, "}", 1);
        first = 0;
    }
    size_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        const gb_st_entry *e = &entries[i];
        GB_ASSERT(e->name && utf8_valid(e->name), "entry %zu: name missing or not valid UTF-8", i);
        GB_ASSERT(strcmp(e->name, "__metadata__") != 0, "'__metadata__' is reserved, not a tensor name");
        GB_ASSERT(e->ndim >= 0 && e->ndim <= GB_ST_MAX_RANK, "tensor '%s': rank %d outside 0..%d", e->name,
                  e->ndim, GB_ST_MAX_RANK);
        for (size_t j = 0; j < i; j++)
            GB_ASSERT(strcmp(entries[j].name, e->name) != 0, "tensor name '%s' given twice", e->name);
        size_t nbytes = entry_nbytes(e);
        GB_ASSERT(e->data || nbytes == 0, "tensor '%s': NULL data for %zu bytes", e->name, nbytes);
        if (!first) sb_put(&h, ",", 1);
        first = 0;
        sb_json_string(&h, e->name);
        sb_printf(&h, ":{\"dtype\":\"%s\",\"shape\":[", gb_dtype_name(e->dtype));
        for (int d = 0; d < e->ndim; d++) sb_printf(&h, "%s%" PRId64, d ? "," : "", e->shape[d]);
        sb_printf(&h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + nbytes);
        offset += nbytes;
    }
    sb_put(&h, "}", 1);
    /* Spaces up to a multiple of 8 keep the buffer 8-byte aligned in the file. */
    while (h.len % 8) sb_put(&h, " ", 1);

    unsigned char len_le[8];
    for (int i = 0; i < 8; i++) len_le[i] = (unsigned char)((uint64_t)h.len >> (8 * i));

    gb_atomic_file af;
    gb_status s = gb_atomic_open(&af, path);
    if (s == GB_OK) {
        int ok = fwrite(len_le, 1, 8, af.fp) == 8 && fwrite(h.s, 1, h.len, af.fp) == h.len;
        for (size_t i = 0; i < n && ok; i++) {
            size_t nbytes = entry_nbytes(&entries[i]);
            ok = nbytes == 0 || fwrite(entries[i].data, 1, nbytes, af.fp) == nbytes;
        }
        if (ok) {
            s = gb_atomic_commit(&af);
        } else {
            gb_atomic_abort(&af);
            s = gb_fail(GB_ENV, "%s: writing the safetensors data failed (disk full?); the previous file (if "
                        "any) is kept", path);
        }
    }
    free(h.s);
    return s;
}
