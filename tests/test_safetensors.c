/* tests/test_safetensors.c - core/safetensors: write/read round trips, one
 * in-memory file per rejection rule (GB_INPUT and the reason in the message),
 * and parity with the independent Python peer tests/peers/safetensors_ref.py:
 *   - the peer's reference-layout file $GB_FIXTURES/st_ref.safetensors reads back
 *     the known values spelled out below (F16/BF16 as their IEEE bit patterns);
 *   - the peer's given-order file is byte-identical to what gb_safetensors_write
 *     makes from the same entries;
 *   - the peer's invalid files are rejected for the right reason;
 *   - the peer's reader (popen) accepts a file written here and sees our bytes.
 * Run the peer first: /usr/bin/python3 tests/peers/safetensors_ref.py DIR and
 * GB_FIXTURES=DIR (tests/run_all.sh does both); run from the repository root.
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/safetensors.h"

#define PEER_SCRIPT "tests/peers/safetensors_ref.py"

/* ---- the known tensors (same values as TENSORS in the peer) ---------------- */
static const float v_fc0_w[6] = {-1.25f, -0.75f, -0.25f, 0.25f, 0.75f, 1.25f};
static const float v_fc0_b[3] = {1.0f, -2.0f, 3.5f};
static const double v_emb[4] = {0.1, 0.2, 0.3, 1e300};
static const int64_t v_step = 1234567890123;
static const int32_t v_counts[4] = {-1, 0, 7, 2147483647};
static const uint8_t v_mask[3] = {1, 0, 1};
static const uint8_t v_bytes[5] = {0, 1, 127, 128, 255};
static const int8_t v_i8[2] = {-128, 127};
static const int16_t v_i16[2] = {-32768, 32767};
static const uint16_t v_u16[2] = {1, 65535};
static const uint32_t v_u32[2] = {4294967295u, 3};
static const uint64_t v_u64[2] = {UINT64_MAX, 5};
static const uint16_t v_half[3] = {0x3C00, 0xB800, 0x7BFF}; /* 1.0, -0.5, 65504 in IEEE binary16 */
static const uint16_t v_bf[2] = {0x3F80, 0xC000};           /* 1.0, -2.0 in bfloat16 */
static const float v_w1[1] = {42.0f};

static const gb_st_entry known[] = {
    {"fc0_w", GB_DT_F32, 2, {2, 3}, v_fc0_w},
    {"fc0_b", GB_DT_F32, 1, {3}, v_fc0_b},
    {"emb", GB_DT_F64, 2, {2, 2}, v_emb},
    {"step", GB_DT_I64, 0, {0}, &v_step},
    {"counts", GB_DT_I32, 1, {4}, v_counts},
    {"mask", GB_DT_BOOL, 1, {3}, v_mask},
    {"bytes", GB_DT_U8, 1, {5}, v_bytes},
    {"i8", GB_DT_I8, 1, {2}, v_i8},
    {"i16", GB_DT_I16, 1, {2}, v_i16},
    {"u16", GB_DT_U16, 1, {2}, v_u16},
    {"u32", GB_DT_U32, 1, {2}, v_u32},
    {"u64", GB_DT_U64, 1, {2}, v_u64},
    {"half", GB_DT_F16, 1, {3}, v_half},
    {"bf", GB_DT_BF16, 1, {2}, v_bf},
    {"empty", GB_DT_F32, 2, {0, 4}, NULL},
    {"layer.\xc3\xbc/weight", GB_DT_F32, 2, {1, 1}, v_w1},
};
#define N_KNOWN (sizeof known / sizeof known[0])
/* "note" is "ünïcødé \"quoted\" \\ back" in UTF-8. */
static const char *const known_meta[] = {
    "format", "pt",
    "note", "\xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \"quoted\" \\ back",
    "step", "1000", NULL};

static size_t entry_bytes(const gb_st_entry *e) {
    size_t n = gb_dtype_size(e->dtype);
    for (int d = 0; d < e->ndim; d++) n *= (size_t)e->shape[d];
    return n;
}

static void expect_tensor(const gb_safetensors *st, const gb_st_entry *e) {
    const gb_st_tensor *t = gb_safetensors_find(st, e->name);
    cr_assert_not_null(t, "tensor '%s' missing", e->name);
    cr_assert_eq(t->dtype, e->dtype, "tensor '%s': dtype %s, expected %s", e->name, gb_dtype_name(t->dtype),
                 gb_dtype_name(e->dtype));
    cr_assert_eq(t->ndim, e->ndim, "tensor '%s': rank", e->name);
    for (int d = 0; d < e->ndim; d++) cr_assert_eq(t->shape[d], e->shape[d], "tensor '%s': dim %d", e->name, d);
    size_t n = entry_bytes(e);
    cr_assert_eq(t->nbytes, n, "tensor '%s': %zu bytes, expected %zu", e->name, t->nbytes, n);
    if (n) cr_assert(memcmp(t->data, e->data, n) == 0, "tensor '%s': bytes differ", e->name);
}

static void expect_known_meta(const gb_safetensors *st) {
    cr_assert_eq(st->n_meta, 3);
    for (size_t i = 0; known_meta[i]; i += 2) {
        const char *v = gb_safetensors_meta(st, known_meta[i]);
        cr_assert_not_null(v, "metadata '%s' missing", known_meta[i]);
        cr_assert_str_eq(v, known_meta[i + 1]);
    }
    cr_assert_null(gb_safetensors_meta(st, "absent"));
}

/* ---- temp dir and fixtures ------------------------------------------------ */
static char tmpdir[64];
static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gb_test_st_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}
static void remove_tmpdir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
}
TestSuite(safetensors, .init = make_tmpdir, .fini = remove_tmpdir);

static const char *tmp_path(const char *name) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

static const char *fixture(const char *name) {
    static char buf[1024];
    const char *dir = getenv("GB_FIXTURES");
    cr_assert(dir && *dir, "GB_FIXTURES is not set: run `/usr/bin/python3 " PEER_SCRIPT " DIR` and set "
              "GB_FIXTURES=DIR (make test does this)");
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    struct stat sb;
    cr_assert(stat(buf, &sb) == 0, "fixture %s is missing: run `/usr/bin/python3 " PEER_SCRIPT " %s` first",
              buf, dir);
    return buf;
}

/* ---- round trips ------------------------------------------------------------ */

Test(safetensors, round_trip_all_dtypes_scalar_empty_metadata) {
    const char *path = tmp_path("ckpt.safetensors");
    cr_assert_eq(gb_safetensors_write(path, known, N_KNOWN, known_meta), GB_OK, "%s", gb_last_error());
    gb_safetensors st;
    cr_assert_eq(gb_safetensors_read(path, &st), GB_OK, "%s", gb_last_error());
    cr_assert_eq(st.n_tensors, N_KNOWN);
    /* gb_safetensors_write packs in the given order, so file order is that order. */
    for (size_t i = 0; i < N_KNOWN; i++) {
        cr_assert_str_eq(st.tensors[i].name, known[i].name, "file order at %zu", i);
        expect_tensor(&st, &known[i]);
    }
    expect_known_meta(&st);
    cr_assert_str_eq(st.source, path);

    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | st.file[i];
    cr_assert_eq(hlen % 8, 0, "header length %llu is not a multiple of 8", (unsigned long long)hlen);
    cr_assert_eq(st.file[8], '{');
    const gb_st_tensor *scalar = gb_safetensors_find(&st, "step");
    cr_assert_eq(scalar->ndim, 0);
    cr_assert_eq(scalar->nbytes, 8);
    gb_safetensors_free(&st);
    gb_safetensors_free(&st); /* safe twice */
}

Test(safetensors, round_trip_without_metadata_or_tensors) {
    const char *path = tmp_path("none.safetensors");
    cr_assert_eq(gb_safetensors_write(path, NULL, 0, NULL), GB_OK, "%s", gb_last_error());
    gb_safetensors st;
    cr_assert_eq(gb_safetensors_read(path, &st), GB_OK, "%s", gb_last_error());
    cr_assert_eq(st.n_tensors, 0);
    cr_assert_eq(st.n_meta, 0);
    cr_assert_eq(st.file_size, 16, "8-byte length + \"{}\" padded to 8");
    gb_safetensors_free(&st);
}

Test(safetensors, header_padded_with_spaces_to_eight) {
    /* Names of 1..8 characters move the unpadded length through every residue mod 8. */
    const char *path = tmp_path("pad.safetensors");
    for (int len = 1; len <= 8; len++) {
        char name[9] = "abcdefgh";
        name[len] = '\0';
        gb_st_entry e = {name, GB_DT_U8, 1, {3}, "xyz"};
        cr_assert_eq(gb_safetensors_write(path, &e, 1, NULL), GB_OK, "%s", gb_last_error());
        unsigned char *f = NULL;
        size_t n = 0;
        cr_assert_eq(gb_read_file(path, &f, &n), GB_OK, "%s", gb_last_error());
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | f[i];
        cr_assert_eq(hlen % 8, 0, "name length %d: header length %llu", len, (unsigned long long)hlen);
        cr_assert_eq(n, 8 + hlen + 3);
        size_t close = 8 + hlen - 1;
        while (f[close] == ' ') close--;
        cr_assert_eq(f[close], '}', "name length %d: only spaces may follow the JSON object", len);
        cr_assert_lt(8 + hlen - 1 - close, 8, "at most 7 padding spaces");
        cr_assert(memcmp(f + 8 + hlen, "xyz", 3) == 0);
        free(f);
    }
}

Test(safetensors, get_f32_copies_and_names_problems) {
    const char *path = tmp_path("w.safetensors");
    cr_assert_eq(gb_safetensors_write(path, known, N_KNOWN, NULL), GB_OK, "%s", gb_last_error());
    gb_safetensors st;
    cr_assert_eq(gb_safetensors_read(path, &st), GB_OK, "%s", gb_last_error());
    float w[6];
    cr_assert_eq(gb_safetensors_get_f32(&st, "fc0_w", w, 6), GB_OK, "%s", gb_last_error());
    for (int i = 0; i < 6; i++) cr_assert_eq(w[i], v_fc0_w[i]);
    cr_assert_eq(gb_safetensors_get_f32(&st, "empty", NULL, 0), GB_OK, "%s", gb_last_error());

    cr_assert_eq(gb_safetensors_get_f32(&st, "fc1_w", w, 6), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "no tensor 'fc1_w'"), "%s", gb_last_error());
    cr_assert_not_null(strstr(gb_last_error(), path), "%s", gb_last_error());
    cr_assert_eq(gb_safetensors_get_f32(&st, "emb", w, 4), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "tensor 'emb' is F64 [2, 2], expected F32"), "%s",
                       gb_last_error());
    cr_assert_eq(gb_safetensors_get_f32(&st, "fc0_w", w, 5), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "has shape [2, 3] (6 elements), expected 5"), "%s",
                       gb_last_error());
    gb_safetensors_free(&st);
}

Test(safetensors, write_replaces_atomically_and_fails_cleanly) {
    const char *path = tmp_path("sub/c.safetensors");
    cr_assert_eq(gb_safetensors_write(path, known, 1, NULL), GB_ENV, "missing directory must fail");
    cr_assert_not_null(strstr(gb_last_error(), path), "%s", gb_last_error());
    cr_assert_eq(gb_mkdirs(tmp_path("sub")), GB_OK, "%s", gb_last_error());
    path = tmp_path("sub/c.safetensors");
    cr_assert_eq(gb_safetensors_write(path, known, 1, NULL), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_safetensors_write(path, known + 1, 1, NULL), GB_OK, "%s", gb_last_error());
    gb_safetensors st;
    cr_assert_eq(gb_safetensors_read(path, &st), GB_OK, "%s", gb_last_error());
    cr_assert_eq(st.n_tensors, 1);
    cr_assert_str_eq(st.tensors[0].name, "fc0_b");
    gb_safetensors_free(&st);
}

/* ---- rejections ------------------------------------------------------------- */

/* A file: the u64 length of `header` (or `claimed_len` when not ~0), the header,
 * `data_len` zero bytes. */
static unsigned char *make_file(const char *header, size_t hlen, uint64_t claimed_len, size_t data_len,
                                size_t *n) {
    uint64_t len = claimed_len != ~0ull ? claimed_len : hlen;
    *n = 8 + hlen + data_len;
    unsigned char *f = calloc(*n + 1, 1);
    cr_assert_not_null(f);
    for (int i = 0; i < 8; i++) f[i] = (unsigned char)(len >> (8 * i));
    memcpy(f + 8, header, hlen);
    return f;
}

static void expect_reject_raw(const char *header, size_t hlen, uint64_t claimed, size_t data_len,
                              const char *reason) {
    size_t n;
    unsigned char *f = make_file(header, hlen, claimed, data_len, &n);
    gb_safetensors st;
    gb_status s = gb_safetensors_parse("ckpt.safetensors", f, n, &st);
    cr_assert_eq(s, GB_INPUT, "header %s: expected GB_INPUT, got %d (%s)", header, s, gb_last_error());
    cr_assert_not_null(strstr(gb_last_error(), reason), "header %s: message '%s' lacks '%s'", header,
                       gb_last_error(), reason);
    cr_assert_not_null(strstr(gb_last_error(), "ckpt.safetensors: "), "%s", gb_last_error());
    cr_assert_null(st.file, "the struct must be released on failure");
    cr_assert_null(st.tensors);
}

static void expect_reject(const char *header, size_t data_len, const char *reason) {
    expect_reject_raw(header, strlen(header), ~0ull, data_len, reason);
}

static void expect_accept(const char *header, size_t data_len, size_t n_tensors) {
    size_t n;
    unsigned char *f = make_file(header, strlen(header), ~0ull, data_len, &n);
    gb_safetensors st;
    cr_assert_eq(gb_safetensors_parse("ok.safetensors", f, n, &st), GB_OK, "header %s: %s", header,
                 gb_last_error());
    cr_assert_eq(st.n_tensors, n_tensors);
    gb_safetensors_free(&st);
}

#define T_A4 "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}"

Test(safetensors, rejects_truncated_and_oversized_lengths) {
    unsigned char *tiny = malloc(5);
    memcpy(tiny, "\x02\0\0\0\0", 5);
    gb_safetensors st;
    cr_assert_eq(gb_safetensors_parse("ckpt.safetensors", tiny, 5, &st), GB_INPUT);
    cr_assert_not_null(strstr(gb_last_error(), "5 bytes, shorter than the 8-byte header length"), "%s",
                       gb_last_error());
    cr_assert_eq(gb_safetensors_parse("ckpt.safetensors", NULL, 0, &st), GB_INPUT);
    expect_reject_raw("{}", 2, 100, 10, "header length 100 runs past the end of the file");
    expect_reject_raw("{}", 2, 200000000, 0, "header length 200000000 exceeds the limit of 100000000");
    expect_reject("{" T_A4 "}", 2, "data buffer holds only 2 bytes (truncated file?)");
}

Test(safetensors, rejects_bad_json_and_non_objects) {
    expect_reject("{\"a\":", 0, "not valid JSON");
    expect_reject("{\"a\":{\"dtype\":\"F32\",}}", 0, "not valid JSON");
    expect_reject("[1,2]", 0, "not a JSON object");
    expect_reject("  \"str\"", 0, "not a JSON object");
    expect_reject("", 0, "not a JSON object");
    expect_reject("{} {}", 0, "extra bytes after the JSON object");
    expect_reject("{\"a\xff\":1}", 0, "not valid UTF-8 at header byte 3");
    expect_reject("{\"a\xc0\x80\":1}", 0, "not valid UTF-8"); /* overlong NUL */
    expect_reject("{\"a\nb\":1}", 0, "raw control byte 0x0a");
    expect_reject("{\"a\":[1,2]}", 0, "tensor 'a': entry is an array, expected an object");
}

Test(safetensors, rejects_duplicate_keys_at_every_level) {
    expect_reject("{" T_A4 "," T_A4 "}", 4, "header has the key 'a' twice");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                  "tensor 'a': duplicate key 'dtype'");
    expect_reject("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "__metadata__ has the key 'k' twice");
    expect_reject("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "key '__metadata__' twice");
}

Test(safetensors, rejects_bad_entries) {
    expect_reject("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                  "tensor 'a': unknown dtype \"F33\"");
    expect_reject("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                  "dtype F8_E4M3 is valid safetensors but not supported");
    expect_reject("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype is a number");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,4]}}", 4,
                  "tensor 'a': shape dimension 1 (-3) is negative");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]}}", 4,
                  "shape dimension 0 (2.5) is not an integer");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,4]}}", 4,
                  "shape dimension 0 (a string) is not a number");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,4]}}", 4,
                  "shape is a number, expected an array");
    expect_reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1,
                  "rank 9 exceeds");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing \"shape\"");
    expect_reject("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing \"dtype\"");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "tensor 'a': missing \"data_offsets\"");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "array of two integers");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,-4]}}", 4, "is negative");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 0, "end before they begin");
    expect_reject("{\"fc0_w\":{\"dtype\":\"F32\",\"shape\":[5,6],\"data_offsets\":[0,100]}}", 100,
                  "ckpt.safetensors: tensor 'fc0_w': data_offsets [0, 100] hold 100 bytes but F32 [5, 6] needs "
                  "120");
    expect_reject("{\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,4]}}", 4,
                  "hold 4 bytes but I64 [] needs 8");
}

Test(safetensors, rejects_bad_layouts) {
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}}",
                  20, "tensor 'b': data_offsets [12, 20] leave a hole of 4 bytes after tensor 'a'");
    expect_reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
                  "tensor 'a': data_offsets [4, 8] leave a hole: the first tensor must begin at 0");
    expect_reject("{\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]},"
                  "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}",
                  20, "tensor 'b': data_offsets [8, 20] overlap tensor 'a' [0, 12]");
    expect_reject("{" T_A4 "}", 7, "file not fully covered: 3 trailing bytes");
    expect_reject("{}", 1, "file not fully covered: 1 trailing bytes");
}

Test(safetensors, rejects_non_string_metadata) {
    expect_reject("{\"__metadata__\":{\"epoch\":3}}", 0,
                  "__metadata__ value for key 'epoch' is a number; metadata values must be strings");
    expect_reject("{\"__metadata__\":{\"a\":\"x\",\"b\":{}}}", 0, "key 'b' is an object");
    expect_reject("{\"__metadata__\":[\"x\"]}", 0, "__metadata__ is an array");
}

Test(safetensors, accepts_whitespace_null_metadata_and_zero_size_ties) {
    expect_accept(" \n\t{}\r\n  ", 0, 0);
    expect_accept("{\"__metadata__\":null," T_A4 "}", 4, 1);
    /* Zero-size tensors share offsets with their neighbours; extra fields are ignored. */
    expect_accept("{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4],\"extra\":1}," T_A4
                  ",\"y\":{\"dtype\":\"U8\",\"shape\":[3,0],\"data_offsets\":[0,0]}}",
                  4, 3);
    size_t n;
    const char *h = "{\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}," T_A4
                    ",\"y\":{\"dtype\":\"U8\",\"shape\":[3,0],\"data_offsets\":[0,0]}}";
    unsigned char *f = make_file(h, strlen(h), ~0ull, 4, &n);
    gb_safetensors st;
    cr_assert_eq(gb_safetensors_parse("ok", f, n, &st), GB_OK, "%s", gb_last_error());
    cr_assert_str_eq(st.tensors[0].name, "y", "file order: [0,0] first");
    cr_assert_str_eq(st.tensors[1].name, "a");
    cr_assert_str_eq(st.tensors[2].name, "z");
    cr_assert_eq(st.tensors[2].data, st.file + 8 + strlen(h) + 4);
    gb_safetensors_free(&st);
}

/* ---- parity with the Python peer --------------------------------------------- */

Test(safetensors, peer_reference_layout_file_reads_known_values) {
    gb_safetensors st;
    const char *path = fixture("st_ref.safetensors");
    cr_assert_eq(gb_safetensors_read(path, &st), GB_OK, "%s", gb_last_error());
    cr_assert_eq(st.n_tensors, N_KNOWN);
    for (size_t i = 0; i < N_KNOWN; i++) expect_tensor(&st, &known[i]);
    expect_known_meta(&st);
    /* The reference writer orders by dtype alignment (descending), then name;
     * file order here is offset order, ties at 72 broken by END. */
    static const char *const order[] = {"emb", "step", "u64", "counts", "empty", "fc0_b", "fc0_w",
                                        "layer.\xc3\xbc/weight", "u32", "bf", "half", "i16", "u16", "bytes",
                                        "i8", "mask"};
    for (size_t i = 0; i < N_KNOWN; i++) cr_assert_str_eq(st.tensors[i].name, order[i], "file order at %zu", i);
    float w[6];
    cr_assert_eq(gb_safetensors_get_f32(&st, "fc0_w", w, 6), GB_OK, "%s", gb_last_error());
    cr_assert_eq(w[5], 1.25f);
    gb_safetensors_free(&st);
}

Test(safetensors, writer_matches_peer_bytes_for_the_same_entries) {
    const char *path = tmp_path("given.safetensors");
    cr_assert_eq(gb_safetensors_write(path, known, N_KNOWN, known_meta), GB_OK, "%s", gb_last_error());
    unsigned char *ours = NULL, *theirs = NULL;
    size_t n_ours = 0, n_theirs = 0;
    cr_assert_eq(gb_read_file(path, &ours, &n_ours), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_read_file(fixture("st_ref_given_order.safetensors"), &theirs, &n_theirs), GB_OK, "%s",
                 gb_last_error());
    cr_assert_eq(n_ours, n_theirs, "sizes differ: ours %zu, peer %zu", n_ours, n_theirs);
    size_t first_diff = n_ours;
    for (size_t i = 0; i < n_ours; i++)
        if (ours[i] != theirs[i]) {
            first_diff = i;
            break;
        }
    cr_assert_eq(first_diff, n_ours, "files differ first at byte %zu\nours:   %.60s\npeer:   %.60s", first_diff,
                 (const char *)ours + (first_diff > 20 ? first_diff - 20 : 0),
                 (const char *)theirs + (first_diff > 20 ? first_diff - 20 : 0));
    free(ours);
    free(theirs);
}

Test(safetensors, peer_invalid_files_rejected_for_the_right_reason) {
    static const struct {
        const char *file, *reason;
    } bad[] = {
        {"st_bad_hole.safetensors", "tensor 'b': data_offsets [12, 20] leave a hole"},
        {"st_bad_overlap.safetensors", "tensor 'b': data_offsets [8, 20] overlap tensor 'a'"},
        {"st_bad_trailing.safetensors", "file not fully covered: 3 trailing bytes"},
        {"st_bad_dup.safetensors", "the key 'a' twice"},
        {"st_bad_size.safetensors", "tensor 'fc0_w': data_offsets [0, 100] hold 100 bytes but F32 [5, 6] needs 120"},
        {"st_bad_metadata.safetensors", "value for key 'epoch' is a number"},
        {"st_bad_truncated.safetensors", "(truncated file?)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = fixture(bad[i].file);
        gb_safetensors st;
        cr_assert_eq(gb_safetensors_read(path, &st), GB_INPUT, "%s was accepted", path);
        cr_assert_not_null(strstr(gb_last_error(), bad[i].reason), "%s: message '%s' lacks '%s'", path,
                           gb_last_error(), bad[i].reason);
        cr_assert_not_null(strstr(gb_last_error(), path), "%s", gb_last_error());
    }
}

static void hex_of(char *out, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

Test(safetensors, peer_reader_accepts_our_file_and_sees_our_bytes) {
    struct stat sb;
    cr_assert(stat(PEER_SCRIPT, &sb) == 0, PEER_SCRIPT " not found: run this test from the repository root");
    const char *path = tmp_path("for_peer.safetensors");
    cr_assert_eq(gb_safetensors_write(path, known, N_KNOWN, known_meta), GB_OK, "%s", gb_last_error());
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 " PEER_SCRIPT " --read '%s'", path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "popen %s failed", cmd);
    char *out = NULL;
    size_t cap = 0, len = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, p)) > 0) {
        out = realloc(out, cap = len + got + 1);
        memcpy(out + len, chunk, got);
        len += got;
        out[len] = '\0';
    }
    int rc = pclose(p);
    cr_assert_eq(rc, 0, "the peer reader rejected our file (exit status %d); output: %s", rc, out ? out : "");
    cr_assert_not_null(out, "no output from %s", cmd);

    cJSON *doc = cJSON_Parse(out);
    cr_assert_not_null(doc, "peer output is not JSON: %s", out);
    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(doc, "tensors");
    cr_assert_eq(cJSON_GetArraySize(tensors), (int)N_KNOWN);
    const cJSON *order = cJSON_GetObjectItemCaseSensitive(doc, "order");
    for (size_t i = 0; i < N_KNOWN; i++) {
        const gb_st_entry *e = &known[i];
        cr_assert_str_eq(cJSON_GetArrayItem(order, (int)i)->valuestring, e->name, "peer's file order at %zu", i);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(tensors, e->name);
        cr_assert_not_null(t, "peer does not see tensor '%s'", e->name);
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "dtype")->valuestring, gb_dtype_name(e->dtype));
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(t, "shape");
        cr_assert_eq(cJSON_GetArraySize(shape), e->ndim, "tensor '%s' rank", e->name);
        for (int d = 0; d < e->ndim; d++)
            cr_assert_eq((int64_t)cJSON_GetArrayItem(shape, d)->valuedouble, e->shape[d]);
        size_t n = entry_bytes(e);
        char *want = malloc(2 * n + 1);
        hex_of(want, e->data, n);
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "hex")->valuestring, want, "tensor '%s' bytes",
                         e->name);
        free(want);
    }
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(doc, "metadata");
    cr_assert_eq(cJSON_GetArraySize(meta), 3);
    for (size_t i = 0; known_meta[i]; i += 2)
        cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(meta, known_meta[i])->valuestring, known_meta[i + 1]);
    cr_assert_eq((int)cJSON_GetObjectItemCaseSensitive(doc, "header_len")->valuedouble % 8, 0);
    cJSON_Delete(doc);
    free(out);
}
