/* tests/test_npy.c - core/npy.h against files written by numpy and against numpy reading ours.
 *
 * numpy-written fixtures (tests/peers/fid_stats.py): every dtype, a 0-d and an empty array,
 * big-endian, Fortran order, .npy versions 2.0 and 3.0, np.savez (stored) and
 * np.savez_compressed (deflated with numpy's ZIP64 local headers); every element is compared
 * with the generating pattern, so a byte-order, transpose or offset slip fails.
 * Our files: round trips for every dtype and rank, the exact header bytes and 64-byte
 * alignment, deterministic .npz bytes, and numpy (/usr/bin/python3) loading our .npy and both
 * kinds of .npz. Corrupt input: a catalogue of bad headers, each GB_INPUT with the byte offset
 * in the message; a flipped CRC-protected byte and a truncated archive. Streams (data read front
 * to back) against the loaders, and the damage they must find.
 * All comparisons are exact: no arithmetic happens between the files and the values.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "core/atomic_file.h"
#include "core/npy.h"
#include "tests/fid_fixture.h"

/* The peer's pattern(i): ((i * 37) % 101 - 50) / 8, or (i * 37) % 256 for unsigned. */
static double pattern(size_t i, gb_npy_dtype t) {
    if (t == GB_NPY_U8) return (double)((i * 37) % 256);
    double v = ((double)((i * 37) % 101) - 50.0) / 8.0;
    if (t == GB_NPY_I32 || t == GB_NPY_I64) return (double)(long long)v; /* numpy astype truncates */
    return v;
}

static void expect_pattern(const gb_npy_array *a, gb_npy_dtype t, int ndim, const size_t *shape, const char *what) {
    cr_assert_eq(a->dtype, t, "%s: dtype %d, want %d", what, (int)a->dtype, (int)t);
    cr_assert_eq(a->ndim, ndim, "%s: ndim %d, want %d", what, a->ndim, ndim);
    for (int k = 0; k < ndim; k++) cr_assert_eq(a->shape[k], shape[k], "%s: shape[%d]", what, k);
    double *v = malloc((a->count + 1) * sizeof *v);
    gb_npy_to_f64(v, a);
    for (size_t i = 0; i < a->count; i++)
        cr_assert_eq(v[i], pattern(i, t), "%s: element %zu is %.17g, want %.17g", what, i, v[i], pattern(i, t));
    free(v);
}

/* gb_npy_peek / gb_npz_peek describe an array as its load does, reading no data. */
static void expect_peek_like(const gb_npy_array *peeked, const gb_npy_array *loaded, const char *what) {
    cr_expect_null(peeked->data, "%s: peek read data", what);
    cr_expect_eq(peeked->dtype, loaded->dtype, "%s: dtype", what);
    cr_expect_eq(peeked->ndim, loaded->ndim, "%s: ndim", what);
    cr_expect_eq(peeked->count, loaded->count, "%s: count", what);
    cr_expect_eq(memcmp(peeked->shape, loaded->shape, sizeof loaded->shape), 0, "%s: shape", what);
}

static void check_file(const char *name, gb_npy_dtype t, int ndim, const size_t *shape) {
    char path[1024];
    gb_npy_array a, h;
    gb_status s = gb_npy_load(&a, fid_fixture(path, sizeof path, name));
    cr_assert_eq(s, GB_OK, "%s: %s", name, gb_last_error());
    expect_pattern(&a, t, ndim, shape, name);
    cr_assert_eq(gb_npy_peek(&h, path), GB_OK, "%s: %s", name, gb_last_error());
    expect_peek_like(&h, &a, name);
    gb_npy_free(&a);
}

Test(npy_numpy, every_dtype) {
    check_file("npy_f4.npy", GB_NPY_F32, 2, (size_t[]){5, 7});
    check_file("npy_f8.npy", GB_NPY_F64, 1, (size_t[]){11});
    check_file("npy_i4.npy", GB_NPY_I32, 3, (size_t[]){2, 3, 4});
    check_file("npy_i8.npy", GB_NPY_I64, 1, (size_t[]){6});
    check_file("npy_u1.npy", GB_NPY_U8, 2, (size_t[]){4, 5});
}

Test(npy_numpy, scalar_and_empty) {
    check_file("npy_scalar.npy", GB_NPY_F64, 0, NULL);
    check_file("npy_empty.npy", GB_NPY_F32, 2, (size_t[]){0, 3});
}

Test(npy_numpy, big_endian_converted) {
    check_file("npy_be_f8.npy", GB_NPY_F64, 2, (size_t[]){3, 4});
    check_file("npy_be_i4.npy", GB_NPY_I32, 1, (size_t[]){7});
}

Test(npy_numpy, fortran_order_transposed) { check_file("npy_fortran.npy", GB_NPY_F32, 3, (size_t[]){3, 4, 5}); }

Test(npy_numpy, versions_2_and_3) {
    check_file("npy_v2.npy", GB_NPY_F64, 2, (size_t[]){4, 3});
    check_file("npy_v3.npy", GB_NPY_F64, 2, (size_t[]){4, 3});
}

static void check_npz(const char *name) {
    char path[1024];
    gb_npz z;
    gb_status s = gb_npz_load(&z, fid_fixture(path, sizeof path, name));
    cr_assert_eq(s, GB_OK, "%s: %s", name, gb_last_error());
    cr_assert_eq(z.count, 3, "%s: %zu members", name, z.count);
    const gb_npy_array *mu = gb_npz_find(&z, "mu"), *sg = gb_npz_find(&z, "sigma"), *lb = gb_npz_find(&z, "labels");
    cr_assert(mu && sg && lb, "%s: keys mu, sigma, labels expected", name);
    cr_assert_null(gb_npz_find(&z, "mu.npy"));
    expect_pattern(mu, GB_NPY_F32, 1, (size_t[]){9}, "mu");
    expect_pattern(sg, GB_NPY_F64, 2, (size_t[]){9, 9}, "sigma");
    expect_pattern(lb, GB_NPY_I64, 1, (size_t[]){13}, "labels");
    const char *keys[3] = {"mu", "sigma", "labels"};
    for (int k = 0; k < 3; k++) {
        gb_npy_array h;
        cr_assert_eq(gb_npz_peek(&h, path, keys[k]), GB_OK, "%s:%s: %s", name, keys[k], gb_last_error());
        expect_peek_like(&h, gb_npz_find(&z, keys[k]), keys[k]);
    }
    gb_npy_array none;
    cr_expect_eq(gb_npz_peek(&none, path, "feats"), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "no member feats.npy"), "%s", gb_last_error());
    gb_npz_free(&z);
}

Test(npz_numpy, savez_stored) { check_npz("npz_stored.npz"); }
Test(npz_numpy, savez_compressed_deflated_zip64_local_headers) { check_npz("npz_deflated.npz"); }

/* ---- our files ------------------------------------------------------------------------------ */

static gb_npy_array make_pattern(gb_npy_dtype t, int ndim, const size_t *shape) {
    gb_npy_array a = gb_npy_view(t, ndim, shape, NULL);
    a.data = malloc(a.count * gb_npy_itemsize(t) + 1);
    for (size_t i = 0; i < a.count; i++) {
        double v = pattern(i, t);
        switch (t) {
        case GB_NPY_U8: ((uint8_t *)a.data)[i] = (uint8_t)v; break;
        case GB_NPY_I32: ((int32_t *)a.data)[i] = (int32_t)v; break;
        case GB_NPY_I64: ((int64_t *)a.data)[i] = (int64_t)v; break;
        case GB_NPY_F32: ((float *)a.data)[i] = (float)v; break;
        case GB_NPY_F64: ((double *)a.data)[i] = v; break;
        }
    }
    return a;
}

static char tmpdir[64];
static void make_tmpdir(void) {
    strcpy(tmpdir, "/tmp/gb_npy_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}
static void remove_tmpdir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    cr_expect_eq(system(cmd), 0);
}

TestSuite(npy_ours, .init = make_tmpdir, .fini = remove_tmpdir);

Test(npy_ours, round_trip_every_dtype_and_rank) {
    const gb_npy_dtype types[] = {GB_NPY_U8, GB_NPY_I32, GB_NPY_I64, GB_NPY_F32, GB_NPY_F64};
    const size_t shape[] = {3, 2, 4, 1, 2};
    for (size_t t = 0; t < 5; t++)
        for (int nd = 0; nd <= 5; nd++) {
            gb_npy_array a = make_pattern(types[t], nd, shape);
            char path[128];
            snprintf(path, sizeof path, "%s/a.npy", tmpdir);
            cr_assert_eq(gb_npy_save(path, &a), GB_OK, "%s", gb_last_error());
            gb_npy_array b;
            cr_assert_eq(gb_npy_load(&b, path), GB_OK, "%s", gb_last_error());
            expect_pattern(&b, types[t], nd, shape, "round trip");
            cr_assert_eq(memcmp(a.data, b.data, a.count * gb_npy_itemsize(types[t])), 0);
            gb_npy_free(&a);
            gb_npy_free(&b);
        }
}

Test(npy_ours, header_bytes_as_numpy_writes_them) {
    gb_npy_array a = make_pattern(GB_NPY_F32, 2, (size_t[]){3, 4});
    unsigned char *buf;
    size_t n;
    cr_assert_eq(gb_npy_encode(&buf, &n, &a), GB_OK);
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
    cr_assert_eq(memcmp(buf, "\x93NUMPY\x01\x00", 8), 0);
    size_t hlen = buf[8] | (size_t)buf[9] << 8;
    cr_assert_eq((10 + hlen) % 64, 0, "data must start at a multiple of 64 (header length %zu)", hlen);
    cr_assert_eq(memcmp(buf + 10, dict, strlen(dict)), 0, "header text: %.*s", (int)hlen, (const char *)buf + 10);
    for (size_t i = 10 + strlen(dict); i < 10 + hlen - 1; i++) cr_assert_eq(buf[i], ' ');
    cr_assert_eq(buf[10 + hlen - 1], '\n');
    cr_assert_eq(n, 10 + hlen + 12 * 4);
    free(buf);
    gb_npy_array v = make_pattern(GB_NPY_F64, 1, (size_t[]){7});
    cr_assert_eq(gb_npy_encode(&buf, &n, &v), GB_OK);
    cr_assert_not_null(memmem(buf, n, "'shape': (7,), }", 16), "a 1-tuple needs its trailing comma");
    free(buf);
    gb_npy_free(&a);
    gb_npy_free(&v);
}

static void write_npz_pair(const char *path, gb_npz_compression c) {
    gb_npy_array arrays[3] = {make_pattern(GB_NPY_F32, 1, (size_t[]){9}), make_pattern(GB_NPY_F64, 2, (size_t[]){9, 9}),
                              make_pattern(GB_NPY_I64, 1, (size_t[]){13})};
    const char *keys[3] = {"mu", "sigma", "labels"};
    cr_assert_eq(gb_npz_save(path, keys, arrays, 3, c), GB_OK, "%s", gb_last_error());
    for (int i = 0; i < 3; i++) gb_npy_free(&arrays[i]);
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s", path);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    cr_assert_eq(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

Test(npy_ours, npz_round_trip_and_deterministic_bytes) {
    char p1[128], p2[128];
    for (int c = 0; c < 2; c++) {
        snprintf(p1, sizeof p1, "%s/one.npz", tmpdir);
        snprintf(p2, sizeof p2, "%s/two.npz", tmpdir);
        write_npz_pair(p1, c ? GB_NPZ_DEFLATED : GB_NPZ_STORED);
        sleep(c ? 0 : 1); /* a timestamp taken from the clock would now differ */
        write_npz_pair(p2, c ? GB_NPZ_DEFLATED : GB_NPZ_STORED);
        size_t n1, n2;
        unsigned char *b1 = slurp(p1, &n1), *b2 = slurp(p2, &n2);
        cr_assert(n1 == n2 && memcmp(b1, b2, n1) == 0, "the same arrays must give the same .npz bytes");
        free(b1);
        free(b2);
        gb_npz z;
        cr_assert_eq(gb_npz_load(&z, p1), GB_OK, "%s", gb_last_error());
        cr_assert_eq(z.count, 3);
        cr_assert_str_eq(z.keys[0], "mu");
        expect_pattern(gb_npz_find(&z, "sigma"), GB_NPY_F64, 2, (size_t[]){9, 9}, "sigma");
        expect_pattern(gb_npz_find(&z, "labels"), GB_NPY_I64, 1, (size_t[]){13}, "labels");
        gb_npz_free(&z);
    }
}

Test(npy_ours, npz_rejects_empty_and_repeated_keys) {
    gb_npy_array a[2] = {make_pattern(GB_NPY_F32, 1, (size_t[]){2}), make_pattern(GB_NPY_F32, 1, (size_t[]){2})};
    char p[128];
    snprintf(p, sizeof p, "%s/k.npz", tmpdir);
    cr_expect_eq(gb_npz_save(p, (const char *[]){"a", "a"}, a, 2, GB_NPZ_STORED), GB_USAGE);
    cr_expect_eq(gb_npz_save(p, (const char *[]){"a", ""}, a, 2, GB_NPZ_STORED), GB_USAGE);
    cr_expect_eq(access(p, F_OK), -1, "nothing may be written on failure");
    gb_npy_free(&a[0]);
    gb_npy_free(&a[1]);
}

/* numpy itself must read what we write (value by value, dtype and shape). */
Test(npy_ours, numpy_reads_our_files) {
    char npy[128], st[128], df[128], cmd[4096];
    snprintf(npy, sizeof npy, "%s/x.npy", tmpdir);
    snprintf(st, sizeof st, "%s/s.npz", tmpdir);
    snprintf(df, sizeof df, "%s/d.npz", tmpdir);
    gb_npy_array a = make_pattern(GB_NPY_F64, 3, (size_t[]){2, 3, 5});
    cr_assert_eq(gb_npy_save(npy, &a), GB_OK);
    gb_npy_free(&a);
    write_npz_pair(st, GB_NPZ_STORED);
    write_npz_pair(df, GB_NPZ_DEFLATED);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"\n"
             "import numpy as np, zipfile, sys\n"
             "def pat(n, dt):\n"
             "    i = np.arange(n)\n"
             "    return (((i * 37) %% 101 - 50) / 8).astype(dt)\n"
             "x = np.load('%s')\n"
             "assert x.dtype == np.float64 and x.shape == (2, 3, 5) and (x.ravel() == pat(30, 'f8')).all()\n"
             "for p, method in (('%s', zipfile.ZIP_STORED), ('%s', zipfile.ZIP_DEFLATED)):\n"
             "    z = np.load(p)\n"
             "    assert sorted(z.files) == ['labels', 'mu', 'sigma'], z.files\n"
             "    assert z['mu'].dtype == np.float32 and (z['mu'] == pat(9, 'f4')).all()\n"
             "    assert z['sigma'].shape == (9, 9) and (z['sigma'].ravel() == pat(81, 'f8')).all()\n"
             "    assert z['labels'].dtype == np.int64 and (z['labels'] == pat(13, 'i8')).all()\n"
             "    assert all(i.compress_type == method for i in zipfile.ZipFile(p).infolist())\n"
             "    assert zipfile.ZipFile(p).testzip() is None\n"
             "\"",
             npy, st, df);
    cr_assert_eq(system(cmd), 0, "numpy (/usr/bin/python3) could not read our files, see stderr");
}

/* ---- corrupt input -------------------------------------------------------------------------- */

/* A .npy image with the given header text (padded like numpy) and `data_bytes` zero bytes. */
static unsigned char *image(const char *hdr, size_t data_bytes, size_t *n) {
    size_t hl = strlen(hdr) + 1, pad = 64 - (10 + hl) % 64, total = 10 + hl + pad + data_bytes;
    unsigned char *b = calloc(total, 1);
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)((hl + pad) & 0xff);
    b[9] = (unsigned char)((hl + pad) >> 8);
    memcpy(b + 10, hdr, strlen(hdr));
    memset(b + 10 + strlen(hdr), ' ', pad);
    b[10 + hl + pad - 1] = '\n';
    *n = total;
    return b;
}

static void expect_bad(const unsigned char *b, size_t n, const char *needle, const char *what) {
    gb_npy_array a;
    gb_status s = gb_npy_decode(&a, b, n, "bad.npy");
    cr_expect_eq(s, GB_INPUT, "%s: status %d, want GB_INPUT", what, (int)s);
    cr_expect_null(a.data, "%s: no data on failure", what);
    cr_expect_not_null(strstr(gb_last_error(), needle), "%s: message '%s' should contain '%s'", what, gb_last_error(),
                       needle);
    cr_expect_not_null(strstr(gb_last_error(), "bad.npy"), "%s: message must name the file", what);
    /* the header-only reader refuses the same file with the same message */
    char path[] = "/tmp/gb_peek_XXXXXX.npy";
    int fd = mkstemps(path, 4);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, b, n), (ssize_t)n);
    close(fd);
    s = gb_npy_peek(&a, path);
    cr_expect_eq(s, GB_INPUT, "%s: peek status %d, want GB_INPUT", what, (int)s);
    cr_expect_not_null(strstr(gb_last_error(), needle), "%s: peek message '%s' should contain '%s'", what,
                       gb_last_error(), needle);
    unlink(path);
}

static void expect_bad_header(const char *hdr, size_t data_bytes, const char *needle) {
    size_t n;
    unsigned char *b = image(hdr, data_bytes, &n);
    expect_bad(b, n, needle, hdr);
    free(b);
}

Test(npy_corrupt, header_catalogue) {
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    size_t n;
    unsigned char *b = image(ok, 8, &n);
    gb_npy_array a;
    cr_assert_eq(gb_npy_decode(&a, b, n, "ok.npy"), GB_OK, "the well-formed base case must load: %s", gb_last_error());
    gb_npy_free(&a);
    /* Keys in any order, double quotes, no trailing comma: still fine. */
    unsigned char *b2 = image("{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<f4\"}", 8, &n);
    cr_assert_eq(gb_npy_decode(&a, b2, n, "ok.npy"), GB_OK, "%s", gb_last_error());
    gb_npy_free(&a);
    free(b2);

    b[0] = 'X';
    expect_bad(b, n, "byte 0", "magic");
    b[0] = 0x93;
    b[6] = 4;
    expect_bad(b, n, "byte 6", "version 4");
    b[6] = 1;
    b[9] = 0x7f;
    expect_bad(b, n, "byte 8", "header length past the end");
    b[9] = 0;
    expect_bad(b, n - 1, "truncated", "one data byte short");
    free(b);
    b = image(ok, 9, &n);
    expect_bad(b, n, "trailing", "one data byte too many");
    free(b);

    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }", 8, "byte 66");
    expect_bad_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, "duplicate");
    expect_bad_header("{'descr': '<f4', 'shape': (2,), }", 8, "missing");
    expect_bad_header("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, "structured");
    expect_bad_header("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", 4, "byte 20");
    expect_bad_header("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "not supported");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", 8, "trailing comma");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8, "non-negative");
    expect_bad_header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", 8, "True or False");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", 8, "after the closing");
    expect_bad_header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 8,
                      "overflows");
    expect_bad_header("{'descr': '<f4\xe9', 'fortran_order': False, 'shape': (2,), }", 8, "non-ASCII");
    expect_bad_header("['descr', '<f4']", 8, "expected '{'");
    /* a version 1.0 header text of 1 byte ends inside the 12 bytes the header-only reader reads
     * first (found by fuzz/npy_fuzz.c: it overflowed the header buffer) */
    expect_bad((const unsigned char *)"\x93NUMPY\x01\x00\x01\x00\x00\x04", 12, "NUL", "1-byte header text");
    /* a version 2.0 header length far beyond any numpy header: refused before allocating */
    static unsigned char huge[64] = "\x93NUMPY\x02\x00\x00\x00\x00\x01";
    expect_bad(huge, sizeof huge, "is over", "16 MiB header length");
}

/* ---- streams ---------------------------------------------------------------------------------- */

/* The stream of a .npy file (key NULL) or an .npz member read in pieces of 1, 2, 3, ... elements
 * gives the loader's bytes, and finishes cleanly. */
static void expect_stream_like(const char *path, const char *key, const gb_npy_array *loaded, int want_fortran) {
    gb_npy_stream *st;
    gb_npy_array h;
    int fortran = -1;
    cr_assert_eq(gb_npy_stream_open(&st, &h, &fortran, path, key), GB_OK, "%s %s: %s", path, key ? key : "",
                 gb_last_error());
    expect_peek_like(&h, loaded, path);
    cr_expect_eq(fortran, want_fortran, "%s: fortran %d", path, fortran);
    const size_t item = gb_npy_itemsize(h.dtype), total = h.count * item;
    unsigned char *got = malloc(total + 1);
    for (size_t at = 0, piece = 1; at < h.count; at += piece, piece++) {
        const size_t n = piece < h.count - at ? piece : h.count - at;
        cr_assert_eq(gb_npy_stream_read(st, got + at * item, n * item), GB_OK, "%s", gb_last_error());
        if (n < piece) break;
    }
    if (!want_fortran) /* a Fortran-order file's bytes are its columns: the loader transposes them */
        cr_expect_eq(memcmp(got, loaded->data, total), 0, "%s %s: streamed bytes differ from the loader's", path,
                     key ? key : "");
    cr_expect_eq(gb_npy_stream_finish(st), GB_OK, "%s", gb_last_error());
    gb_npy_stream_close(st);
    free(got);
}

Test(npy_stream, numpy_files_in_pieces) {
    const char *files[] = {"npy_f4.npy",    "npy_f8.npy",    "npy_i4.npy", "npy_i8.npy", "npy_u1.npy",  "npy_be_f8.npy",
                           "npy_be_i4.npy", "npy_scalar.npy", "npy_empty.npy", "npy_v2.npy", "npy_v3.npy",
                           "npy_fortran.npy"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char path[1024];
        gb_npy_array a;
        cr_assert_eq(gb_npy_load(&a, fid_fixture(path, sizeof path, files[k])), GB_OK, "%s", gb_last_error());
        expect_stream_like(path, NULL, &a, strcmp(files[k], "npy_fortran.npy") == 0);
        gb_npy_free(&a);
    }
    const char *archives[] = {"npz_stored.npz", "npz_deflated.npz"}, *keys[] = {"mu", "sigma", "labels"};
    for (size_t k = 0; k < 2; k++) {
        char path[1024];
        gb_npz z;
        cr_assert_eq(gb_npz_load(&z, fid_fixture(path, sizeof path, archives[k])), GB_OK, "%s", gb_last_error());
        for (size_t m = 0; m < 3; m++) expect_stream_like(path, keys[m], gb_npz_find(&z, keys[m]), 0);
        gb_npz_free(&z);
    }
}

/* Streams everything of key in path; the first failing status (open, read or finish). */
static gb_status stream_all(const char *path, const char *key) {
    gb_npy_stream *st;
    gb_npy_array h;
    int fortran;
    gb_status s = gb_npy_stream_open(&st, &h, &fortran, path, key);
    if (s != GB_OK) return s;
    unsigned char *buf = malloc(h.count * gb_npy_itemsize(h.dtype) + 1);
    s = gb_npy_stream_read(st, buf, h.count * gb_npy_itemsize(h.dtype));
    if (s == GB_OK) s = gb_npy_stream_finish(st);
    free(buf);
    gb_npy_stream_close(st);
    return s;
}

/* A flipped byte in a stored member reads fine and fails at finish (the CRC-32 is compared at
 * the member's end); in a deflated one, the read or the finish fails; a truncated .npy is
 * refused at open (its size is checked against the shape). Every message names the file. */
Test(npy_stream, damage_is_found) {
    char path[1024], tmp[] = "/tmp/gb_npys_XXXXXX", bad[128];
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(bad, sizeof bad, "%s/bad.npz", tmp);
    const char *archives[] = {"npz_stored.npz", "npz_deflated.npz"};
    for (int k = 0; k < 2; k++) {
        size_t n;
        unsigned char *b = slurp(fid_fixture(path, sizeof path, archives[k]), &n);
        cr_assert_eq(stream_all(path, "sigma"), GB_OK, "%s", gb_last_error());
        /* the middle of the sigma member's data: after its local header ("PK\3\4", 30 bytes,
         * then the name and the extra field), half its compressed size in */
        int err;
        zip_t *za = zip_open(path, ZIP_RDONLY, &err);
        cr_assert_not_null(za);
        zip_stat_t zs;
        cr_assert_eq(zip_stat(za, "sigma.npy", 0, &zs), 0);
        zip_close(za);
        size_t local = n;
        for (size_t i = 0; i + 30 + 9 < n && local == n; i++)
            if (memcmp(b + i, "PK\3\4", 4) == 0 && memcmp(b + i + 30, "sigma.npy", 9) == 0) local = i;
        cr_assert(local < n, "no local header of sigma.npy in %s", path);
        const size_t name_len = b[local + 26] | (size_t)b[local + 27] << 8;
        const size_t extra_len = b[local + 28] | (size_t)b[local + 29] << 8;
        const size_t data = local + 30 + name_len + extra_len;
        b[data + (size_t)zs.comp_size / 2] ^= 0x10;
        cr_assert_eq(gb_atomic_write(bad, b, n), GB_OK);
        cr_expect_eq(stream_all(bad, "sigma"), GB_INPUT, "%s: a flipped byte must be found", archives[k]);
        cr_expect_not_null(strstr(gb_last_error(), "bad.npz:sigma.npy"), "%s", gb_last_error());
        if (k == 0) { /* stored: every byte is readable, the CRC-32 is what finds it */
            gb_npy_stream *st;
            gb_npy_array h;
            int fortran;
            cr_assert_eq(gb_npy_stream_open(&st, &h, &fortran, bad, "sigma"), GB_OK, "%s", gb_last_error());
            double *v = malloc(h.count * sizeof *v);
            cr_expect_eq(gb_npy_stream_read(st, v, h.count * sizeof *v), GB_OK, "%s", gb_last_error());
            cr_expect_eq(gb_npy_stream_finish(st), GB_INPUT, "the CRC-32 must be compared at the end");
            free(v);
            gb_npy_stream_close(st);
        }
        free(b);
    }
    size_t n;
    unsigned char *b = slurp(fid_fixture(path, sizeof path, "npy_f8.npy"), &n);
    snprintf(bad, sizeof bad, "%s/short.npy", tmp);
    cr_assert_eq(gb_atomic_write(bad, b, n - 8), GB_OK);
    cr_expect_eq(stream_all(bad, NULL), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "short.npy"), "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), "truncated"), "%s", gb_last_error());
    free(b);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_expect_eq(system(cmd), 0);
}

Test(npz_corrupt, crc_truncation_and_member_names) {
    char path[1024], tmp[] = "/tmp/gb_npz_XXXXXX";
    cr_assert_not_null(mkdtemp(tmp));
    size_t n;
    unsigned char *b = slurp(fid_fixture(path, sizeof path, "npz_stored.npz"), &n);
    /* Flip one byte of stored data (well inside the first member, after its headers). */
    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    c[200] ^= 0x01;
    char bad[128];
    snprintf(bad, sizeof bad, "%s/crc.npz", tmp);
    cr_assert_eq(gb_atomic_write(bad, c, n), GB_OK);
    gb_npz z;
    cr_expect_eq(gb_npz_load(&z, bad), GB_INPUT, "a CRC mismatch must be GB_INPUT");
    cr_expect_not_null(strstr(gb_last_error(), "crc.npz"), "%s", gb_last_error());
    cr_assert_eq(gb_atomic_write(bad, b, n / 2), GB_OK);
    cr_expect_eq(gb_npz_load(&z, bad), GB_INPUT, "a truncated archive must be GB_INPUT");
    /* A member that is not <key>.npy. */
    int err;
    zip_t *za = zip_open(bad, ZIP_CREATE | ZIP_TRUNCATE, &err);
    cr_assert_not_null(za);
    zip_source_t *src = zip_source_buffer(za, "hello", 5, 0);
    cr_assert_geq(zip_file_add(za, "notes.txt", src, 0), 0);
    cr_assert_eq(zip_close(za), 0);
    cr_expect_eq(gb_npz_load(&z, bad), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "notes.txt"), "%s", gb_last_error());
    free(b);
    free(c);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_expect_eq(system(cmd), 0);
}
