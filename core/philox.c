/* core/philox.c - Philox4x32-10, the stream key mix, and the uniform/normal/integer
 * transforms documented in core/philox.h. Tested by tests/test_philox.c. */
#include "core/philox.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

#define GB_PHILOX_M0 0xD2511F53u
#define GB_PHILOX_M1 0xCD9E8D57u
#define GB_PHILOX_W0 0x9E3779B9u
#define GB_PHILOX_W1 0xBB67AE85u

/* 2 pi rounded to double; written out so the constant does not depend on M_PI's spelling. */
#define GB_TWO_PI 6.283185307179586

void gb_philox4x32_10(uint32_t out[4], const uint32_t counter[4], const uint32_t key[2]) {
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            /* The key schedule is a Weyl sequence: bumped before every round but the first. */
            k0 += GB_PHILOX_W0;
            k1 += GB_PHILOX_W1;
        }
        uint64_t p0 = (uint64_t)GB_PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)GB_PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

static uint64_t gb_fmix64(uint64_t z) {
    z ^= z >> 30;
    z *= 0xbf58476d1ce4e5b9ull;
    z ^= z >> 27;
    z *= 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z;
}

static uint64_t gb_fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t gb_stream_key64(uint64_t seed, const char *name) {
    GB_ASSERT(name != NULL, "stream name is NULL");
    uint64_t a = gb_fmix64(seed + 0x9E3779B97F4A7C15ull);
    return gb_fmix64(a ^ gb_fnv1a64(name));
}

gb_stream gb_stream_open(uint64_t seed, const char *name) {
    uint64_t k = gb_stream_key64(seed, name);
    gb_stream s = {.key = {(uint32_t)k, (uint32_t)(k >> 32)}, .position = 0};
    return s;
}

gb_stream gb_stream_openf(uint64_t seed, const char *fmt, ...) {
    /* Names are short in practice; a longer one is hashed in full from the heap, never
     * truncated (a truncated name would silently alias another stream). */
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    GB_ASSERT(n >= 0, "bad stream name format \"%s\"", fmt);
    if ((size_t)n < sizeof small) return gb_stream_open(seed, small);
    char *big = malloc((size_t)n + 1);
    GB_ASSERT(big != NULL, "out of memory formatting a %d-byte stream name", n);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    gb_stream s = gb_stream_open(seed, big);
    free(big);
    return s;
}

static void gb_philox_block(uint32_t out[4], const uint32_t key[2], uint64_t block) {
    const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
    gb_philox4x32_10(out, ctr, key);
}

uint32_t gb_philox_u32_at(const uint32_t key[2], uint64_t index) {
    uint32_t w[4];
    gb_philox_block(w, key, index / 4);
    return w[index % 4];
}

static float gb_word_to_uniform(uint32_t w) {
    /* (2m + 1) * 2^-24 with m < 2^23: at most 24 significant bits, so exact in float. */
    return ((float)(w >> 9) + 0.5f) * 0x1p-23f;
}

float gb_philox_uniform_at(const uint32_t key[2], uint64_t index) {
    return gb_word_to_uniform(gb_philox_u32_at(key, index));
}

/* Box-Muller on one word pair; returns the cosine (even) or sine (odd) half. */
static float gb_box_muller(uint32_t w_even, uint32_t w_odd, int odd) {
    double u1 = gb_word_to_uniform(w_even);
    double u2 = gb_word_to_uniform(w_odd);
    double r = sqrt(-2.0 * log(u1));
    double theta = GB_TWO_PI * u2;
    return (float)(odd ? r * sin(theta) : r * cos(theta));
}

float gb_philox_normal_at(const uint32_t key[2], uint64_t index) {
    uint64_t first = index & ~(uint64_t)1;
    uint32_t w[4];
    gb_philox_block(w, key, first / 4);
    unsigned lane = (unsigned)(first % 4); /* 0 or 2: a pair never straddles a block */
    return gb_box_muller(w[lane], w[lane + 1], (int)(index & 1));
}

void gb_stream_u32(gb_stream *s, uint32_t *out, size_t n) {
    /* One Philox call per block of four words rather than per word. */
    uint64_t pos = s->position;
    size_t i = 0;
    while (i < n) {
        uint32_t w[4];
        gb_philox_block(w, s->key, pos / 4);
        for (unsigned lane = (unsigned)(pos % 4); lane < 4 && i < n; lane++, i++, pos++)
            out[i] = w[lane];
    }
    s->position = pos;
}

void gb_stream_uniform(gb_stream *s, float *out, size_t n) {
    /* Draw the words into the output buffer (same size), then map each in place. */
    gb_stream_u32(s, (uint32_t *)(void *)out, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t w;
        memcpy(&w, &out[i], sizeof w);
        out[i] = gb_word_to_uniform(w);
    }
}

void gb_stream_normal(gb_stream *s, float *out, size_t n) {
    uint64_t pos = s->position + (s->position & 1);
    size_t i = 0;
    while (i < n) {
        uint32_t w[4];
        gb_philox_block(w, s->key, pos / 4);
        for (unsigned lane = (unsigned)(pos % 4); lane < 4 && i < n; lane += 2) {
            out[i++] = gb_box_muller(w[lane], w[lane + 1], 0);
            if (i < n) out[i++] = gb_box_muller(w[lane], w[lane + 1], 1);
            pos += 2;
        }
    }
    s->position = pos;
}

uint32_t gb_stream_below(gb_stream *s, uint32_t bound) {
    GB_ASSERT(bound >= 1, "gb_stream_below needs bound >= 1");
    uint32_t w = gb_philox_u32_at(s->key, s->position++);
    return (uint32_t)(((uint64_t)w * bound) >> 32);
}

float gb_stream_uniform_range(gb_stream *s, float lo, float hi) {
    GB_ASSERT(lo <= hi, "uniform range [%g, %g) is reversed", (double)lo, (double)hi);
    float u = gb_philox_uniform_at(s->key, s->position++);
    if (lo == hi) return lo;
    float r = lo + (hi - lo) * u;
    return r < hi ? r : nextafterf(hi, lo);
}

void gb_stream_permutation(gb_stream *s, uint32_t *perm, size_t n) {
    GB_ASSERT(n <= UINT32_MAX, "permutation of %zu elements exceeds the 32-bit index range", n);
    for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        uint32_t j = gb_stream_below(s, (uint32_t)i);
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
