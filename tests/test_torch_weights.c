/* tests/test_torch_weights.c - metrics/torch_weights.c against files written by torch.save.
 *
 * Fixtures: tests/peers/inception_ref.py (OUTDIR/inception/). Checks:
 *   - small state dicts in both containers: contiguous, transposed (strides 1, 4) and
 *     offset/strided views copied out in C order equal PyTorch's .contiguous() values; int64
 *     and float64 tensors are listed without data; an empty tensor;
 *   - the random FID Inception weights in both containers give identical tensors (472 in
 *     the legacy file, 566 with num_batches_tracked in the zip);
 *   - the SHA-256 gate: the right hash loads, a wrong one is GB_INPUT naming both hashes,
 *     a malformed one is GB_USAGE;
 *   - corrupt files: every truncation point class (inside a pickle, inside a storage count,
 *     inside storage data, inside the zip), trailing bytes, a wrong magic, a flipped byte in a
 *     zip record (CRC) -> GB_INPUT naming the file, never a crash (ASan build clean).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic_file.h"
#include "core/manifest.h"
#include "core/sha256.h"
#include "metrics/torch_weights.h"
#include "tests/fixture.h"

/* $GB_FIXTURES/inception/<rel> (malloc'd), which must exist. */
static char *fx(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "inception/%s", rel);
    return fixture_file(path);
}

static unsigned char *read_all(const char *rel, size_t *n, char **path_out) {
    char *p = fx(rel);
    unsigned char *d;
    cr_assert_eq(gb_read_file(p, &d, n), GB_OK, "%s", gb_last_error());
    if (path_out) *path_out = p;
    else free(p);
    return d;
}

static void check_small(const char *rel, gb_torch_container want) {
    size_t n;
    unsigned char *d = read_all(rel, &n, NULL);
    gb_torch_state s;
    cr_assert_eq(gb_torch_parse(&s, rel, d, n), GB_OK, "%s", gb_last_error());
    cr_expect_eq(s.container, want);
    cr_assert_eq(s.count, 6);
    float *ref = fixture_f32("inception/small_values.f32", 33);
    static const int64_t shp_c[2] = {3, 4}, shp_t[2] = {4, 3}, shp_s[2] = {3, 3};
    const float *c, *t, *sv;
    cr_assert_eq(gb_torch_get_f32(&c, &s, "c", 2, shp_c), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_torch_get_f32(&t, &s, "t", 2, shp_t), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_torch_get_f32(&sv, &s, "s", 2, shp_s), GB_OK, "%s", gb_last_error());
    cr_expect(memcmp(c, ref, 12 * 4) == 0, "c differs");
    cr_expect(memcmp(t, ref + 12, 12 * 4) == 0, "t (transposed view) differs");
    cr_expect(memcmp(sv, ref + 24, 9 * 4) == 0, "s (offset, strided view) differs");
    const gb_torch_tensor *l = gb_torch_find(&s, "l"), *dd = gb_torch_find(&s, "d"), *e = gb_torch_find(&s, "e");
    cr_assert(l && dd && e);
    cr_expect(l->dtype == GB_TORCH_I64 && l->count == 2 && !l->data);
    cr_expect(dd->dtype == GB_TORCH_F64 && dd->count == 3 && !dd->data);
    cr_expect(e->dtype == GB_TORCH_F32 && e->count == 0 && e->ndim == 2 && e->shape[1] == 5);
    /* float64 asked for as float32, and a wrong shape: both name the key */
    const float *x;
    cr_expect_eq(gb_torch_get_f32(&x, &s, "d", 1, (const int64_t[]){3}), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "'d'") && strstr(gb_last_error(), "float64"), "%s", gb_last_error());
    cr_expect_eq(gb_torch_get_f32(&x, &s, "c", 2, shp_t), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "[3, 4]") && strstr(gb_last_error(), "[4, 3]"), "%s", gb_last_error());
    cr_expect_eq(gb_torch_get_f32(&x, &s, "zz", 1, shp_c), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "'zz'") && strstr(gb_last_error(), rel), "%s", gb_last_error());
    gb_torch_free(&s);
    free(ref);
    free(d);
}

Test(torch_weights, small_legacy) { check_small("small_legacy.pth", GB_TORCH_LEGACY); }
Test(torch_weights, small_zip) { check_small("small_zip.pth", GB_TORCH_ZIP); }

static void sha_of(const char *path, char hex[65]) { cr_assert_eq(gb_sha256_file(path, hex), GB_OK, "%s", gb_last_error()); }

Test(torch_weights, both_containers_same_tensors) {
    char *pl = fx("weights_legacy.pth"), *pz = fx("weights_zip.pth");
    char hl[65], hz[65];
    sha_of(pl, hl);
    sha_of(pz, hz);
    gb_torch_state a, b;
    cr_assert_eq(gb_torch_load(&a, pl, hl), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_torch_load(&b, pz, hz), GB_OK, "%s", gb_last_error());
    cr_expect_eq(a.container, GB_TORCH_LEGACY);
    cr_expect_eq(b.container, GB_TORCH_ZIP);
    cr_expect_str_eq(a.sha256, hl);
    cr_expect_eq(a.count, 472, "legacy tensors: %zu", a.count);
    cr_expect_eq(b.count, 566, "zip tensors (with num_batches_tracked): %zu", b.count);
    size_t floats = 0;
    for (size_t i = 0; i < a.count; i++) {
        const gb_torch_tensor *x = &a.tensors[i], *y = gb_torch_find(&b, x->name);
        cr_assert(y, "%s missing from the zip file", x->name);
        cr_assert(x->dtype == GB_TORCH_F32 && y->dtype == GB_TORCH_F32 && x->count == y->count, "%s", x->name);
        cr_expect(memcmp(x->data, y->data, x->count * 4) == 0, "%s differs between containers", x->name);
        floats += x->count;
    }
    cr_expect_eq(floats, 23885392, "parameters: %zu", floats);
    const gb_torch_tensor *nbt = gb_torch_find(&b, "Mixed_7c.branch_pool.bn.num_batches_tracked");
    cr_expect(nbt && nbt->dtype == GB_TORCH_I64 && nbt->ndim == 0 && nbt->count == 1);
    gb_torch_free(&a);
    gb_torch_free(&b);
    free(pl);
    free(pz);
}

Test(torch_weights, sha256_gate) {
    char *p = fx("small_zip.pth");
    char h[65];
    sha_of(p, h);
    gb_torch_state s;
    char upper[65];
    for (int i = 0; i < 65; i++) upper[i] = (char)(h[i] >= 'a' && h[i] <= 'f' ? h[i] - 32 : h[i]);
    cr_assert_eq(gb_torch_load(&s, p, upper), GB_OK, "upper-case hex accepted: %s", gb_last_error());
    gb_torch_free(&s);
    char wrong[65];
    memcpy(wrong, h, 65);
    wrong[10] = wrong[10] == '0' ? '1' : '0';
    cr_expect_eq(gb_torch_load(&s, p, wrong), GB_INPUT);
    cr_expect(strstr(gb_last_error(), h) && strstr(gb_last_error(), wrong) && strstr(gb_last_error(), p), "%s",
              gb_last_error());
    cr_expect_eq(s.count, 0);
    cr_expect_eq(gb_torch_load(&s, p, "abc"), GB_USAGE);
    cr_expect_eq(gb_torch_load(&s, p, NULL), GB_USAGE);
    free(p);
}

/* Parse a modified copy; must be GB_INPUT with the origin in the message. */
static void expect_bad(const unsigned char *d, size_t n, const char *what, const char *needle) {
    gb_torch_state s;
    gb_status st = gb_torch_parse(&s, "corrupt.pth", d, n);
    cr_expect_eq(st, GB_INPUT, "%s: status %d", what, st);
    cr_expect(strstr(gb_last_error(), "corrupt.pth"), "%s: %s", what, gb_last_error());
    if (needle) cr_expect(strstr(gb_last_error(), needle), "%s: '%s' not in: %s", what, needle, gb_last_error());
    cr_expect_eq(s.count, 0);
}

Test(torch_weights, corrupt_legacy) {
    size_t n;
    unsigned char *d = read_all("small_legacy.pth", &n, NULL);
    /* every truncation: inside the pickles, the counts and the data */
    for (size_t cut = 0; cut < n; cut++) {
        gb_torch_state s;
        cr_expect_eq(gb_torch_parse(&s, "corrupt.pth", d, cut), GB_INPUT, "cut at %zu", cut);
    }
    expect_bad(d, n - 1, "one byte short", "truncated");
    unsigned char *longer = malloc(n + 3);
    memcpy(longer, d, n);
    memset(longer + n, 0, 3);
    expect_bad(longer, n + 3, "trailing bytes", "follow the last storage");
    free(longer);
    d[0] = 0x81;
    expect_bad(d, n, "wrong first byte", "offset 0");
    d[0] = 0x80;
    d[5] ^= 0xff; /* inside the magic number's bytes */
    expect_bad(d, n, "wrong magic", "magic");
    free(d);
}

Test(torch_weights, corrupt_zip) {
    size_t n;
    unsigned char *d = read_all("small_zip.pth", &n, NULL);
    for (size_t cut = 0; cut < n; cut += 7) {
        gb_torch_state s;
        cr_expect_eq(gb_torch_parse(&s, "corrupt.pth", d, cut), GB_INPUT, "cut at %zu", cut);
    }
    /* flip one byte of a storage record's data: libzip's CRC check catches it. The records
     * are stored, so the float 0.5 * k + 3 of storage 's' appears verbatim; find 4.5f. */
    float needle = 4.5f;
    unsigned char *hit = memmem(d, n, &needle, 4);
    cr_assert(hit, "storage bytes not found in the zip");
    hit[1] ^= 0x10;
    expect_bad(d, n, "flipped storage byte", "damaged");
    hit[1] ^= 0x10;
    d[2] = 9;
    expect_bad(d, n, "wrong magic", "offset 0");
    free(d);
}

/* Found by fuzz/torch_weights_fuzz.c: a 999-byte zip whose directory claims a 2.3 GB record.
 * The claimed sizes are bounded by the file's own size before anything is allocated. */
Test(torch_weights, zip_record_larger_than_the_file_is_refused) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fuzz/corpus/torch_weights/regress-zip-record-size-2.3gb", gb_source_dir());
    unsigned char *data = NULL;
    size_t n = 0;
    cr_assert_eq(gb_read_file(path, &data, &n), GB_OK, "%s", gb_last_error());
    gb_torch_state st;
    cr_expect_eq(gb_torch_parse(&st, "regress.pth", data, n), GB_INPUT, "a damaged zip must be an input error");
    cr_expect(strstr(gb_last_error(), "regress.pth") != NULL, "message names the file: %s", gb_last_error());
    free(data);
}
