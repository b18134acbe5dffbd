/* core/philox.h - Philox4x32-10 and named random streams (DESIGN.md section 3 "Determinism").
 *
 * Every random number in genbench is a pure function of (run seed, stream name, index):
 *
 *   key   = mix(seed, name)                        two 32-bit words, see gb_stream_open
 *   word  = Philox4x32-10(counter, key)[lane]      block b = index / 4, lane = index % 4,
 *                                                  counter = {lo32(b), hi32(b), 0, 0}
 *
 * so a CPU loop, a CUDA kernel with any thread order, and a resumed run all see the same
 * numbers, and opening a new stream never shifts another stream's numbers.
 *
 * Stream key (stable; changing it changes every result and every golden number):
 *   h     = FNV-1a-64 of the name's bytes (offset 0xcbf29ce484222325, prime 0x100000001b3)
 *   a     = fmix(seed + 0x9E3779B97F4A7C15)
 *   k64   = fmix(a ^ h)
 *   key   = {lo32(k64), hi32(k64)}
 * where fmix is the splitmix64 finaliser (z ^= z >> 30; z *= 0xbf58476d1ce4e5b9;
 * z ^= z >> 27; z *= 0x94d049bb133111eb; z ^= z >> 31), a bijection with full avalanche, so
 * for a fixed seed distinct name hashes give distinct keys, for a fixed name distinct seeds
 * give distinct keys, and neighbouring names or seeds give unrelated keys.
 *
 * Transforms (all integer or exactly-rounded arithmetic except the libm calls of Box-Muller):
 *   uniform(w) = ((w >> 9) + 0.5) * 2^-23, i.e. (2m + 1) * 2^-24 with m the top 23 bits.
 *     Every value is exactly representable in float, lies in the open interval
 *     [2^-24, 1 - 2^-24] (never 0, so log() is safe; never 1, so [lo, hi) ranges hold), and is
 *     computed without rounding, hence bitwise identical everywhere. 23 bits, not 24: the
 *     variant ((w >> 8) + 0.5) * 2^-24 needs a 25-bit significand and rounds to 1.0f for the
 *     top 128 words.
 *   normal(index): Box-Muller on the word pair (2j, 2j + 1), j = index / 2:
 *     u1 = uniform(word 2j), u2 = uniform(word 2j + 1), in double:
 *     r = sqrt(-2 log u1), theta = 6.283185307179586 * u2 (2 pi rounded to double),
 *     even index -> r cos(theta), odd index -> r sin(theta), rounded once to float.
 *     Both normals of a pair therefore share their words, and normal `index` consumes the same
 *     word indices as the uniform stream would. Double precision makes the result insensitive
 *     to the last-ulp differences between libm implementations in almost all cases, but not
 *     all: log/sin/cos are not correctly rounded in glibc or CUDA's libdevice, so a rare
 *     normal can differ by 1 float ulp between CPU and GPU. Bitwise CPU/GPU identity of normals
 *     is NOT established by the CPU tests; it needs a GPU check (compare a few million
 *     normals from the CUDA port against these functions) once the CUDA backend exists.
 *     |normal| <= sqrt(2 * 24 ln 2) ~ 5.77 because u1 >= 2^-24.
 *   below(bound) = (uint64)w * bound >> 32 (Lemire's multiply, no rejection, one word).
 *     Each result value is hit by either floor(2^32 / bound) or ceil(2^32 / bound) words, so
 *     its probability differs from 1/bound by less than 2^-32 absolute (relative bias below
 *     bound * 2^-32: under 1e-5 even for a million-element shuffle). Chosen over rejection
 *     sampling so that every draw consumes exactly one word and position stays predictable.
 *
 * Tested by tests/test_philox.c: the Random123 known-answer vectors, an independent Python
 * implementation (tests/peers/philox_ref.py) for keys, words, uniforms, normals, below and
 * permutations, stream independence and chunking, and statistical sanity checks.
 */
#ifndef GB_PHILOX_H
#define GB_PHILOX_H

#include <stddef.h>
#include <stdint.h>

/* Philox4x32-10 block function (Salmon et al. 2011, Random123): 10 rounds,
 * multipliers 0xD2511F53 / 0xCD9E8D57, Weyl key increments 0x9E3779B9 / 0xBB67AE85. */
void gb_philox4x32_10(uint32_t out[4], const uint32_t counter[4], const uint32_t key[2]);

typedef struct {
    uint32_t key[2];
    uint64_t position; /* 32-bit words consumed so far (saved in checkpoints) */
} gb_stream;

/* The 64-bit stream key before it is split into key[0] (low half) and key[1] (high half);
 * see the file header for the mix. name must not be NULL; "" is a valid name. */
uint64_t gb_stream_key64(uint64_t seed, const char *name);

/* seed + name -> key (see the header), position 0. */
gb_stream gb_stream_open(uint64_t seed, const char *name);
/* Same with a printf-formatted name, e.g. gb_stream_openf(seed, "noise/%d", step).
 * The name is hashed in full whatever its length. */
gb_stream gb_stream_openf(uint64_t seed, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Stateless draws: word `index` of the stream with this key.
 * Counter layout: block b = index / 4 -> counter {lo32(b), hi32(b), 0, 0}; lane index % 4. */
uint32_t gb_philox_u32_at(const uint32_t key[2], uint64_t index);
/* Uniform in the open interval (0,1), exactly representable in float:
 * ((word >> 9) + 0.5) * 2^-23 (see the header for why 23 bits). */
float gb_philox_uniform_at(const uint32_t key[2], uint64_t index);
/* Standard normal number `index`: Box-Muller on the word pair (2j, 2j+1), j = index / 2,
 * computed in double and rounded to float; even index -> r cos(theta), odd -> r sin(theta). */
float gb_philox_normal_at(const uint32_t key[2], uint64_t index);

/* Sequential draws, advancing s->position. uniform/u32: one word each.
 * normal: first rounds position up to even, then normal k of this call is
 * gb_philox_normal_at(key, position + k); position advances by n rounded up to even.
 * (So normals drawn in even-sized chunks equal one call for the total; an odd-sized call
 * discards the sine half of its last pair.) */
void gb_stream_u32(gb_stream *s, uint32_t *out, size_t n);
void gb_stream_uniform(gb_stream *s, float *out, size_t n);
void gb_stream_normal(gb_stream *s, float *out, size_t n);
/* Uniform integer in [0, bound), bound >= 1 (asserted): (uint64)word * bound >> 32, one word.
 * Bias: each probability is within 2^-32 of 1/bound (relative bias below bound * 2^-32). */
uint32_t gb_stream_below(gb_stream *s, uint32_t bound);
/* Uniform float in [lo, hi): lo + (hi - lo) * uniform, evaluated in float, one word.
 * The float rounding can land on hi (e.g. lo = 1, hi = 2 and the largest uniform gives
 * 2 - 2^-24, a tie that rounds to 2.0f); such a result is replaced by the largest float
 * below hi, which a GPU port must do too. lo <= hi (asserted); lo == hi returns lo. */
float gb_stream_uniform_range(gb_stream *s, float lo, float hi);
/* Fisher-Yates permutation of 0..n-1 using gb_stream_below: perm[i] = i, then for
 * i = n-1 down to 1: j = below(i + 1), swap perm[i] and perm[j]. Consumes n-1 words
 * (none for n <= 1). n <= UINT32_MAX (asserted). */
void gb_stream_permutation(gb_stream *s, uint32_t *perm, size_t n);

#endif
