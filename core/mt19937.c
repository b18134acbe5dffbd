/* core/mt19937.c - numpy's legacy RandomState stream and permutation (see core/mt19937.h;
 * tested by tests/test_mt19937.c). Written from Matsumoto & Nishimura's MT19937 description
 * (1998) and numpy's documented legacy algorithms. */
#include "core/mt19937.h"

#define MT_M 397
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu
#define MT_MATRIX_A 0x9908b0dfu

void gb_mt19937_seed(gb_mt19937 *g, uint32_t seed) {
    g->mt[0] = seed;
    for (uint32_t i = 1; i < GB_MT19937_N; i++) g->mt[i] = 1812433253u * (g->mt[i - 1] ^ (g->mt[i - 1] >> 30)) + i;
    g->pos = GB_MT19937_N;
}

/* Regenerates all 624 words: each new word mixes the top bit of mt[i] with the low 31 bits
 * of mt[i + 1] and the word 397 places on. */
static void twist(gb_mt19937 *g) {
    for (int i = 0; i < GB_MT19937_N; i++) {
        uint32_t y = (g->mt[i] & MT_UPPER) | (g->mt[(i + 1) % GB_MT19937_N] & MT_LOWER);
        g->mt[i] = g->mt[(i + MT_M) % GB_MT19937_N] ^ (y >> 1) ^ ((y & 1u) ? MT_MATRIX_A : 0u);
    }
    g->pos = 0;
}

uint32_t gb_mt19937_next(gb_mt19937 *g) {
    if (g->pos >= GB_MT19937_N) twist(g);
    uint32_t y = g->mt[g->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint64_t gb_mt19937_interval(gb_mt19937 *g, uint64_t max) {
    if (max == 0) return 0;
    uint64_t mask = max;
    for (int shift = 1; shift < 64; shift *= 2) mask |= mask >> shift;
    uint64_t value;
    if (max <= 0xffffffffu) {
        do value = gb_mt19937_next(g) & mask;
        while (value > max);
    } else {
        do {
            uint64_t hi = gb_mt19937_next(g);
            value = ((hi << 32) | gb_mt19937_next(g)) & mask;
        } while (value > max);
    }
    return value;
}

void gb_numpy_permutation(size_t *perm, size_t n, uint32_t seed) {
    gb_mt19937 g;
    gb_mt19937_seed(&g, seed);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)gb_mt19937_interval(&g, i);
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
