/* tests/test_archive.c - MD5 (core/md5.h), the gzip reader (core/gzip_file.h), tar iteration
 * (core/tar.h).
 *
 * References: RFC 1321 appendix A.5 digests; Python's hashlib, gzip and tarfile through the
 * files written by tests/peers/image_data.py (archive/): md5 of files at every padding-edge
 * length, a two-member gzip file (plus zero padding), ustar / GNU / pax archives (plain and
 * gzipped) holding a 101-character path and, for GNU and pax, a 280-character one, each
 * member's name, size and md5 listed by the peer. Corrupt inputs must be GB_INPUT with the
 * file name (and offset) in the message: truncated gzip, bad CRC, trailing garbage, a tar
 * header with a wrong checksum, a truncated member, a missing end-of-archive marker.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gzip_file.h"
#include "core/md5.h"
#include "core/tar.h"
#include "tests/fixture_files.h"

static void md5_hex_of(const void *data, size_t n, char hex[33]) {
    uint8_t d[16];
    gb_md5(data, n, d);
    gb_md5_hex(d, hex);
}

Test(md5, rfc1321_vectors) {
    static const char *const in[] = {"", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz",
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                                     "1234567890123456789012345678901234567890123456789012345678901234567890"
                                     "1234567890"};
    static const char *const want[] = {"d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
                                       "900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
                                       "c3fcd3d76192e4007dfb496cca67e13b", "d174ab98d277d9f5a5611c2c9f419d9f",
                                       "57edf4a22be3c955ac49da2e2107b67a"};
    char hex[33];
    for (int i = 0; i < 7; i++) {
        md5_hex_of(in[i], strlen(in[i]), hex);
        cr_expect_str_eq(hex, want[i], "md5(\"%s\")", in[i]);
    }
}

Test(md5, chunked_updates_equal_one_shot) {
    unsigned char buf[300];
    for (int i = 0; i < 300; i++) buf[i] = (unsigned char)(i * 31 + 7);
    char whole[33], part[33];
    md5_hex_of(buf, sizeof buf, whole);
    for (size_t split = 0; split <= sizeof buf; split++) {
        gb_md5_ctx c;
        uint8_t d[16];
        gb_md5_init(&c);
        gb_md5_update(&c, buf, split);
        gb_md5_update(&c, buf + split, sizeof buf - split);
        gb_md5_final(&c, d);
        gb_md5_hex(d, part);
        cr_assert_str_eq(part, whole, "split at %zu", split);
    }
}

Test(md5, files_match_hashlib) {
    size_t n;
    char *list = (char *)fx_read("archive/md5.txt", &n);
    char want[64], name[256];
    int count = 0;
    for (char *line = strtok(list, "\n"); line; line = strtok(NULL, "\n")) {
        cr_assert_eq(sscanf(line, "%63s %255s", want, name), 2);
        char rel[300], got[33];
        snprintf(rel, sizeof rel, "archive/%s", name);
        char *path = fx_path(rel);
        cr_assert_eq(gb_md5_file(path, got), GB_OK, "%s", gb_last_error());
        cr_expect_str_eq(got, want, "%s", name);
        cr_expect_eq(gb_md5_check_file(path, want), GB_OK);
        free(path);
        count++;
    }
    cr_expect_eq(count, 14);
    char *path = fx_path("archive/md5_64.bin");
    fx_expect_error(gb_md5_check_file(path, "00000000000000000000000000000000"), GB_INPUT, "md5_64.bin");
    free(path);
    fx_expect_error(gb_md5_file("/nonexistent/genbench.bin", want), GB_INPUT, "/nonexistent/genbench.bin");
    free(list);
}

static void expect_gz_equals_plain(const char *rel) {
    size_t pn;
    unsigned char *plain = fx_read("archive/plain.bin", &pn);
    char *path = fx_path(rel);
    uint8_t *data;
    size_t n;
    cr_assert_eq(gb_gz_read_file(path, 1 << 24, &data, &n), GB_OK, "%s", gb_last_error());
    cr_expect_eq(n, pn, "%s: %zu bytes, expected %zu", rel, n, pn);
    cr_expect(n == pn && memcmp(data, plain, n) == 0, "%s: bytes differ from the original", rel);
    free(data);
    free(plain);
    free(path);
}

Test(gzip, multi_member_and_plain) {
    expect_gz_equals_plain("archive/multi.gz");
    expect_gz_equals_plain("archive/multi_padded.gz");
    expect_gz_equals_plain("archive/plain.bin"); /* a plain file passes through */
}

Test(gzip, small_reads_cross_member_boundaries) {
    size_t pn;
    unsigned char *plain = fx_read("archive/plain.bin", &pn);
    char *path = fx_path("archive/multi.gz");
    gb_gz_reader *r;
    cr_assert_eq(gb_gz_open(&r, path), GB_OK);
    cr_expect(gb_gz_compressed(r));
    unsigned char *got = malloc(pn + 16);
    size_t at = 0, step = 1;
    for (;;) {
        size_t n;
        cr_assert_eq(gb_gz_read(r, got + at, step, &n), GB_OK, "%s", gb_last_error());
        at += n;
        if (n < step) break;
        step = step * 3 % 4093 + 1;
    }
    cr_expect_eq(at, pn);
    cr_expect_eq(gb_gz_offset(r), pn);
    cr_expect(memcmp(got, plain, pn) == 0);
    gb_gz_close(r);
    free(got);
    free(plain);
    free(path);
}

Test(gzip, corrupt_files_are_input_errors) {
    static const char *const bad[] = {"archive/truncated.gz", "archive/garbage.gz", "archive/bad_crc.gz"};
    static const char *const what[] = {"truncated", "after the last gzip member", "corrupt gzip data"};
    for (int i = 0; i < 3; i++) {
        char *path = fx_path(bad[i]);
        uint8_t *data;
        size_t n;
        fx_expect_error(gb_gz_read_file(path, 1 << 24, &data, &n), GB_INPUT, strrchr(path, '/') + 1);
        cr_expect(strstr(gb_last_error(), what[i]), "%s: '%s' should say '%s'", bad[i], gb_last_error(), what[i]);
        cr_expect(data == NULL && n == 0);
        free(path);
    }
    char *path = fx_path("archive/multi.gz");
    uint8_t *data;
    size_t n;
    fx_expect_error(gb_gz_read_file(path, 1000, &data, &n), GB_INPUT, "multi.gz");
    free(path);
}

/* Read every member of an archive and compare with the peer's listing. */
static void check_archive(const char *rel, const char *members_rel) {
    size_t ln;
    char *listing = (char *)fx_read(members_rel, &ln);
    char *path = fx_path(rel);
    gb_tar *tar;
    cr_assert_eq(gb_tar_open(&tar, path), GB_OK, "%s", gb_last_error());
    char *save = NULL;
    char *line = strtok_r(listing, "\n", &save);
    int files = 0;
    for (;;) {
        gb_tar_entry e;
        int end;
        cr_assert_eq(gb_tar_next(tar, &e, &end), GB_OK, "%s: %s", rel, gb_last_error());
        if (end) break;
        if (e.type == '5') continue;
        cr_assert_eq(e.type, '0', "%s: member %s has type %c", rel, e.name, e.type);
        cr_assert(line != NULL, "%s: more members than the peer wrote (%s)", rel, e.name);
        char name[400], md5[40];
        unsigned long long size;
        cr_assert_eq(sscanf(line, "%399s %llu %39s", name, &size, md5), 3);
        cr_expect_str_eq(e.name, name, "%s: member %d", rel, files);
        cr_expect_eq(e.size, size, "%s: %s size", rel, name);
        uint8_t *data;
        size_t n;
        cr_assert_eq(gb_tar_read_all(tar, 1 << 20, &data, &n), GB_OK, "%s", gb_last_error());
        char got[33];
        uint8_t d[16];
        gb_md5(data, n, d);
        gb_md5_hex(d, got);
        cr_expect_str_eq(got, md5, "%s: %s content", rel, name);
        free(data);
        files++;
        line = strtok_r(NULL, "\n", &save);
    }
    cr_expect(line == NULL, "%s: member %s missing", rel, line ? line : "");
    gb_tar_close(tar);
    free(path);
    free(listing);
}

Test(tar, ustar_gnu_pax_long_names) {
    check_archive("archive/t_ustar.tar", "archive/t_ustar.members");
    check_archive("archive/t_ustar.tar.gz", "archive/t_ustar.members");
    check_archive("archive/t_gnu.tar", "archive/t_gnu.members");
    check_archive("archive/t_gnu.tar.gz", "archive/t_gnu.members");
    check_archive("archive/t_pax.tar", "archive/t_pax.members");
    check_archive("archive/t_pax.tar.gz", "archive/t_pax.members");
}

/* Walk an archive to the end; return the first failure. */
static gb_status walk(const char *path) {
    gb_tar *tar;
    gb_status s = gb_tar_open(&tar, path);
    if (s != GB_OK) return s;
    for (;;) {
        gb_tar_entry e;
        int end;
        s = gb_tar_next(tar, &e, &end);
        if (s != GB_OK || end) break;
    }
    gb_tar_close(tar);
    return s;
}

Test(tar, corrupt_archives_are_input_errors) {
    char *p = fx_path("archive/bad_checksum.tar");
    fx_expect_error(walk(p), GB_INPUT, "bad_checksum.tar");
    cr_expect(strstr(gb_last_error(), "byte 1024"), "%s", gb_last_error());
    free(p);
    p = fx_path("archive/truncated.tar");
    fx_expect_error(walk(p), GB_INPUT, "truncated.tar");
    cr_expect(strstr(gb_last_error(), "truncated"), "%s", gb_last_error());
    free(p);
    p = fx_path("archive/no_end.tar");
    fx_expect_error(walk(p), GB_INPUT, "no_end.tar");
    cr_expect(strstr(gb_last_error(), "end-of-archive"), "%s", gb_last_error());
    free(p);
    p = fx_path("archive/md5_1000.bin"); /* random bytes: not a tar header */
    fx_expect_error(walk(p), GB_INPUT, "md5_1000.bin");
    free(p);
    fx_expect_error(walk("/nonexistent/x.tar"), GB_INPUT, "/nonexistent/x.tar");
}
