/* tests/test_sha256.c - SHA-256 (core/sha256.h).
 *
 * References: the FIPS 180-4 example digests (NIST "Examples with Intermediate Values" for
 * SHA-256: "abc" and the 448-bit message; the one-million-'a' message of the NIST test
 * vectors; the empty message) and coreutils `sha256sum`, run through popen on files written
 * by the test (including every length around the 55/56/64-byte padding boundaries).
 * Chunked updates at every split point must equal the one-shot digest, and an unreadable
 * path must give GB_INPUT with the path and the system's reason in gb_last_error().
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sha256.h"

static void hex_of(const void *data, size_t n, char hex[65]) {
    uint8_t d[32];
    gb_sha256(data, n, d);
    gb_sha256_hex(d, hex);
}

Test(sha256, fips_180_4_vectors) {
    static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[65];
    hex_of("", 0, hex);
    cr_expect_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, hex);
    cr_expect_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hex_of(m448, strlen(m448), hex);
    cr_expect_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    /* One million 'a', fed in uneven pieces so the block buffering is exercised too. */
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    gb_sha256_ctx c;
    gb_sha256_init(&c);
    size_t left = 1000000, step = 1;
    while (left > 0) {
        size_t n = step < left ? step : left;
        gb_sha256_update(&c, chunk, n);
        left -= n;
        step = (step * 7 + 13) % sizeof chunk + 1; /* 1..1000 */
    }
    uint8_t d[32];
    gb_sha256_final(&c, d);
    gb_sha256_hex(d, hex);
    cr_expect_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

Test(sha256, every_split_point_equals_one_shot) {
    /* 130 bytes: splits cross the first and second block boundaries and the padding cases. */
    uint8_t msg[130];
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof msg; len++) {
        uint8_t want[32];
        gb_sha256(msg, len, want);
        for (size_t a = 0; a <= len; a++) {
            /* Two-way split at a, and a three-way split at a and (a + len) / 2. */
            size_t b = (a + len) / 2;
            gb_sha256_ctx c2, c3;
            gb_sha256_init(&c2);
            gb_sha256_update(&c2, msg, a);
            gb_sha256_update(&c2, msg + a, len - a);
            gb_sha256_init(&c3);
            gb_sha256_update(&c3, msg, a);
            gb_sha256_update(&c3, msg + a, b - a);
            gb_sha256_update(&c3, msg + b, len - b);
            uint8_t got2[32], got3[32];
            gb_sha256_final(&c2, got2);
            gb_sha256_final(&c3, got3);
            cr_assert_arr_eq(got2, want, 32, "length %zu split at %zu", len, a);
            cr_assert_arr_eq(got3, want, 32, "length %zu split at %zu and %zu", len, a, b);
        }
    }
}

/* Writes n bytes to a fresh temporary file; returns its path (static buffer). */
static const char *write_temp(const uint8_t *data, size_t n) {
    static char path[256];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/gb_sha256_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, data + off, n - off);
        cr_assert(w > 0, "write %s: %s", path, strerror(errno));
        off += (size_t)w;
    }
    close(fd);
    return path;
}

/* The first 64 characters of `sha256sum PATH`. */
static void sha256sum_of(const char *path, char hex[65]) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    cr_assert(p != NULL, "popen sha256sum: %s", strerror(errno));
    char line[512] = "";
    char *got = fgets(line, sizeof line, p);
    int rc = pclose(p);
    cr_assert(got != NULL && rc == 0 && strlen(line) >= 64,
              "sha256sum %s failed (exit %d): is coreutils installed?", path, rc);
    memcpy(hex, line, 64);
    hex[64] = '\0';
}

Test(sha256, file_matches_sha256sum) {
    /* A 1 MiB + 17 byte file (several read buffers, a partial last block) and every length
     * near the padding boundaries. */
    size_t big = (1u << 20) + 17;
    uint8_t *data = malloc(big);
    cr_assert(data != NULL);
    uint32_t x = 2463534242u; /* xorshift32, fixed seed */
    for (size_t i = 0; i < big; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (uint8_t)x;
    }
    const size_t lens[] = {big, 0, 1, 54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129};
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        const char *path = write_temp(data, lens[t]);
        char want[65], got[65];
        sha256sum_of(path, want);
        gb_status st = gb_sha256_file(path, got);
        unlink(path);
        cr_assert_eq(st, GB_OK, "length %zu: %s", lens[t], gb_last_error());
        cr_expect_str_eq(got, want, "length %zu", lens[t]);
        char mem[65];
        hex_of(data, lens[t], mem);
        cr_expect_str_eq(mem, want, "length %zu (in memory)", lens[t]);
    }
    free(data);
}

Test(sha256, missing_file_is_input_error) {
    const char *path = "/nonexistent-genbench-dir/weights.pth";
    char hex[65] = "untouched";
    gb_clear_error();
    gb_status st = gb_sha256_file(path, hex);
    cr_expect_eq(st, GB_INPUT, "status %d", st);
    cr_expect(strstr(gb_last_error(), path) != NULL, "message lacks the path: %s",
              gb_last_error());
    cr_expect(strstr(gb_last_error(), strerror(ENOENT)) != NULL, "message lacks the reason: %s",
              gb_last_error());
}

Test(sha256, directory_is_input_error) {
    /* fopen succeeds on a directory under Linux; the read fails with EISDIR. */
    const char *dir = getenv("TMPDIR");
    dir = dir && *dir ? dir : "/tmp";
    char hex[65];
    gb_clear_error();
    cr_expect_eq(gb_sha256_file(dir, hex), GB_INPUT);
    cr_expect(strstr(gb_last_error(), dir) != NULL, "message lacks the path: %s",
              gb_last_error());
    cr_expect(strstr(gb_last_error(), strerror(EISDIR)) != NULL,
              "message lacks the reason: %s", gb_last_error());
}

Test(sha256, hex_is_lowercase_and_terminated) {
    uint8_t d[32];
    for (int i = 0; i < 32; i++) d[i] = (uint8_t)(i * 8 + 7);
    char hex[66];
    memset(hex, '!', sizeof hex);
    gb_sha256_hex(d, hex);
    cr_expect_str_eq(hex, "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff");
    cr_expect_eq(hex[65], '!', "wrote past the 65-byte buffer");
}
