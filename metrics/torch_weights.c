/* metrics/torch_weights.c - PyTorch state dict files, legacy and zip (read the header first).
 *
 * Order of work: read the whole file, hash it, parse the state dict pickle into a list of
 * tensor specs (storage key, offset, size, stride), fetch the storages the container holds,
 * then copy each float32 tensor out of its storage. Storages are checked against the element
 * counts the pickle announced before any tensor reads them.
 * Tested by tests/test_torch_weights.c.
 */
#include "metrics/torch_weights.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zip.h>

#include "core/atomic_file.h"
#include "core/pickle.h"
#include "core/sha256.h"
#include "core/zip_read.h"

static const char *const torch_globals[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                            "torch.*Storage", NULL};

/* The fix named in messages about a damaged or foreign file. */
#define TW_FIX "expected a PyTorch state dict written by torch.save(module.state_dict(), f); re-download the file"

static const struct {
    const char *storage;
    gb_torch_dtype dtype;
    size_t size;
    const char *name;
} dtype_table[] = {
    {"FloatStorage", GB_TORCH_F32, 4, "float32"},   {"DoubleStorage", GB_TORCH_F64, 8, "float64"},
    {"HalfStorage", GB_TORCH_F16, 2, "float16"},    {"BFloat16Storage", GB_TORCH_BF16, 2, "bfloat16"},
    {"LongStorage", GB_TORCH_I64, 8, "int64"},      {"IntStorage", GB_TORCH_I32, 4, "int32"},
    {"ShortStorage", GB_TORCH_I16, 2, "int16"},     {"CharStorage", GB_TORCH_I8, 1, "int8"},
    {"ByteStorage", GB_TORCH_U8, 1, "uint8"},       {"BoolStorage", GB_TORCH_BOOL, 1, "bool"},
};
#define N_DTYPES (sizeof dtype_table / sizeof dtype_table[0])

const char *gb_torch_dtype_name(gb_torch_dtype d) {
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtype_table[i].dtype == d) return dtype_table[i].name;
    return "?";
}

size_t gb_torch_dtype_size(gb_torch_dtype d) {
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtype_table[i].dtype == d) return dtype_table[i].size;
    return 0;
}

/* ---- the parse state ---------------------------------------------------------------- */

typedef struct {
    const char *key;     /* points into the pickle tree */
    gb_torch_dtype dtype;
    int64_t numel;
    const uint8_t *bytes; /* numel * itemsize bytes once fetched */
    uint8_t *owned;       /* zip records are copied out */
} tw_storage;

typedef struct {
    const char *name;
    size_t storage;       /* index into storages */
    int64_t offset;
    int ndim;
    int64_t size[GB_TORCH_MAX_DIMS], stride[GB_TORCH_MAX_DIMS];
    size_t node_offset;   /* of the tensor's REDUCE in the pickle, for messages */
} tw_spec;

typedef struct {
    const char *origin;
    size_t archive_bytes; /* zip container: the whole file, which bounds any record */
    tw_storage *storages;
    size_t n_storages;
    tw_spec *specs;
    size_t n_specs;
} tw_parse;

static void tw_parse_free(tw_parse *p) {
    for (size_t i = 0; i < p->n_storages; i++) free(p->storages[i].owned);
    free(p->storages);
    free(p->specs);
    memset(p, 0, sizeof *p);
}

static int node_text(const gb_pk_node *n) { return n && (n->kind == GB_PK_STR || n->kind == GB_PK_BYTES); }

/* The storage with this key, added when new; the same key must always announce the same
 * dtype and size. */
static gb_status storage_ref(tw_parse *p, size_t *index, const char *key, gb_torch_dtype dtype, int64_t numel,
                             const char *tensor) {
    for (size_t i = 0; i < p->n_storages; i++) {
        if (strcmp(p->storages[i].key, key) != 0) continue;
        if (p->storages[i].dtype != dtype || p->storages[i].numel != numel)
            return gb_fail(GB_INPUT, "%s: tensor '%s': storage '%s' is announced twice with different types or sizes; " TW_FIX,
                           p->origin, tensor, key);
        *index = i;
        return GB_OK;
    }
    tw_storage *s = realloc(p->storages, (p->n_storages + 1) * sizeof *s);
    if (!s) return gb_fail(GB_ENV, "%s: out of memory", p->origin);
    p->storages = s;
    s[p->n_storages] = (tw_storage){.key = key, .dtype = dtype, .numel = numel};
    *index = p->n_storages++;
    return GB_OK;
}

static gb_status int_tuple(int64_t *out, int *count, const gb_pk_node *t, const tw_parse *p, const char *tensor,
                           const char *what) {
    if (!t || t->kind != GB_PK_TUPLE)
        return gb_fail(GB_INPUT, "%s: tensor '%s': %s is not a tuple; " TW_FIX, p->origin, tensor, what);
    if (t->count > GB_TORCH_MAX_DIMS)
        return gb_fail(GB_INPUT, "%s: tensor '%s' has %zu dimensions (at most %d supported)", p->origin, tensor,
                       t->count, GB_TORCH_MAX_DIMS);
    for (size_t i = 0; i < t->count; i++)
        if (!gb_pk_as_int64(t->items[i], &out[i]) || out[i] < 0)
            return gb_fail(GB_INPUT, "%s: tensor '%s': %s[%zu] is not a non-negative integer; " TW_FIX, p->origin,
                           tensor, what, i);
    *count = (int)t->count;
    return GB_OK;
}

/* One state-dict entry: name -> _rebuild_tensor_v2(storage, offset, size, stride, ...). */
static gb_status parse_tensor(tw_parse *p, const gb_pk_node *key, const gb_pk_node *val) {
    if (!node_text(key)) return gb_fail(GB_INPUT, "%s: a state-dict key is a %s, not a string; " TW_FIX, p->origin,
                                        gb_pk_kind_name(key->kind));
    const char *name = (const char *)key->bytes;
    if (val->kind != GB_PK_REDUCE || !gb_pk_is_global(val->callable, "torch._utils", "_rebuild_tensor_v2"))
        return gb_fail(GB_INPUT, "%s: '%s' (pickle offset %zu) is not a tensor built by torch._utils._rebuild_tensor_v2; "
                                 TW_FIX, p->origin, name, val->offset);
    const gb_pk_node *args = val->args;
    if (args->count != 6 && args->count != 7)
        return gb_fail(GB_INPUT, "%s: tensor '%s': _rebuild_tensor_v2 has %zu arguments (6 or 7 expected); " TW_FIX,
                       p->origin, name, args->count);
    const gb_pk_node *pers = args->items[0];
    const gb_pk_node *pid = pers->kind == GB_PK_PERSID ? pers->pid : NULL;
    if (!pid || pid->kind != GB_PK_TUPLE || (pid->count != 5 && pid->count != 6) || !gb_pk_is_text(pid->items[0], "storage"))
        return gb_fail(GB_INPUT, "%s: tensor '%s' (pickle offset %zu): the storage is not a persistent id "
                                 "('storage', type, key, location, numel); " TW_FIX, p->origin, name, pers->offset);
    const gb_pk_node *type = pid->items[1];
    size_t d = N_DTYPES;
    if (type->kind == GB_PK_GLOBAL && strcmp(type->module, "torch") == 0)
        for (d = 0; d < N_DTYPES; d++)
            if (strcmp(type->name, dtype_table[d].storage) == 0) break;
    if (d == N_DTYPES)
        return gb_fail(GB_INPUT, "%s: tensor '%s': unknown storage type %s%s%s", p->origin, name,
                       type->kind == GB_PK_GLOBAL ? type->module : gb_pk_kind_name(type->kind),
                       type->kind == GB_PK_GLOBAL ? "." : "", type->kind == GB_PK_GLOBAL ? type->name : "");
    int64_t numel;
    if (!node_text(pid->items[2]) || !gb_pk_as_int64(pid->items[4], &numel) || numel < 0)
        return gb_fail(GB_INPUT, "%s: tensor '%s': bad storage key or element count in its persistent id; " TW_FIX,
                       p->origin, name);
    if (pid->count == 6 && pid->items[5]->kind != GB_PK_NONE)
        return gb_fail(GB_INPUT, "%s: tensor '%s' is a view of a shared storage (view_metadata), which only very old "
                                 "PyTorch versions wrote; re-save the state dict with a current torch.save",
                       p->origin, name);
    tw_spec sp = {.name = name, .node_offset = val->offset};
    GB_TRY(storage_ref(p, &sp.storage, (const char *)pid->items[2]->bytes, dtype_table[d].dtype, numel, name));
    if (!gb_pk_as_int64(args->items[1], &sp.offset) || sp.offset < 0)
        return gb_fail(GB_INPUT, "%s: tensor '%s': the storage offset is not a non-negative integer; " TW_FIX, p->origin,
                       name);
    int nstride = 0;
    GB_TRY(int_tuple(sp.size, &sp.ndim, args->items[2], p, name, "size"));
    GB_TRY(int_tuple(sp.stride, &nstride, args->items[3], p, name, "stride"));
    if (nstride != sp.ndim)
        return gb_fail(GB_INPUT, "%s: tensor '%s' has %d sizes but %d strides; " TW_FIX, p->origin, name, sp.ndim, nstride);
    tw_spec *s = realloc(p->specs, (p->n_specs + 1) * sizeof *s);
    if (!s) return gb_fail(GB_ENV, "%s: out of memory", p->origin);
    p->specs = s;
    s[p->n_specs++] = sp;
    return GB_OK;
}

static gb_status parse_state_dict(tw_parse *p, const gb_pk_node *root) {
    if (root->kind != GB_PK_DICT)
        return gb_fail(GB_INPUT, "%s: the pickled object is a %s, not a state dict; " TW_FIX, p->origin,
                       gb_pk_kind_name(root->kind));
    for (size_t i = 0; i < root->count; i++) GB_TRY(parse_tensor(p, root->items[2 * i], root->items[2 * i + 1]));
    for (size_t i = 0; i < p->n_specs; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->specs[i].name, p->specs[j].name) == 0)
                return gb_fail(GB_INPUT, "%s: the key '%s' appears twice; " TW_FIX, p->origin, p->specs[i].name);
    return GB_OK;
}

static size_t storage_bytes(const tw_storage *s) { return (size_t)s->numel * gb_torch_dtype_size(s->dtype); }

/* ---- legacy stream -------------------------------------------------------------------- */

static const uint8_t legacy_magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};

static gb_status load_legacy(tw_parse *p, gb_pickle **pks, const uint8_t *data, size_t n) {
    size_t off = 0;
    for (int i = 0; i < 5; i++) {
        gb_pickle_opts o = {.origin = p->origin, .base_offset = off, .allow_globals = torch_globals};
        size_t used = 0;
        gb_status s = gb_pickle_parse(&pks[i], data + off, n - off, &o, &used);
        if (s != GB_OK) return gb_fail_wrap(s, "legacy torch.save stream, pickle %d of 5", i + 1);
        off += used;
    }
    const gb_pk_node *magic = gb_pickle_root(pks[0]);
    if (magic->kind != GB_PK_INT || !magic->big || magic->len != 10 || memcmp(magic->bytes, legacy_magic, 10) != 0)
        return gb_fail(GB_INPUT, "%s: offset 0: not the torch.save magic number 0x1950a86a20f9469cfc6c; " TW_FIX,
                       p->origin);
    int64_t v;
    if (!gb_pk_as_int64(gb_pickle_root(pks[1]), &v) || v != 1001)
        return gb_fail(GB_INPUT, "%s: legacy protocol version is not 1001; " TW_FIX, p->origin);
    const gb_pk_node *le = gb_pk_dict_get(gb_pickle_root(pks[2]), "little_endian");
    if (!le || !gb_pk_as_int64(le, &v) || v != 1)
        return gb_fail(GB_INPUT, "%s: sys_info does not say little_endian=True (big-endian files are not supported); "
                                 "re-save the state dict on a little-endian machine", p->origin);
    GB_TRY(parse_state_dict(p, gb_pickle_root(pks[3])));
    const gb_pk_node *keys = gb_pickle_root(pks[4]);
    if (keys->kind != GB_PK_LIST) return gb_fail(GB_INPUT, "%s: the storage key list is a %s; " TW_FIX, p->origin,
                                                 gb_pk_kind_name(keys->kind));
    for (size_t k = 0; k < keys->count; k++) {
        const gb_pk_node *key = keys->items[k];
        size_t i = 0;
        while (i < p->n_storages && !(node_text(key) && strcmp(p->storages[i].key, (const char *)key->bytes) == 0)) i++;
        if (i == p->n_storages)
            return gb_fail(GB_INPUT, "%s: storage key %zu of the list is not used by any tensor; " TW_FIX, p->origin, k);
        tw_storage *st = &p->storages[i];
        if (st->bytes) return gb_fail(GB_INPUT, "%s: storage '%s' is listed twice; " TW_FIX, p->origin, st->key);
        int64_t count;
        if (n - off < 8)
            return gb_fail(GB_INPUT, "%s: offset %zu: the file ends before storage '%s' (truncated); " TW_FIX, p->origin,
                           off, st->key);
        memcpy(&count, data + off, 8);
        if (count != st->numel)
            return gb_fail(GB_INPUT, "%s: offset %zu: storage '%s' holds %lld elements but the pickle says %lld; " TW_FIX,
                           p->origin, off, st->key, (long long)count, (long long)st->numel);
        off += 8;
        size_t bytes = storage_bytes(st);
        if (n - off < bytes)
            return gb_fail(GB_INPUT, "%s: offset %zu: storage '%s' needs %zu bytes but only %zu remain (truncated); " TW_FIX,
                           p->origin, off, st->key, bytes, n - off);
        st->bytes = data + off;
        off += bytes;
    }
    for (size_t i = 0; i < p->n_storages; i++)
        if (!p->storages[i].bytes)
            return gb_fail(GB_INPUT, "%s: storage '%s' is missing from the key list; " TW_FIX, p->origin,
                           p->storages[i].key);
    if (off != n)
        return gb_fail(GB_INPUT, "%s: offset %zu: %zu bytes follow the last storage; " TW_FIX, p->origin, off, n - off);
    return GB_OK;
}

/* ---- zip container ---------------------------------------------------------------------- */

/* The whole record `name` -> malloc'd bytes (core/zip_read.h bounds its claimed sizes by the
 * file's and checks its CRC-32). GB_INPUT when absent or unreadable. */
static gb_status zip_read(uint8_t **out, size_t *len, zip_t *z, const char *origin, size_t archive_bytes,
                          const char *name) {
    *out = NULL;
    zip_int64_t idx = zip_name_locate(z, name, 0);
    if (idx < 0) return gb_fail(GB_INPUT, "%s: the zip has no record '%s'; " TW_FIX, origin, name);
    char where[1300];
    snprintf(where, sizeof where, "%s: record '%s'", origin, name);
    return gb_zip_read_member(out, len, z, (zip_uint64_t)idx, archive_bytes, where, TW_FIX);
}

static gb_status load_zip_records(tw_parse *p, gb_pickle **pk, zip_t *z) {
    /* the prefix: the one top-level folder holding data.pkl */
    char prefix[512] = "";
    zip_int64_t entries = zip_get_num_entries(z, 0);
    for (zip_int64_t i = 0; i < entries; i++) {
        const char *nm = zip_get_name(z, (zip_uint64_t)i, 0);
        const char *slash = nm ? strchr(nm, '/') : NULL;
        if (!slash || strcmp(slash, "/data.pkl") != 0 || (size_t)(slash - nm) >= sizeof prefix - 1) continue;
        if (prefix[0]) return gb_fail(GB_INPUT, "%s: the zip holds more than one data.pkl; " TW_FIX, p->origin);
        memcpy(prefix, nm, (size_t)(slash - nm));
        prefix[slash - nm] = 0;
    }
    if (!prefix[0]) return gb_fail(GB_INPUT, "%s: the zip has no <folder>/data.pkl record; " TW_FIX, p->origin);
    char name[1100];
    uint8_t *buf;
    size_t len;
    snprintf(name, sizeof name, "%s/byteorder", prefix);
    if (zip_name_locate(z, name, 0) >= 0) {
        GB_TRY(zip_read(&buf, &len, z, p->origin, p->archive_bytes, name));
        int little = len == 6 && memcmp(buf, "little", 6) == 0;
        free(buf);
        if (!little)
            return gb_fail(GB_INPUT, "%s: record '%s' does not say 'little' (big-endian files are not supported); "
                                     "re-save the state dict on a little-endian machine", p->origin, name);
    }
    snprintf(name, sizeof name, "%s/data.pkl", prefix);
    GB_TRY(zip_read(&buf, &len, z, p->origin, p->archive_bytes, name));
    char origin[1700];
    snprintf(origin, sizeof origin, "%s:%s", p->origin, name);
    gb_pickle_opts o = {.origin = origin, .allow_globals = torch_globals};
    gb_status s = gb_pickle_parse(pk, buf, len, &o, NULL);
    free(buf); /* the tree holds copies of everything it needs */
    GB_TRY(s);
    GB_TRY(parse_state_dict(p, gb_pickle_root(*pk)));
    for (size_t i = 0; i < p->n_storages; i++) {
        tw_storage *st = &p->storages[i];
        snprintf(name, sizeof name, "%s/data/%s", prefix, st->key);
        GB_TRY(zip_read(&st->owned, &len, z, p->origin, p->archive_bytes, name));
        if (len != storage_bytes(st))
            return gb_fail(GB_INPUT, "%s: record '%s' holds %zu bytes but the pickle says %lld %s elements (%zu bytes); " TW_FIX,
                           p->origin, name, len, (long long)st->numel, gb_torch_dtype_name(st->dtype), storage_bytes(st));
        st->bytes = st->owned;
    }
    return GB_OK;
}

static gb_status load_zip(tw_parse *p, gb_pickle **pk, const uint8_t *data, size_t n) {
    p->archive_bytes = n;
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_buffer_create(data, n, 0, &err);
    zip_t *z = src ? zip_open_from_source(src, ZIP_RDONLY, &err) : NULL;
    if (!z) {
        gb_status s = gb_fail(GB_INPUT, "%s: not a readable zip archive (%s); " TW_FIX, p->origin, zip_error_strerror(&err));
        if (src) zip_source_free(src);
        zip_error_fini(&err);
        return s;
    }
    zip_error_fini(&err);
    gb_status s = load_zip_records(p, pk, z);
    zip_discard(z); /* read-only: frees the archive and its source */
    return s;
}

/* ---- tensors ------------------------------------------------------------------------------- */

/* Copy a float32 tensor out of its storage in C order (strides in elements). */
static void copy_strided(float *out, const uint8_t *base, const tw_spec *sp, size_t count) {
    int64_t idx[GB_TORCH_MAX_DIMS] = {0};
    int contiguous = 1;
    int64_t expect = 1;
    for (int d = sp->ndim - 1; d >= 0; d--) {
        if (sp->size[d] != 1 && sp->stride[d] != expect) contiguous = 0;
        expect *= sp->size[d];
    }
    if (contiguous) {
        memcpy(out, base + (size_t)sp->offset * 4, count * 4);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        int64_t e = sp->offset;
        for (int d = 0; d < sp->ndim; d++) e += idx[d] * sp->stride[d];
        memcpy(&out[i], base + (size_t)e * 4, 4);
        for (int d = sp->ndim - 1; d >= 0; d--) {
            if (++idx[d] < sp->size[d]) break;
            idx[d] = 0;
        }
    }
}

static gb_status build_tensors(gb_torch_state *out, const tw_parse *p) {
    out->tensors = calloc(p->n_specs ? p->n_specs : 1, sizeof *out->tensors);
    if (!out->tensors) return gb_fail(GB_ENV, "%s: out of memory", p->origin);
    for (size_t i = 0; i < p->n_specs; i++) {
        const tw_spec *sp = &p->specs[i];
        const tw_storage *st = &p->storages[sp->storage];
        gb_torch_tensor *t = &out->tensors[out->count++];
        t->dtype = st->dtype;
        t->ndim = sp->ndim;
        t->name = strdup(sp->name);
        if (!t->name) return gb_fail(GB_ENV, "%s: out of memory", p->origin);
        /* count and the last element read, with overflow checks (sizes are < 2^63 each) */
        size_t count = 1;
        int64_t last = sp->offset;
        int overflow = 0;
        for (int d = 0; d < sp->ndim; d++) {
            t->shape[d] = sp->size[d];
            if (sp->size[d] && count > SIZE_MAX / (size_t)sp->size[d]) overflow = 1;
            else count *= (size_t)sp->size[d];
        }
        for (int d = 0; d < sp->ndim && count && !overflow; d++) {
            if (sp->stride[d] && sp->size[d] - 1 > (INT64_MAX - last) / sp->stride[d]) overflow = 1;
            else last += (sp->size[d] - 1) * sp->stride[d];
        }
        if (overflow || (count ? last >= st->numel : sp->offset > st->numel))
            return gb_fail(GB_INPUT, "%s: tensor '%s' (pickle offset %zu) reaches past the end of its storage '%s' "
                                     "(%lld elements); " TW_FIX, p->origin, sp->name, sp->node_offset, st->key,
                           (long long)st->numel);
        t->count = count;
        if (t->dtype != GB_TORCH_F32) continue;
        t->data = malloc(count ? count * sizeof(float) : 1);
        if (!t->data) return gb_fail(GB_ENV, "%s: out of memory for tensor '%s' (%zu floats)", p->origin, sp->name, count);
        if (count) copy_strided(t->data, st->bytes, sp, count);
    }
    return GB_OK;
}

/* ---- public ------------------------------------------------------------------------------------ */

gb_status gb_torch_parse(gb_torch_state *out, const char *origin, const uint8_t *data, size_t n) {
    memset(out, 0, sizeof *out);
    if (!origin) origin = "<memory>";
    uint8_t digest[32];
    gb_sha256(data, n, digest);
    gb_sha256_hex(digest, out->sha256);
    out->path = strdup(origin);
    if (!out->path) return gb_fail(GB_ENV, "out of memory");
    static const uint8_t zip_magic[4] = {'P', 'K', 3, 4};
    static const uint8_t legacy_head[5] = {0x80, 0x02, 0x8a, 0x0a, 0x6c};
    tw_parse p = {.origin = origin};
    gb_pickle *pks[5] = {NULL};
    gb_status s;
    if (n >= 4 && memcmp(data, zip_magic, 4) == 0) {
        out->container = GB_TORCH_ZIP;
        s = load_zip(&p, &pks[0], data, n);
    } else if (n >= 5 && memcmp(data, legacy_head, 5) == 0) {
        out->container = GB_TORCH_LEGACY;
        s = load_legacy(&p, pks, data, n);
    } else {
        s = gb_fail(GB_INPUT, "%s: offset 0: neither a zip archive (PK\\3\\4) nor a legacy torch.save stream "
                              "(80 02 8a 0a 6c ...); " TW_FIX, origin);
    }
    if (s == GB_OK) s = build_tensors(out, &p);
    tw_parse_free(&p);
    for (int i = 0; i < 5; i++) gb_pickle_free(pks[i]);
    if (s != GB_OK) gb_torch_free(out);
    return s;
}

static int is_hex64(const char *h) {
    if (!h || strlen(h) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)h[i])) return 0;
    return 1;
}

gb_status gb_torch_load(gb_torch_state *out, const char *path, const char *expected_sha256) {
    memset(out, 0, sizeof *out);
    if (!is_hex64(expected_sha256))
        return gb_fail(GB_USAGE, "%s: the expected SHA-256 must be 64 hexadecimal digits (got '%s')", path,
                       expected_sha256 ? expected_sha256 : "(none)");
    unsigned char *data;
    size_t n;
    GB_TRY(gb_read_file(path, &data, &n));
    uint8_t digest[32];
    char hex[65];
    gb_sha256(data, n, digest);
    gb_sha256_hex(digest, hex);
    if (strcasecmp(hex, expected_sha256) != 0) {
        free(data);
        return gb_fail(GB_INPUT, "%s: SHA-256 is %s but %s was expected: the file is damaged or a different one; "
                                 "fetch the right file again, or pass the hash of a file you trust", path, hex,
                       expected_sha256);
    }
    gb_status s = gb_torch_parse(out, path, data, n);
    free(data);
    return s;
}

const gb_torch_tensor *gb_torch_find(const gb_torch_state *s, const char *name) {
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->tensors[i].name, name) == 0) return &s->tensors[i];
    return NULL;
}

static void shape_text(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < ndim && k < cap; d++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

gb_status gb_torch_get_f32(const float **data, const gb_torch_state *s, const char *name, int ndim,
                           const int64_t *shape) {
    *data = NULL;
    const gb_torch_tensor *t = gb_torch_find(s, name);
    if (!t) return gb_fail(GB_INPUT, "%s: no tensor '%s' in the state dict; is this the right weights file?", s->path, name);
    if (t->dtype != GB_TORCH_F32)
        return gb_fail(GB_INPUT, "%s: tensor '%s' is %s, float32 expected; is this the right weights file?", s->path, name,
                       gb_torch_dtype_name(t->dtype));
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char want[160], got[160];
        shape_text(want, sizeof want, ndim, shape);
        shape_text(got, sizeof got, t->ndim, t->shape);
        return gb_fail(GB_INPUT, "%s: tensor '%s' has shape %s, %s expected; is this the right weights file?", s->path,
                       name, got, want);
    }
    *data = t->data;
    return GB_OK;
}

void gb_torch_free(gb_torch_state *s) {
    if (!s) return;
    for (size_t i = 0; i < s->count; i++) {
        free(s->tensors[i].name);
        free(s->tensors[i].data);
    }
    free(s->tensors);
    free(s->path);
    memset(s, 0, sizeof *s);
}
