/* kernels/cpu/embedding.c - the time embeddings of the score and diffusion models (CPU).
 *
 * Gaussian Fourier projection (Score-SDE tutorial, specs/pipelines.md 3.2):
 *   out[i, k] = sin(a_ik), out[i, half + k] = cos(a_ik), a_ik = 2 pi t_i w_k
 * Sinusoidal position embedding (lucidrains' SinusoidalPosEmb, specs 4.6):
 *   out[i, k] = sin(t_i f_k), out[i, half + k] = cos(t_i f_k),
 *   f_k = exp(-k ln(10000) / (half - 1)), half = dim / 2
 *
 * The arguments are PyTorch's float32 values, bit for bit. With W ~ 30 N(0,1)
 * the Fourier argument reaches several hundred and the diffusion timestep
 * reaches 999, so one float rounding of the argument moves sin by ~1e-4: a
 * double argument would be "more exact" but would differ from the embedding the
 * reference models were trained and evaluated with by that much. So:
 *   Fourier:    a = fl(fl(fl(t * w) * 2) * float(pi))  (`x[:, None] * W[None, :] * 2 * np.pi`,
 *               left to right, the Python scalars rounded to float by ATen)
 *   Sinusoidal: f_k = fl(exp(fl(float(k) * float(-ln(10000) / (half - 1)))))
 *               (`torch.exp(torch.arange(half) * -emb)`; emb is a Python double),
 *               a = fl(t * f_k)
 * and sin/cos/exp are evaluated in double and rounded once (PyTorch's float
 * versions are within 1 ulp of that; the frequency may therefore differ from
 * torch's by 1 ulp, which the test's tolerance carries).
 * Backward (dt overwrites; t is an input): the derivative of the real function
 * at the rounded argument, summed in double over the 2*half outputs:
 *   Fourier:    dt_i = sum_k 2 pi w_k (dout[i,k] cos a_ik - dout[i,half+k] sin a_ik)
 *   Sinusoidal: dt_i = sum_k f_k (dout[i,k] cos a_ik - dout[i,half+k] sin a_ik)
 * Tested by tests/test_kernels_embed_coupling.c (double transcriptions, central finite
 * differences, PyTorch fixtures of both modules' formulas).
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

static inline float fourier_arg(float t, float w) {
    const float pi_f = (float)M_PI;
    float a = t * w;
    a = a * 2.0f;
    return a * pi_f;
}

void gb_fourier_embedding_forward_cpu(gb_device *dev, float *out, const float *t, const float *w,
                                      size_t n, size_t half) {
    (void)dev;
    for (size_t i = 0; i < n; i++) {
        float *row = out + i * 2 * half;
        for (size_t k = 0; k < half; k++) {
            const double a = fourier_arg(t[i], w[k]);
            row[k] = (float)sin(a);
            row[half + k] = (float)cos(a);
        }
    }
}

void gb_fourier_embedding_backward_cpu(gb_device *dev, float *dt, const float *dout,
                                       const float *t, const float *w, size_t n, size_t half) {
    (void)dev;
    for (size_t i = 0; i < n; i++) {
        const float *g = dout + i * 2 * half;
        double acc = 0.0;
        for (size_t k = 0; k < half; k++) {
            const double a = fourier_arg(t[i], w[k]);
            acc += 2.0 * M_PI * (double)w[k] * ((double)g[k] * cos(a) - (double)g[half + k] * sin(a));
        }
        dt[i] = (float)acc;
    }
}

/* f_k as PyTorch computes it (see the header). */
static inline float sinusoidal_freq(size_t k, size_t half) {
    const float neg = (float)(-(log(10000.0) / (double)(half - 1)));
    const float e = (float)k * neg;
    return (float)exp((double)e);
}

static void check_dim(size_t dim) {
    GB_ASSERT(dim >= 4 && dim % 2 == 0,
              "sinusoidal embedding dim must be even and at least 4 (half - 1 divides), got %zu", dim);
}

void gb_sinusoidal_embedding_forward_cpu(gb_device *dev, float *out, const float *t, size_t n,
                                         size_t dim) {
    (void)dev;
    check_dim(dim);
    const size_t half = dim / 2;
    for (size_t k = 0; k < half; k++) {
        const float f = sinusoidal_freq(k, half);
        for (size_t i = 0; i < n; i++) {
            const float a = t[i] * f; /* float32 product, as torch */
            out[i * dim + k] = (float)sin((double)a);
            out[i * dim + half + k] = (float)cos((double)a);
        }
    }
}

void gb_sinusoidal_embedding_backward_cpu(gb_device *dev, float *dt, const float *dout,
                                          const float *t, size_t n, size_t dim) {
    (void)dev;
    check_dim(dim);
    const size_t half = dim / 2;
    for (size_t i = 0; i < n; i++) {
        const float *g = dout + i * dim;
        double acc = 0.0;
        for (size_t k = 0; k < half; k++) {
            const float f = sinusoidal_freq(k, half);
            const double a = (double)(t[i] * f); /* float32 product, as torch */
            acc += (double)f * ((double)g[k] * cos(a) - (double)g[half + k] * sin(a));
        }
        dt[i] = (float)acc;
    }
}
