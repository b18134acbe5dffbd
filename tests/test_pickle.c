/* tests/test_pickle.c - core/pickle and core/pickle_numpy against pickles written by CPython,
 * numpy and torch (tests/peers/zsl_data.py), plus malformed input of every kind.
 *
 *   - every object pickle of the peer (protocols 0-5, and Python-2 style str opcodes) renders
 *     to the canonical string CPython's own unpickler produced (canon() here and in the peer);
 *   - every numpy array pickle (numpy at protocols 0, 2, 4; hand-assembled Python-2 + numpy
 *     streams checked by CPython) gives the right dtype, shape, order flag and bytes;
 *   - a legacy torch.save stream parses pickle by pickle (persistent ids exposed, storage
 *     bytes found after the fifth pickle), and a zip-format data.pkl passes the torch
 *     allow-list but not the numpy one;
 *   - gb_np_pickle_py2_i64 writes exactly the peer's Python-2 cPickle bytes;
 *   - every truncation of several fixtures is GB_INPUT, thousands of corrupted copies never
 *     crash (run under ASan too), and each malformed construct gets GB_INPUT with the origin,
 *     byte offset and opcode in the message.
 * Run: /usr/bin/python3 tests/peers/zsl_data.py DIR && GB_FIXTURES=DIR build/tests/test_pickle
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/pickle.h"
#include "core/pickle_numpy.h"

/* ---- fixtures ------------------------------------------------------------------ */

static char *fixture_path(const char *rel) {
    const char *root = getenv("GB_FIXTURES");
    if (!root) cr_assert_fail("GB_FIXTURES is not set: run /usr/bin/python3 tests/peers/zsl_data.py DIR first");
    static char path[2][1024];
    static int which;
    which ^= 1;
    snprintf(path[which], sizeof path[which], "%s/zsl_data/pickles/%s", root, rel);
    return path[which];
}

static unsigned char *read_fixture(const char *rel, size_t *n) {
    unsigned char *buf;
    const char *path = fixture_path(rel);
    if (gb_read_file(path, &buf, n) != GB_OK)
        cr_assert_fail("fixture %s is missing: run /usr/bin/python3 tests/peers/zsl_data.py $GB_FIXTURES", path);
    return buf;
}

static cJSON *read_index(void) {
    size_t n;
    unsigned char *buf = read_fixture("index.json", &n);
    cJSON *j = cJSON_Parse((const char *)buf);
    free(buf);
    cr_assert(j && cJSON_IsArray(j), "index.json is not a JSON array");
    return j;
}

/* ---- canonical rendering (same grammar as canon() in the peer) ---------------------- */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void sput(sbuf *b, const char *t, size_t k) {
    if (b->n + k + 1 > b->cap) {
        b->cap = (b->n + k + 1) * 2;
        b->s = realloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, t, k);
    b->n += k;
    b->s[b->n] = 0;
}
static void sputs(sbuf *b, const char *t) { sput(b, t, strlen(t)); }
static void shex(sbuf *b, const uint8_t *p, size_t k) {
    char h[3];
    for (size_t i = 0; i < k; i++) {
        snprintf(h, sizeof h, "%02x", p[i]);
        sput(b, h, 2);
    }
}

/* Python's hex(): "0x1f", "-0x1f", "0x0". */
static void canon_int(sbuf *b, const gb_pk_node *x) {
    uint8_t mag[4096];
    size_t k;
    int neg;
    if (!x->big) {
        neg = x->ival < 0;
        uint64_t u = neg ? 0 - (uint64_t)x->ival : (uint64_t)x->ival;
        for (k = 0; k < 8; k++) mag[k] = (uint8_t)(u >> (8 * k));
    } else {
        k = x->len;
        cr_assert(k <= sizeof mag);
        neg = (x->bytes[k - 1] & 0x80) != 0;
        unsigned carry = 1;
        for (size_t i = 0; i < k; i++) {
            if (neg) {
                unsigned t = (uint8_t)~x->bytes[i] + carry;
                mag[i] = (uint8_t)t;
                carry = t >> 8;
            } else {
                mag[i] = x->bytes[i];
            }
        }
    }
    while (k > 1 && mag[k - 1] == 0) k--;
    sputs(b, neg ? "i-0x" : "i0x");
    char h[4];
    snprintf(h, sizeof h, "%x", mag[k - 1]);
    sputs(b, h);
    for (size_t i = k - 1; i-- > 0;) {
        snprintf(h, sizeof h, "%02x", mag[i]);
        sputs(b, h);
    }
}

static void canon(sbuf *b, const gb_pk_node *x);

static void canon_items(sbuf *b, const gb_pk_node *x, const char *open, const char *close) {
    sputs(b, open);
    size_t m = x->kind == GB_PK_DICT ? 2 * x->count : x->count;
    for (size_t i = 0; i < m; i++) {
        if (i) sputs(b, x->kind == GB_PK_DICT && (i & 1) ? ":" : ",");
        canon(b, x->items[i]);
    }
    sputs(b, close);
}

static void canon(sbuf *b, const gb_pk_node *x) {
    switch (x->kind) {
    case GB_PK_NONE: sputs(b, "N"); return;
    case GB_PK_BOOL: sputs(b, x->ival ? "T" : "F"); return;
    case GB_PK_INT: canon_int(b, x); return;
    case GB_PK_FLOAT: {
        uint64_t u;
        memcpy(&u, &x->fval, 8);
        uint8_t be[8];
        for (int i = 0; i < 8; i++) be[i] = (uint8_t)(u >> (56 - 8 * i));
        sputs(b, "f");
        shex(b, be, 8);
        return;
    }
    case GB_PK_STR: sputs(b, "s"); shex(b, x->bytes, x->len); return;
    case GB_PK_BYTES: sputs(b, "b"); shex(b, x->bytes, x->len); return;
    case GB_PK_TUPLE: canon_items(b, x, "(", ")"); return;
    case GB_PK_LIST: canon_items(b, x, "[", "]"); return;
    case GB_PK_DICT: canon_items(b, x, "{", "}"); return;
    case GB_PK_PERSID: sputs(b, "P"); canon(b, x->pid); return;
    case GB_PK_REDUCE:
        /* Python 3 writes bytes at protocols 0-2 as _codecs.encode(str, 'latin1') and b'' as
         * bytes(); CPython's unpickler turns both back into bytes. */
        if (gb_pk_is_global(x->callable, "_codecs", "encode") && x->args->count == 2 &&
            x->args->items[0]->kind == GB_PK_STR && gb_pk_is_text(x->args->items[1], "latin1")) {
            const gb_pk_node *s = x->args->items[0];
            sputs(b, "b");
            for (size_t i = 0; i < s->len;) {
                uint8_t c = s->bytes[i];
                uint8_t v = c < 0x80 ? c : (uint8_t)((c & 0x1f) << 6 | (s->bytes[i + 1] & 0x3f));
                i += c < 0x80 ? 1 : 2;
                shex(b, &v, 1);
            }
            return;
        }
        if ((gb_pk_is_global(x->callable, "__builtin__", "bytes") || gb_pk_is_global(x->callable, "builtins", "bytes")) &&
            x->args->count == 0) {
            sputs(b, "b");
            return;
        }
        break;
    default: break;
    }
    sputs(b, "?");
    sputs(b, gb_pk_kind_name(x->kind));
}

static char *canon_of(const gb_pickle *pk) {
    sbuf b = {0};
    canon(&b, gb_pickle_root(pk));
    return b.s;
}

/* ---- peer parity -------------------------------------------------------------------- */

Test(pickle, objects_match_cpython) {
    cJSON *index = read_index();
    int checked = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, index) {
        const char *file = cJSON_GetObjectItem(e, "file")->valuestring;
        if (strcmp(cJSON_GetObjectItem(e, "kind")->valuestring, "object")) continue;
        size_t n;
        unsigned char *buf = read_fixture(file, &n);
        gb_pickle *pk;
        gb_pickle_opts o = {.origin = file};
        size_t used = 0;
        gb_status st = gb_pickle_parse(&pk, buf, n, &o, &used);
        cr_assert_eq(st, GB_OK, "%s: %s", file, gb_last_error());
        cr_expect_eq(used, n, "%s: consumed %zu of %zu bytes", file, used, n);
        char *got = canon_of(pk);
        const char *want = cJSON_GetObjectItem(e, "canon")->valuestring;
        cr_expect_str_eq(got, want, "%s: tree differs from CPython's object", file);
        free(got);
        gb_pickle_free(pk);
        free(buf);
        checked++;
    }
    cr_expect_eq(checked, 4 * 8 + 2, "expected 34 object pickles in the index, found %d", checked);
    cJSON_Delete(index);
}

static gb_np_dtype dtype_of(const char *s) {
    if (!strcmp(s, "uint8")) return GB_NP_U8;
    if (!strcmp(s, "int32")) return GB_NP_I32;
    if (!strcmp(s, "int64")) return GB_NP_I64;
    if (!strcmp(s, "float32")) return GB_NP_F32;
    cr_assert_str_eq(s, "float64");
    return GB_NP_F64;
}

Test(pickle, numpy_arrays_match_numpy) {
    cJSON *index = read_index();
    int checked = 0;
    cJSON *e;
    cJSON_ArrayForEach(e, index) {
        const char *file = cJSON_GetObjectItem(e, "file")->valuestring;
        if (strcmp(cJSON_GetObjectItem(e, "kind")->valuestring, "array")) continue;
        gb_np_array a;
        gb_status st = gb_np_load_file(&a, fixture_path(file));
        cr_assert_eq(st, GB_OK, "%s: %s", file, gb_last_error());
        cr_expect_eq(a.dtype, dtype_of(cJSON_GetObjectItem(e, "dtype")->valuestring), "%s: dtype %s", file,
                     gb_np_dtype_name(a.dtype));
        cJSON *shape = cJSON_GetObjectItem(e, "shape");
        cr_assert_eq(a.ndim, cJSON_GetArraySize(shape), "%s: ndim %d", file, a.ndim);
        size_t count = 1;
        for (int d = 0; d < a.ndim; d++) {
            cr_expect_eq(a.shape[d], (int64_t)cJSON_GetArrayItem(shape, d)->valuedouble, "%s: dim %d", file, d);
            count *= (size_t)a.shape[d];
        }
        cr_expect_eq(a.count, count);
        cr_expect_eq(a.fortran, cJSON_IsTrue(cJSON_GetObjectItem(e, "fortran")), "%s: fortran flag", file);
        size_t rn;
        unsigned char *raw = read_fixture(cJSON_GetObjectItem(e, "raw")->valuestring, &rn);
        size_t es = a.dtype == GB_NP_U8 ? 1 : (a.dtype == GB_NP_I32 || a.dtype == GB_NP_F32) ? 4 : 8;
        cr_assert_eq(rn, a.count * es, "%s: %zu raw bytes for %zu elements", file, rn, a.count);
        cr_expect(rn == 0 || memcmp(raw, a.data, rn) == 0, "%s: values differ from numpy's", file);
        free(raw);
        gb_np_array_free(&a);
        checked++;
    }
    cr_expect_eq(checked, 11 * 5, "expected 55 array pickles, found %d", checked);
    cJSON_Delete(index);
}

Test(pickle, int64_accessor) {
    gb_np_array a;
    cr_assert_eq(gb_np_load_file(&a, fixture_path("arr_i4_py2_p0.pkl")), GB_OK, "%s", gb_last_error());
    int64_t v;
    cr_assert(gb_np_get_int64(&a, 5, &v));
    cr_expect_eq(v, INT32_MIN);
    cr_expect(!gb_np_get_int64(&a, 6, &v), "index past the end accepted");
    gb_np_array_free(&a);
    cr_assert_eq(gb_np_load_file(&a, fixture_path("arr_f4_p2.pkl")), GB_OK, "%s", gb_last_error());
    cr_expect(!gb_np_get_int64(&a, 0, &v), "0.5 read as an integer");
    cr_expect(!gb_np_get_int64(&a, 4, &v), "inf read as an integer");
    gb_np_array_free(&a);
}

/* ---- torch containers ---------------------------------------------------------------- */

static const gb_pk_node *dict_item(const gb_pk_node *d, const char *key) {
    const gb_pk_node *v = gb_pk_dict_get(d, key);
    cr_assert(v, "dict has no key '%s'", key);
    return v;
}

Test(pickle, torch_legacy_stream) {
    size_t n, off = 0;
    unsigned char *buf = read_fixture("torch_legacy.pt", &n);
    gb_pickle *pk[5];
    for (int i = 0; i < 5; i++) {
        gb_pickle_opts o = {.origin = "torch_legacy.pt", .base_offset = off};
        size_t used;
        cr_assert_eq(gb_pickle_parse(&pk[i], buf + off, n - off, &o, &used), GB_OK, "pickle %d: %s", i, gb_last_error());
        off += used;
    }
    /* 1: the magic number 0x1950a86a20f9469cfc6c, 80 bits */
    const gb_pk_node *magic = gb_pickle_root(pk[0]);
    static const uint8_t want_magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    cr_assert(magic->kind == GB_PK_INT && magic->big && magic->len == 10, "magic is not an 80-bit int");
    cr_expect(memcmp(magic->bytes, want_magic, 10) == 0, "magic bytes differ");
    int64_t v;
    cr_expect(gb_pk_as_int64(gb_pickle_root(pk[1]), &v) && v == 1001, "protocol version");
    cr_expect(gb_pk_dict_get(gb_pickle_root(pk[2]), "little_endian")->ival == 1, "sys_info.little_endian");
    /* 4: {'w': _rebuild_tensor_v2(PERSID(('storage', FloatStorage, key, 'cpu', 4, None)), 0, (4,), ...)} */
    const gb_pk_node *w = dict_item(gb_pickle_root(pk[3]), "w");
    cr_assert_eq(w->kind, GB_PK_REDUCE);
    cr_expect(gb_pk_is_global(w->callable, "torch._utils", "_rebuild_tensor_v2"));
    const gb_pk_node *pers = w->args->items[0];
    cr_assert_eq(pers->kind, GB_PK_PERSID, "storage is a %s", gb_pk_kind_name(pers->kind));
    const gb_pk_node *pid = pers->pid;
    cr_assert(pid->kind == GB_PK_TUPLE && pid->count >= 5);
    cr_expect(gb_pk_is_text(pid->items[0], "storage"));
    cr_expect(gb_pk_is_global(pid->items[1], "torch", "FloatStorage"));
    cr_expect(gb_pk_is_text(pid->items[3], "cpu"));
    cr_expect(gb_pk_as_int64(pid->items[4], &v) && v == 4);
    const char *wkey = (const char *)pid->items[2]->bytes;
    /* 5: the storage keys, sorted as strings; then per key: int64 numel + raw data */
    const gb_pk_node *keys = gb_pickle_root(pk[4]);
    cr_assert_eq(keys->kind, GB_PK_LIST);
    cr_assert_eq(keys->count, 2);
    int found = 0;
    for (size_t k = 0; k < keys->count; k++) {
        cr_assert(off + 8 <= n);
        int64_t numel;
        memcpy(&numel, buf + off, 8);
        off += 8;
        size_t es = gb_pk_is_text(keys->items[k], wkey) ? 4 : 8;
        if (es == 4) {
            float f[4];
            cr_assert_eq(numel, 4);
            memcpy(f, buf + off, sizeof f);
            cr_expect(f[0] == 0.0f && f[1] == 0.5f && f[2] == 1.0f && f[3] == 1.5f, "w storage values");
            found = 1;
        }
        off += (size_t)numel * es;
    }
    cr_expect(found, "storage key of 'w' not in the key list");
    cr_expect_eq(off, n, "bytes left after the storages");
    for (int i = 0; i < 5; i++) gb_pickle_free(pk[i]);
    free(buf);
}

Test(pickle, torch_zip_allow_list) {
    size_t n;
    unsigned char *buf = read_fixture("torch_zip_data.pkl", &n);
    static const char *const torch_ok[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                           "torch.*Storage", NULL};
    gb_pickle *pk;
    gb_pickle_opts o = {.origin = "data.pkl", .allow_globals = torch_ok};
    cr_assert_eq(gb_pickle_parse(&pk, buf, n, &o, NULL), GB_OK, "%s", gb_last_error());
    const gb_pk_node *t = dict_item(gb_pickle_root(pk), "n");
    cr_assert_eq(t->args->items[0]->kind, GB_PK_PERSID);
    cr_expect(gb_pk_is_global(t->args->items[0]->pid->items[1], "torch", "LongStorage"));
    cr_expect(gb_pk_is_global(t->args->items[5]->callable, "collections", "OrderedDict"));
    gb_pickle_free(pk);
    o.allow_globals = gb_np_pickle_globals;
    cr_assert_eq(gb_pickle_parse(&pk, buf, n, &o, NULL), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "torch._utils._rebuild_tensor_v2") && strstr(gb_last_error(), "data.pkl"), "%s",
              gb_last_error());
    free(buf);
}

/* ---- the Python-2 writer ------------------------------------------------------------- */

Test(pickle, py2_writer_bytes_match_peer) {
    const int64_t v[5] = {0, 1, -2, 300, (int64_t)1 << 40};
    unsigned char *mine;
    size_t mn, rn;
    cr_assert_eq(gb_np_pickle_py2_i64(&mine, &mn, v, 5), GB_OK);
    unsigned char *ref = read_fixture("py2_i64_ref.pkl", &rn);
    cr_expect_eq(mn, rn, "writer made %zu bytes, the peer %zu", mn, rn);
    cr_expect(mn == rn && memcmp(mine, ref, mn) == 0, "writer bytes differ from the peer's Python-2 cPickle bytes");
    free(mine);
    free(ref);
}

Test(pickle, py2_writer_round_trip) {
    size_t counts[] = {0, 1, 31, 32, 1000};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        size_t m = counts[c];
        int64_t *v = malloc((m + 1) * sizeof *v);
        for (size_t i = 0; i < m; i++) v[i] = (int64_t)(i * 2654435761u) - (int64_t)1000000 * (int64_t)(i & 7);
        unsigned char *p;
        size_t n;
        cr_assert_eq(gb_np_pickle_py2_i64(&p, &n, v, m), GB_OK);
        gb_pickle *pk;
        gb_pickle_opts o = {.origin = "written", .allow_globals = gb_np_pickle_globals};
        cr_assert_eq(gb_pickle_parse(&pk, p, n, &o, NULL), GB_OK, "%s", gb_last_error());
        gb_np_array a;
        cr_assert_eq(gb_np_from_node(&a, pk, gb_pickle_root(pk), 0), GB_OK, "%s", gb_last_error());
        cr_expect(a.dtype == GB_NP_I64 && a.ndim == 1 && a.shape[0] == (int64_t)m && a.count == m);
        cr_expect(m == 0 || memcmp(a.data, v, m * 8) == 0, "values differ for %zu elements", m);
        gb_np_array_free(&a);
        gb_pickle_free(pk);
        free(p);
        free(v);
    }
}

/* ---- truncation and corruption -------------------------------------------------------- */

static const char *const robust_files[] = {"arr_i8_p0.pkl", "arr_f8_fortran_p2.pkl", "arr_i4_py2_p0.pkl",
                                           "arr_labels_long_py2_p2.pkl", "obj_scalars_p0.pkl", "obj_nested_p2.pkl",
                                           "obj_shared_p4.pkl", "obj_scalars_py2_p0.pkl", "pers_p0.pkl",
                                           "torch_zip_data.pkl"};

Test(pickle, every_truncation_is_input_error) {
    for (size_t f = 0; f < sizeof robust_files / sizeof robust_files[0]; f++) {
        size_t n;
        unsigned char *buf = read_fixture(robust_files[f], &n);
        for (size_t cut = 0; cut < n; cut++) {
            unsigned char *copy = malloc(cut + 1); /* exact size: ASan sees any over-read */
            memcpy(copy, buf, cut);
            gb_pickle *pk = NULL;
            gb_pickle_opts o = {.origin = robust_files[f]};
            gb_status st = gb_pickle_parse(&pk, copy, cut, &o, NULL);
            cr_assert_eq(st, GB_INPUT, "%s cut at %zu: status %d", robust_files[f], cut, st);
            cr_assert(pk == NULL);
            cr_assert(strstr(gb_last_error(), robust_files[f]) && strstr(gb_last_error(), "pickle byte"), "%s",
                      gb_last_error());
            free(copy);
        }
        free(buf);
    }
}

Test(pickle, corrupted_bytes_never_crash) {
    static const uint8_t patterns[] = {0x01, 0x80, 0xff, 0x7f, 0x10};
    size_t ok = 0, bad = 0;
    for (size_t f = 0; f < sizeof robust_files / sizeof robust_files[0]; f++) {
        size_t n;
        unsigned char *buf = read_fixture(robust_files[f], &n);
        unsigned char *copy = malloc(n);
        for (size_t i = 0; i < n; i++)
            for (size_t p = 0; p < sizeof patterns; p++) {
                memcpy(copy, buf, n);
                copy[i] ^= patterns[p];
                gb_pickle *pk = NULL;
                gb_pickle_opts o = {.origin = robust_files[f], .allow_globals = NULL, .max_depth = 64};
                gb_status st = gb_pickle_parse(&pk, copy, n, &o, NULL);
                cr_assert(st == GB_OK || st == GB_INPUT, "status %d", st);
                if (st == GB_OK) {
                    /* whatever parsed must still be safe to interpret */
                    gb_np_array a;
                    if (gb_np_from_node(&a, pk, gb_pickle_root(pk), 1 << 20) == GB_OK) gb_np_array_free(&a);
                    gb_pickle_free(pk);
                    ok++;
                } else {
                    cr_assert(strstr(gb_last_error(), robust_files[f]), "%s", gb_last_error());
                    bad++;
                }
            }
        free(copy);
        free(buf);
    }
    cr_expect(bad > 1000, "only %zu corruptions were rejected (%zu parsed)", bad, ok);
}

/* ---- malformed constructs ------------------------------------------------------------- */

static void expect_bad(const char *bytes, size_t n, const char *needle, size_t offset) {
    unsigned char *copy = malloc(n + 1);
    memcpy(copy, bytes, n);
    gb_pickle *pk = NULL;
    gb_pickle_opts o = {.origin = "crafted.pkl", .base_offset = 1000};
    gb_status st = gb_pickle_parse(&pk, copy, n, &o, NULL);
    free(copy);
    cr_assert_eq(st, GB_INPUT, "expected GB_INPUT for '%s', got %d", needle, st);
    char where[64];
    snprintf(where, sizeof where, "pickle byte %zu", offset + 1000);
    cr_expect(strstr(gb_last_error(), needle), "message lacks '%s': %s", needle, gb_last_error());
    cr_expect(strstr(gb_last_error(), where), "message lacks '%s': %s", where, gb_last_error());
    cr_expect(strstr(gb_last_error(), "crafted.pkl"), "%s", gb_last_error());
}
#define BAD(lit, needle, off) expect_bad(lit, sizeof(lit) - 1, needle, off)

Test(pickle, malformed_constructs) {
    BAD("\x80\x02\xff.", "0xff", 2);
    BAD("\x80\x02.", "stack underflow", 2);
    BAD("\x80\x02K\x01t.", "no MARK", 4);
    BAD("\x80\x02h\x05.", "memo key 5", 2);
    BAD("\x80\x02K\x01q\x00j\x00\x01\x00\x00.", "memo key 256", 6);
    BAD("\x80\x02K\x01K\x02" "a.", "not a list", 6);
    BAD("\x80\x02]K\x01K\x02s.", "not a dict", 7);
    BAD("\x80\x02(K\x01" "d.", "odd number", 5);
    BAD("\x80\x02T\xff\xff\xff\xff.", "negative length", 2);
    BAD("\x80\x02\x8b\x00\x00\x00\x80.", "negative LONG4", 2);
    BAD("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\x7f.", "truncated", 2);
    BAD("\x80\x02X\x02\x00\x00\x00\xc3\x28.", "UTF-8", 2);
    BAD("S'abc\n.", "not quoted", 0);
    BAD("S'a\\x4'\n.", "\\x", 0);
    BAD("I12a\n.", "not a decimal", 0);
    BAD("I99999999999999999999\n.", "64 bits", 0);
    BAD("F1.5x\n.", "not a float", 0);
    BAD("Vab\\u12\n.", "\\u", 0);
    BAD("Vab\\U00110000\n.", "U+10FFFF", 0);
    BAD("cnumpy\ndtype", "unterminated", 0);
    BAD("c\ndtype\n.", "empty module", 0);
    BAD("\x80\x02K\x01K\x02R.", "not a tuple", 6);
    BAD("\x80\x02(ios\nsystem\n.", "not supported", 3);
    BAD("\x80\x06N.", "protocol 6", 0);
    BAD("\x80\x02]q\x00h\x00" "a.", "recursive", 2);
    BAD("\x80\x02" "a.", "stack underflow", 2);
    BAD("\x80\x02N", "before the STOP", 3);
    BAD("", "before the STOP", 0);
    BAD("\x80\x02K\x01\x85\x86.", "TUPLE2", 5);
}

Test(pickle, pop_at_mark_removes_the_mark) {
    /* CPython: POP right at a MARK drops the MARK, above it drops the top item */
    const char p[] = "K\x01(0\x85.";
    gb_pickle *pk;
    cr_assert_eq(gb_pickle_parse(&pk, (const uint8_t *)p, sizeof p - 1, NULL, NULL), GB_OK, "%s", gb_last_error());
    char *c = canon_of(pk);
    cr_expect_str_eq(c, "(i0x1)");
    free(c);
    gb_pickle_free(pk);
    const char q[] = "K\x01(K\x02" "0t.";
    cr_assert_eq(gb_pickle_parse(&pk, (const uint8_t *)q, sizeof q - 1, NULL, NULL), GB_OK, "%s", gb_last_error());
    c = canon_of(pk);
    cr_expect_str_eq(c, "()");
    free(c);
    gb_pickle_free(pk);
}

/* Found by fuzz/pickle_fuzz.c (UBSan: zero offset applied to a NULL items pointer): APPENDS
 * and SETITEMS with nothing after the MARK, on a container that is still empty. The sanitised
 * build with UBSAN_OPTIONS=halt_on_error=1 fails here without the fix. */
Test(pickle, empty_appends_and_setitems) {
    static const struct { const char *bytes; gb_pk_kind kind; } cases[] = {{"](e.", GB_PK_LIST}, {"}(u.", GB_PK_DICT}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gb_pickle *pk;
        cr_assert_eq(gb_pickle_parse(&pk, (const uint8_t *)cases[i].bytes, 4, NULL, NULL), GB_OK, "%s: %s",
                     cases[i].bytes, gb_last_error());
        const gb_pk_node *root = gb_pickle_root(pk);
        cr_expect(root->kind == cases[i].kind && root->count == 0, "%s: a %s of %zu items", cases[i].bytes,
                  gb_pk_kind_name(root->kind), root->count);
        gb_pickle_free(pk);
    }
}

/* n nested lists: EMPTY_LIST x n then APPEND x (n-1). */
static unsigned char *nested(size_t n, size_t *len) {
    unsigned char *p = malloc(2 * n + 4);
    size_t k = 0;
    p[k++] = 0x80;
    p[k++] = 2;
    for (size_t i = 0; i < n; i++) p[k++] = ']';
    for (size_t i = 1; i < n; i++) p[k++] = 'a';
    p[k++] = '.';
    *len = k;
    return p;
}

Test(pickle, depth_limit) {
    size_t n;
    unsigned char *p = nested(256, &n);
    gb_pickle *pk;
    cr_expect_eq(gb_pickle_parse(&pk, p, n, NULL, NULL), GB_OK, "256 levels are within the default: %s",
                 gb_last_error());
    gb_pickle_free(pk);
    free(p);
    p = nested(257, &n);
    cr_expect_eq(gb_pickle_parse(&pk, p, n, NULL, NULL), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "deeper than 256"), "%s", gb_last_error());
    gb_pickle_opts o = {.max_depth = 300};
    cr_expect_eq(gb_pickle_parse(&pk, p, n, &o, NULL), GB_OK, "%s", gb_last_error());
    gb_pickle_free(pk);
    free(p);
}

Test(pickle, depth_through_shared_subtree) {
    /* a 200-deep chain, memoised, then fetched (GET) inside 100 more lists: 300 levels,
     * although the walk meets the shared chain a second time already finished */
    unsigned char p[1024];
    size_t k = 0;
    p[k++] = 0x80;
    p[k++] = 2;
    for (int i = 0; i < 200; i++) p[k++] = ']';
    for (int i = 1; i < 200; i++) p[k++] = 'a';
    p[k++] = 'q';
    p[k++] = 0;
    p[k++] = ']'; /* outer: [chain, [[...[chain]...]]] */
    p[k++] = 'h';
    p[k++] = 0;
    p[k++] = 'a';
    for (int i = 0; i < 100; i++) p[k++] = ']';
    p[k++] = 'h';
    p[k++] = 0;
    for (int i = 0; i < 100; i++) p[k++] = 'a';
    p[k++] = 'a';
    p[k++] = '.'; /* the chain left under the outer list is ignored, as by CPython */
    gb_pickle *pk;
    gb_pickle_opts o = {.max_depth = 300};
    cr_expect_eq(gb_pickle_parse(&pk, p, k, &o, NULL), GB_INPUT, "301 levels passed a 300 limit");
    cr_expect(strstr(gb_last_error(), "deeper than 300"), "%s", gb_last_error());
    o.max_depth = 301;
    cr_expect_eq(gb_pickle_parse(&pk, p, k, &o, NULL), GB_OK, "%s", gb_last_error());
    gb_pickle_free(pk);
}

Test(pickle, wide_sharing_is_linear) {
    /* one list referenced 50,000 times: a walk per reference would be 50,000 x 50,000 */
    size_t reps = 50000, k = 0;
    unsigned char *p = malloc(8 + 3 * reps);
    p[k++] = 0x80;
    p[k++] = 2;
    p[k++] = ']';
    p[k++] = 'q';
    p[k++] = 0;
    p[k++] = '(';
    for (size_t i = 0; i < reps; i++) p[k++] = 'h', p[k++] = 0;
    p[k++] = 'l';
    p[k++] = '.';
    gb_pickle *pk;
    cr_assert_eq(gb_pickle_parse(&pk, p, k, NULL, NULL), GB_OK, "%s", gb_last_error());
    cr_expect_eq(gb_pickle_root(pk)->count, reps);
    gb_pickle_free(pk);
    free(p);
}

Test(pickle, node_limit_and_trailing_bytes) {
    size_t n;
    unsigned char *p = nested(20, &n);
    gb_pickle *pk;
    gb_pickle_opts o = {.max_nodes = 10, .origin = "limits"};
    cr_expect_eq(gb_pickle_parse(&pk, p, n, &o, NULL), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "10 nodes"), "%s", gb_last_error());
    free(p);
    const char two[] = "K\x05.K\x06.";
    size_t used;
    cr_assert_eq(gb_pickle_parse(&pk, (const uint8_t *)two, sizeof two - 1, NULL, &used), GB_OK);
    cr_expect_eq(used, 3);
    cr_expect_eq(gb_pickle_root(pk)->ival, 5);
    gb_pickle_free(pk);
}

Test(pickle, allow_list_rejects_other_globals) {
    const char evil[] = "\x80\x02" "cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.";
    gb_pickle *pk;
    gb_pickle_opts o = {.origin = "evil.pkl", .allow_globals = gb_np_pickle_globals};
    cr_assert_eq(gb_pickle_parse(&pk, (const uint8_t *)evil, sizeof evil - 1, &o, NULL), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "'os.system'") && strstr(gb_last_error(), "pickle byte 2"), "%s",
              gb_last_error());
    o.allow_globals = NULL; /* recorded only: still nothing runs */
    cr_assert_eq(gb_pickle_parse(&pk, (const uint8_t *)evil, sizeof evil - 1, &o, NULL), GB_OK);
    cr_expect(gb_pk_is_global(gb_pickle_root(pk)->callable, "os", "system"));
    gb_pickle_free(pk);
}

/* ---- numpy interpretation errors ------------------------------------------------------- */

static gb_status np_from_bytes(const unsigned char *p, size_t n, gb_np_array *a) {
    gb_pickle *pk;
    gb_pickle_opts o = {.origin = "np.pkl", .allow_globals = gb_np_pickle_globals};
    GB_TRY(gb_pickle_parse(&pk, p, n, &o, NULL));
    gb_status st = gb_np_from_node(a, pk, gb_pickle_root(pk), 0);
    gb_pickle_free(pk);
    return st;
}

static size_t find(const unsigned char *p, size_t n, const char *needle, size_t k) {
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(p + i, needle, k)) return i;
    cr_assert_fail("pattern not found");
    return 0;
}

Test(pickle, numpy_interpretation_errors) {
    const int64_t v[5] = {1, 2, 3, 4, 5};
    unsigned char *p;
    size_t n;
    cr_assert_eq(gb_np_pickle_py2_i64(&p, &n, v, 5), GB_OK);
    gb_np_array a;
    /* shape 6 for 40 data bytes */
    unsigned char *q = malloc(n);
    memcpy(q, p, n);
    q[find(q, n, "K\x01K\x05\x85", 5) + 3] = 6;
    cr_expect_eq(np_from_bytes(q, n, &a), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "40 data bytes for 6 elements"), "%s", gb_last_error());
    cr_expect(a.data == NULL);
    /* an unsupported dtype */
    memcpy(q, p, n);
    memcpy(q + find(q, n, "U\x02i8", 4) + 2, "u2", 2);
    cr_expect_eq(np_from_bytes(q, n, &a), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "dtype 'u2'"), "%s", gb_last_error());
    /* an unknown byte order */
    memcpy(q, p, n);
    q[find(q, n, "U\x01<", 3) + 2] = '!';
    cr_expect_eq(np_from_bytes(q, n, &a), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "byte order '!'"), "%s", gb_last_error());
    /* a plain list instead of an array */
    const char lst[] = "\x80\x02]K\x01" "a.";
    cr_expect_eq(np_from_bytes((const unsigned char *)lst, sizeof lst - 1, &a), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "list, not a numpy array") && strstr(gb_last_error(), "np.pkl"), "%s",
              gb_last_error());
    /* more elements than allowed */
    gb_pickle *pk;
    gb_pickle_opts o = {.allow_globals = gb_np_pickle_globals};
    cr_assert_eq(gb_pickle_parse(&pk, p, n, &o, NULL), GB_OK);
    cr_expect_eq(gb_np_from_node(&a, pk, gb_pickle_root(pk), 4), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "more than 4 elements"), "%s", gb_last_error());
    gb_pickle_free(pk);
    free(q);
    free(p);
}
