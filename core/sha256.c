/* core/sha256.c - SHA-256 as specified in FIPS 180-4 sections 4.1.2, 4.2.2, 5.1.1, 6.2.
 * Tested by tests/test_sha256.c. */
#include "core/sha256.h"

#include <string.h>

#include "core/file_stream.h"
#include "core/hash_block.h"

/* FIPS 180-4 4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64
 * primes. */
static const uint32_t gb_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static uint32_t gb_rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

static uint32_t gb_load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void gb_store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One 512-bit block (FIPS 180-4 6.2.2). */
static void gb_sha256_compress(uint32_t h[8], const uint8_t block[64]) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++) w[t] = gb_load_be32(block + 4 * t);
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = gb_rotr(w[t - 15], 7) ^ gb_rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = gb_rotr(w[t - 2], 17) ^ gb_rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t big_s1 = gb_rotr(e, 6) ^ gb_rotr(e, 11) ^ gb_rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + big_s1 + ch + gb_sha256_k[t] + w[t];
        uint32_t big_s0 = gb_rotr(a, 2) ^ gb_rotr(a, 13) ^ gb_rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = big_s0 + maj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void gb_sha256_init(gb_sha256_ctx *c) {
    /* FIPS 180-4 5.3.3: fractional parts of the square roots of the first 8 primes. */
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, h0, sizeof h0);
    c->length = 0;
    c->used = 0;
}

/* The shared block buffering, bound to this hash's state and compression function. */
static gb_hash_blocks sha256_blocks(gb_sha256_ctx *c) {
    return (gb_hash_blocks){c->h, c->block, &c->used, &c->length, gb_sha256_compress};
}

void gb_sha256_update(gb_sha256_ctx *c, const void *data, size_t n) {
    gb_hash_blocks b = sha256_blocks(c);
    gb_hash_blocks_update(&b, data, n);
}

void gb_sha256_final(gb_sha256_ctx *c, uint8_t digest[32]) {
    /* FIPS 180-4 5.1.1: a 1 bit, zeros to 448 mod 512, then the bit length (big-endian). */
    gb_hash_blocks b = sha256_blocks(c);
    gb_hash_blocks_finish(&b, 1);
    for (int i = 0; i < 8; i++) gb_store_be32(digest + 4 * i, c->h[i]);
}

void gb_sha256(const void *data, size_t n, uint8_t digest[32]) {
    gb_sha256_ctx c;
    gb_sha256_init(&c);
    gb_sha256_update(&c, data, n);
    gb_sha256_final(&c, digest);
}

void gb_sha256_hex(const uint8_t digest[32], char hex[65]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[64] = '\0';
}

static void sha256_consume(void *ctx, const void *data, size_t n) { gb_sha256_update(ctx, data, n); }

gb_status gb_sha256_file(const char *path, char hex[65]) {
    gb_sha256_ctx c;
    gb_sha256_init(&c);
    GB_TRY(gb_file_stream(path, sha256_consume, &c));
    uint8_t digest[32];
    gb_sha256_final(&c, digest);
    gb_sha256_hex(digest, hex);
    return GB_OK;
}
