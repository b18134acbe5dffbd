/* kernels/cpu/conv_fft.c - conv2d forward through FFTs (FFTW single precision), CPU.
 *
 * The same op as gb_conv2d_forward_gemm_cpu (kernels/cpu/conv2d.c), computed in
 * the frequency domain:
 *   1. each input plane, zero-padded by (pad_h, pad_w), goes into an F_h x F_w
 *      real plane (F the smallest 2^a 3^b 5^c 7^d >= the padded size) and is
 *      transformed (r2c);
 *   2. each kernel plane w[m, c] sits at the plane's origin and is transformed;
 *   3. per frequency bin k, OUT_k[m, n] = sum_c conj(W_k[c, m]) IN_k[c, n]: one
 *      complex GEMM (cblas_cgemm, ConjTrans) per bin, with the 1/(F_h F_w) of the
 *      unnormalised inverse folded into alpha;
 *   4. the inverse (c2r) is the circular cross-correlation, which equals the linear
 *      one on out[y, x] = corr[y*stride_h, x*stride_w] because y + i < F_h for every
 *      tap (no wrap-around), then + bias.
 * The r2c outputs are written bin-major ([bin][c][n], FFTW's ostride), so every
 * bin's operands are contiguous matrices without a transpose pass.
 *
 * Plans are created once per (direction, F_h, F_w, transform count) with
 * FFTW_ESTIMATE, which chooses the algorithm from the sizes alone (FFTW_MEASURE
 * times candidates and can pick differently between runs), and kept in a small
 * cache; they run through FFTW's new-array interface on 64-byte-aligned scratch,
 * the alignment they were planned with. Same inputs therefore give the same bytes
 * on every call. (A float FFTW plan made elsewhere in the process with
 * FFTW_MEASURE for the very same problem would leave wisdom that ESTIMATE reuses;
 * nothing in genbench plans that way.) The planner is not thread-safe: like every
 * op, this one is called from one thread.
 * Workspace: batch and output channels are chunked so the buffers stay under
 * GB_CONV_WORKSPACE_BYTES where possible.
 * Tested by tests/test_kernels_conv.c (against the GEMM path and the float64
 * reference, on 7x7, 5x5, 1x7 and 7x1 kernels, strided and padded).
 */
#include <cblas.h>
#include <fftw3.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/im2col.h"

/* ---- plan cache ----------------------------------------------------------- */

enum { FFT_R2C, FFT_C2R, FFT_CACHE_SIZE = 32 };

typedef struct {
    int kind, fh, fw, howmany;
    fftwf_plan plan;
} fft_plan_entry;

static fft_plan_entry plan_cache[FFT_CACHE_SIZE];
static int plan_cache_next; /* round-robin eviction: which slot a miss takes */

/* A batch of `howmany` 2-D transforms: real planes contiguous (distance fh*fw),
 * spectra interleaved bin-major (stride howmany, distance 1). */
static fftwf_plan get_plan(int kind, int fh, int fw, int howmany, float *real, fftwf_complex *spec) {
    for (int i = 0; i < FFT_CACHE_SIZE; i++) {
        fft_plan_entry *e = &plan_cache[i];
        if (e->plan && e->kind == kind && e->fh == fh && e->fw == fw && e->howmany == howmany)
            return e->plan;
    }
    int n[2] = {fh, fw}, rn[2] = {fh, fw}, cn[2] = {fh, fw / 2 + 1};
    fftwf_plan p = kind == FFT_R2C
                       ? fftwf_plan_many_dft_r2c(2, n, howmany, real, rn, 1, fh * fw, spec, cn, howmany,
                                                 1, FFTW_ESTIMATE)
                       : fftwf_plan_many_dft_c2r(2, n, howmany, spec, cn, howmany, 1, real, rn, 1,
                                                 fh * fw, FFTW_ESTIMATE);
    GB_ASSERT(p, "fftwf planning failed for %s %dx%d x %d", kind == FFT_R2C ? "r2c" : "c2r", fh, fw,
              howmany);
    fft_plan_entry *e = &plan_cache[plan_cache_next];
    plan_cache_next = (plan_cache_next + 1) % FFT_CACHE_SIZE;
    if (e->plan) fftwf_destroy_plan(e->plan);
    *e = (fft_plan_entry){kind, fh, fw, howmany, p};
    return p;
}

/* ---- sizes ------------------------------------------------------------------ */

/* The smallest n >= x whose only prime factors are 2, 3, 5, 7 (FFTW's fast sizes). */
static int smooth_size(int x) {
    for (int n = x > 1 ? x : 1;; n++) {
        int r = n;
        static const int primes[] = {2, 3, 5, 7};
        for (int i = 0; i < 4; i++)
            while (r % primes[i] == 0) r /= primes[i];
        if (r == 1) return n;
    }
}

/* floats rounded up to 16 (64 bytes) so every buffer keeps the planned alignment */
static size_t round16(size_t floats) { return (floats + 15) / 16 * 16; }

typedef struct {
    int fh, fw;
    size_t plane, bins;
    int nb, mb; /* batch and output-channel chunk */
    size_t real_floats, in_floats, w_floats, out_floats;
} fft_layout;

static void layout_for(fft_layout *L, const gb_conv_shape *s, int nb, int mb) {
    const size_t C = (size_t)s->in_channels;
    L->nb = nb;
    L->mb = mb;
    size_t planes = C * (size_t)nb;
    if (C * (size_t)mb > planes) planes = C * (size_t)mb;
    if ((size_t)mb * (size_t)nb > planes) planes = (size_t)mb * (size_t)nb;
    L->real_floats = round16(planes * L->plane);
    L->in_floats = round16(2 * L->bins * C * (size_t)nb);
    L->w_floats = round16(2 * L->bins * C * (size_t)mb);
    L->out_floats = round16(2 * L->bins * (size_t)mb * (size_t)nb);
}

static size_t layout_bytes(const fft_layout *L) {
    return (L->real_floats + L->in_floats + L->w_floats + L->out_floats) * sizeof(float);
}

/* Chunk sizes: the whole batch and all output channels when they fit the budget,
 * else halve the larger of the two until they do (or both are 1). */
static void plan_layout(fft_layout *L, const gb_conv_shape *s) {
    L->fh = smooth_size(s->in_height + 2 * s->pad_h);
    L->fw = smooth_size(s->in_width + 2 * s->pad_w);
    L->plane = (size_t)L->fh * (size_t)L->fw;
    L->bins = (size_t)L->fh * (size_t)(L->fw / 2 + 1);
    int nb = s->batch > 0 ? s->batch : 1, mb = s->out_channels;
    layout_for(L, s, nb, mb);
    while (layout_bytes(L) > GB_CONV_WORKSPACE_BYTES && (nb > 1 || mb > 1)) {
        if (nb >= mb) nb = (nb + 1) / 2;
        else mb = (mb + 1) / 2;
        layout_for(L, s, nb, mb);
    }
}

/* ---- the op ----------------------------------------------------------------- */

void gb_conv2d_forward_fft_cpu(gb_device *dev, float *out, const float *inp, const float *weight,
                               const float *bias, const gb_conv_shape *s) {
    gb_conv_check_shape(s, 0);
    if (s->batch == 0) return;
    fft_layout L;
    plan_layout(&L, s);
    const int C = s->in_channels, M = s->out_channels, H = s->in_height, W = s->in_width;
    const int kh = s->kernel_h, kw = s->kernel_w, oh = gb_conv_out_h(s), ow = gb_conv_out_w(s);
    const size_t in_plane = (size_t)H * (size_t)W, out_plane = (size_t)oh * (size_t)ow;
    const size_t kplane = (size_t)kh * (size_t)kw;

    float *real = gb_dev_scratch(dev, layout_bytes(&L));
    fftwf_complex *in_hat = (fftwf_complex *)(real + L.real_floats);
    fftwf_complex *w_hat = (fftwf_complex *)(real + L.real_floats + L.in_floats);
    fftwf_complex *out_hat = (fftwf_complex *)(real + L.real_floats + L.in_floats + L.w_floats);
    const float alpha[2] = {1.0f / (float)L.plane, 0.0f}, beta[2] = {0.0f, 0.0f};

    for (int n0 = 0; n0 < s->batch; n0 += L.nb) {
        const int nb = s->batch - n0 < L.nb ? s->batch - n0 : L.nb;
        /* 1. input planes t = c*nb + n, padded, transformed into in_hat [bin][c][n] */
        memset(real, 0, (size_t)C * (size_t)nb * L.plane * sizeof *real);
        for (int n = 0; n < nb; n++)
            for (int c = 0; c < C; c++) {
                const float *src = inp + ((size_t)(n0 + n) * (size_t)C + (size_t)c) * in_plane;
                float *dst = real + ((size_t)c * (size_t)nb + (size_t)n) * L.plane;
                for (int y = 0; y < H; y++)
                    memcpy(dst + (size_t)(y + s->pad_h) * (size_t)L.fw + (size_t)s->pad_w,
                           src + (size_t)y * (size_t)W, (size_t)W * sizeof *dst);
            }
        fftwf_execute_dft_r2c(get_plan(FFT_R2C, L.fh, L.fw, C * nb, real, in_hat), real, in_hat);

        for (int m0 = 0; m0 < M; m0 += L.mb) {
            const int mb = M - m0 < L.mb ? M - m0 : L.mb;
            /* 2. kernel planes t = c*mb + m at the origin, into w_hat [bin][c][m] */
            memset(real, 0, (size_t)C * (size_t)mb * L.plane * sizeof *real);
            for (int m = 0; m < mb; m++)
                for (int c = 0; c < C; c++) {
                    const float *src = weight + ((size_t)(m0 + m) * (size_t)C + (size_t)c) * kplane;
                    float *dst = real + ((size_t)c * (size_t)mb + (size_t)m) * L.plane;
                    for (int i = 0; i < kh; i++)
                        memcpy(dst + (size_t)i * (size_t)L.fw, src + (size_t)i * (size_t)kw,
                               (size_t)kw * sizeof *dst);
                }
            fftwf_execute_dft_r2c(get_plan(FFT_R2C, L.fh, L.fw, C * mb, real, w_hat), real, w_hat);

            /* 3. per bin: OUT[m, n] = sum_c conj(W[c, m]) IN[c, n] / (F_h F_w) */
            for (size_t k = 0; k < L.bins; k++)
                cblas_cgemm(CblasRowMajor, CblasConjTrans, CblasNoTrans, mb, nb, C, alpha,
                            w_hat + k * (size_t)C * (size_t)mb, mb, in_hat + k * (size_t)C * (size_t)nb,
                            nb, beta, out_hat + k * (size_t)mb * (size_t)nb, nb);

            /* 4. inverse into planes t = m*nb + n, then crop (and subsample) + bias */
            fftwf_execute_dft_c2r(get_plan(FFT_C2R, L.fh, L.fw, mb * nb, real, out_hat), out_hat, real);
            for (int m = 0; m < mb; m++)
                for (int n = 0; n < nb; n++) {
                    const float *src = real + ((size_t)m * (size_t)nb + (size_t)n) * L.plane;
                    float *dst = out + ((size_t)(n0 + n) * (size_t)M + (size_t)(m0 + m)) * out_plane;
                    const float b = bias ? bias[m0 + m] : 0.0f;
                    for (int y = 0; y < oh; y++) {
                        const float *row = src + (size_t)y * (size_t)s->stride_h * (size_t)L.fw;
                        for (int x = 0; x < ow; x++)
                            dst[(size_t)y * (size_t)ow + (size_t)x] = row[(size_t)x * (size_t)s->stride_w] + b;
                    }
                }
        }
    }
}
