/* core/md5.c - MD5 as specified in RFC 1321 section 3 (steps 1-5).
 * Tested by tests/test_archive.c. */
#include "core/md5.h"

#include <string.h>
#include <strings.h>

#include "core/file_stream.h"
#include "core/hash_block.h"

/* RFC 1321 3.4: T[i] = floor(2^32 * |sin(i)|), i = 1..64. */
static const uint32_t gb_md5_t[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* Per-round left-rotation amounts (RFC 1321 3.4, the S11..S44 constants). */
static const unsigned gb_md5_s[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

static uint32_t gb_rotl(uint32_t x, unsigned n) { return (x << n) | (x >> (32 - n)); }

static uint32_t gb_load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One 512-bit block (RFC 1321 3.4): four rounds of sixteen operations. */
static void gb_md5_compress(uint32_t h[4], const uint8_t block[64]) {
    uint32_t x[16];
    for (int i = 0; i < 16; i++) x[i] = gb_load_le32(block + 4 * i);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        int round = i >> 4;
        uint32_t f;
        int g;
        switch (round) {
        case 0: f = (b & c) | (~b & d); g = i; break;
        case 1: f = (b & d) | (c & ~d); g = (5 * i + 1) & 15; break;
        case 2: f = b ^ c ^ d; g = (3 * i + 5) & 15; break;
        default: f = c ^ (b | ~d); g = (7 * i) & 15; break;
        }
        uint32_t t = d;
        d = c;
        c = b;
        b = b + gb_rotl(a + f + gb_md5_t[i] + x[g], gb_md5_s[round][i & 3]);
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

void gb_md5_init(gb_md5_ctx *c) {
    /* RFC 1321 3.3: the words 01 23 45 67, 89 ab cd ef, fe dc ba 98, 76 54 32 10 (low byte first). */
    c->h[0] = 0x67452301;
    c->h[1] = 0xefcdab89;
    c->h[2] = 0x98badcfe;
    c->h[3] = 0x10325476;
    c->length = 0;
    c->used = 0;
}

/* The shared block buffering, bound to this hash's state and compression function. */
static gb_hash_blocks md5_blocks(gb_md5_ctx *c) {
    return (gb_hash_blocks){c->h, c->block, &c->used, &c->length, gb_md5_compress};
}

void gb_md5_update(gb_md5_ctx *c, const void *data, size_t n) {
    gb_hash_blocks b = md5_blocks(c);
    gb_hash_blocks_update(&b, data, n);
}

void gb_md5_final(gb_md5_ctx *c, uint8_t digest[16]) {
    /* RFC 1321 3.1-3.2: a 1 bit, zeros to 448 mod 512, then the bit length (little-endian). */
    gb_hash_blocks b = md5_blocks(c);
    gb_hash_blocks_finish(&b, 0);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) digest[4 * i + j] = (uint8_t)(c->h[i] >> (8 * j));
}

void gb_md5(const void *data, size_t n, uint8_t digest[16]) {
    gb_md5_ctx c;
    gb_md5_init(&c);
    gb_md5_update(&c, data, n);
    gb_md5_final(&c, digest);
}

void gb_md5_hex(const uint8_t digest[16], char hex[33]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[32] = '\0';
}

static void md5_consume(void *ctx, const void *data, size_t n) { gb_md5_update(ctx, data, n); }

gb_status gb_md5_file(const char *path, char hex[33]) {
    gb_md5_ctx c;
    gb_md5_init(&c);
    GB_TRY(gb_file_stream(path, md5_consume, &c));
    uint8_t digest[16];
    gb_md5_final(&c, digest);
    gb_md5_hex(digest, hex);
    return GB_OK;
}

gb_status gb_md5_check_file(const char *path, const char *expected_hex) {
    char got[33];
    GB_TRY(gb_md5_file(path, got));
    if (strlen(expected_hex) != 32 || strcasecmp(got, expected_hex) != 0)
        return gb_fail(GB_INPUT, "%s: md5 %s does not match the published %s (the download is "
                                 "corrupt or a different file: delete it and download it again)",
                       path, got, expected_hex);
    return GB_OK;
}
