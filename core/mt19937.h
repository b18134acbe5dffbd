/* core/mt19937.h - numpy's legacy RandomState stream (MT19937), only to reproduce peers'
 * protocols bit for bit. genbench's own random numbers come from core/philox.h; this file
 * exists because some published protocols fix their sample order with numpy, e.g.
 * torch-fidelity's Inception score shuffles its rows with np.random.RandomState(2020)
 * .permutation(n) before splitting them, and the split assignment changes the value.
 *
 * What is reproduced (numpy >= 1.17, numpy/random/_mt19937.pyx and legacy distributions):
 *   seeding      RandomState(s) for an integer 0 <= s < 2^32 is Matsumoto-Nishimura's
 *                init_genrand(s): mt[0] = s, mt[i] = 1812433253 (mt[i-1] ^ (mt[i-1] >> 30)) + i
 *   next word    the reference genrand_int32 (twist of 624 words, then tempering)
 *   interval     random_interval(max): 0 for max 0; else mask = the smallest 2^k - 1 >= max,
 *                draw words & mask until one is <= max (two words, high first, when max
 *                needs more than 32 bits)
 *   permutation  permutation(n) = shuffle(arange(n)): for i = n-1 down to 1, swap x[i] with
 *                x[random_interval(i)]
 *
 * Tested by tests/test_mt19937.c: the reference implementation's published first outputs for
 * seed 5489, and numpy's own RandomState(seed).permutation(n) for several seeds and sizes
 * (tests/peers/fid_stats.py).
 */
#ifndef GB_MT19937_H
#define GB_MT19937_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define GB_MT19937_N 624

typedef struct {
    uint32_t mt[GB_MT19937_N];
    int pos; /* next word of mt to temper; GB_MT19937_N: twist first */
} gb_mt19937;

/* The state of numpy's RandomState(seed). */
void gb_mt19937_seed(gb_mt19937 *g, uint32_t seed);
/* The next 32-bit word (genrand_int32). */
uint32_t gb_mt19937_next(gb_mt19937 *g);
/* A uniform integer in [0, max], by numpy's legacy masked rejection. */
uint64_t gb_mt19937_interval(gb_mt19937 *g, uint64_t max);
/* perm [n] = numpy.random.RandomState(seed).permutation(n). */
void gb_numpy_permutation(size_t *perm, size_t n, uint32_t seed);

#endif
