/* kernels/cuda/philox.cu - Philox4x32-10 streams on the device, bit-identical to core/philox.c.
 *
 * The stream key comes from the host (gb_stream_open: seed + name, core/philox.h); the
 * device only evaluates word `index` = Philox4x32-10(counter {lo32(b), hi32(b), 0, 0}, key)
 * [lane], b = index / 4, lane = index % 4, and the transforms of core/philox.h:
 *   uniform  ((w >> 9) + 0.5) * 2^-23: every step exact in float, so bitwise everywhere;
 *   normal   Box-Muller on the word pair (2j, 2j+1), j = index / 2, in double:
 *            r = sqrt(-2 log u1), theta = 6.283185307179586 * u2, even index r cos(theta),
 *            odd index r sin(theta), rounded once to float.
 * The Philox rounds are integer arithmetic (__umulhi is the high word of the same 64-bit
 * product), so words are bitwise the CPU's. Normals: the double multiplications and the
 * square root are correctly rounded _rn operations (no FMA contraction), but log, sin and cos
 * are CUDA's libdevice (1-2 ulp in double) where the CPU uses glibc (under 1 ulp), so a normal
 * can differ from the CPU's in the last float bit when the double result lies within a few
 * double ulps of a float rounding boundary: about one normal in 10^8 (core/philox.h says so;
 * tests/test_cuda_philox.c measures it on a GPU).
 * Each thread computes one Philox block (four words) and writes the outputs that fall in it.
 * Tested by tests/test_cuda_philox.c against core/philox.c, bitwise.
 */
#include "kernels/cuda/common.cuh"

#define GB_TWO_PI_D 6.283185307179586

__device__ static void philox_block(uint32_t out[4], uint64_t block, uint32_t k0, uint32_t k1) {
    uint32_t c0 = (uint32_t)block, c1 = (uint32_t)(block >> 32), c2 = 0, c3 = 0;
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        const uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

__device__ static float word_to_uniform(uint32_t w) {
    return __fmul_rn(__fadd_rn((float)(w >> 9), 0.5f), 0x1p-23f);
}

__device__ static float box_muller(uint32_t w_even, uint32_t w_odd, int odd) {
    const double u1 = (double)word_to_uniform(w_even);
    const double u2 = (double)word_to_uniform(w_odd);
    const double r = __dsqrt_rn(__dmul_rn(-2.0, log(u1)));
    const double theta = __dmul_rn(GB_TWO_PI_D, u2);
    return __double2float_rn(__dmul_rn(r, odd ? sin(theta) : cos(theta)));
}

/* out[k] = transform(word position + k), k < n; thread t owns Philox block first + t. */
template <bool normal>
__global__ void philox_kernel(float *out, uint32_t k0, uint32_t k1, uint64_t position, size_t n) {
    const uint64_t first = position / 4, last = (position + n - 1) / 4;
    for (uint64_t b = first + blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; b <= last;
         b += (uint64_t)gridDim.x * blockDim.x) {
        uint32_t w[4];
        philox_block(w, b, k0, k1);
        for (int lane = 0; lane < 4; lane++) {
            const uint64_t index = b * 4 + (uint64_t)lane;
            if (index < position || index - position >= n) continue;
            /* a normal pair (2j, 2j+1) never straddles a block: lanes 0-1 and 2-3 */
            out[index - position] = normal ? box_muller(w[lane & 2], w[(lane & 2) + 1], lane & 1)
                                           : word_to_uniform(w[lane]);
        }
    }
}

template <bool normal>
static void launch(gb_device *dev, float *out, const uint32_t key[2], uint64_t position, size_t n) {
    if (n == 0) return;
    GB_ASSERT(position + n > position, "philox: position %llu + %zu words overflows 64 bits",
              (unsigned long long)position, n);
    const uint64_t blocks = (position + n - 1) / 4 - position / 4 + 1;
    philox_kernel<normal><<<gb_cuda_grid((size_t)blocks), GB_CUDA_BLOCK>>>(out, key[0], key[1], position, n);
    GB_LAUNCH_CHECK(dev, normal ? "philox_kernel<normal>" : "philox_kernel<uniform>");
}

extern "C" void gb_cuda_philox_uniform(gb_device *dev, float *out, const uint32_t key[2],
                                       uint64_t position, size_t n) {
    launch<false>(dev, out, key, position, n);
}

extern "C" void gb_cuda_philox_normal(gb_device *dev, float *out, const uint32_t key[2],
                                      uint64_t position, size_t n) {
    launch<true>(dev, out, key, position, n);
}

extern "C" void gb_cuda_stream_uniform(gb_device *dev, gb_stream *s, float *out, size_t n) {
    launch<false>(dev, out, s->key, s->position, n);
    s->position += n;
}

extern "C" void gb_cuda_stream_normal(gb_device *dev, gb_stream *s, float *out, size_t n) {
    /* gb_stream_normal: start at an even word, consume whole pairs */
    const uint64_t pos = s->position + (s->position & 1);
    launch<true>(dev, out, s->key, pos, n);
    s->position = pos + n + (n & 1);
}
