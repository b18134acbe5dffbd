/* kernels/cuda/conv.cu - conv2d forward and backward through cuDNN (CUDA), and the
 * per-shape cuDNN plans that conv_transpose.cu shares.
 *
 *   forward:  out[n, m, y, x] = bias[m] + sum_{c,i,j} w[m, c, i, j] * inp[n, c, y*sh - ph + i, x*sw - pw + j]
 *   backward: dinp     = the adjoint of forward on dout        (overwrite: beta 0; NULL: skip)
 *             dweight += sum over n, y, x of dout * inp          (accumulate: beta 1; NULL: skip)
 *             dbias   += sum over n, y, x of dout                (accumulate: beta 1; NULL: skip)
 * PyTorch's F.conv2d is a cross-correlation: CUDNN_CROSS_CORRELATION, NCHW float32.
 *
 * A plan holds the descriptors of one convolution in "conv2d view": x the conv's input,
 * y its output, w the filter [y channels, x channels, kh, kw], bias [1, bias channels, 1, 1].
 * conv_transpose2d is the adjoint of the conv2d from its output to its input, so its plan is
 * that conv2d's (x = the transpose's output, y = its input) and its passes are this file's
 * passes swapped (conv_transpose.cu). Plans are cached per (shape, direction) in the device
 * state, made on first use and kept until the device closes.
 *
 * Math: every convolution descriptor is CUDNN_FMA_MATH, restricted to FMA kernels: full
 * float32, no TF32 (CUDNN_DEFAULT_MATH permits TF32 tensor cores on Ampere and later, which
 * would round inputs to 10 mantissa bits and break parity with the CPU backend).
 *
 * Algorithms (chosen once per plan and direction, recorded by gb_cuda_conv_algorithms).
 * cuDNN's documentation ("Odds and Ends", Reproducibility (Determinism)) lists the routines
 * that do NOT guarantee bitwise reproducibility across runs on one architecture because they
 * use atomics: cudnnConvolutionBackwardFilter with BWD_FILTER_ALGO_0 or _3, and
 * cudnnConvolutionBackwardData with BWD_DATA_ALGO_0. Everything else (all forward algorithms,
 * cudnnConvolutionBackwardBias, cudnnAddTensor) is reproducible by design. The deterministic
 * allow-lists, tried in order, the first one cuDNN supports for the shape winning:
 *   forward     IMPLICIT_PRECOMP_GEMM, IMPLICIT_GEMM   (implicit GEMM: no atomics; the
 *               enum's documentation calls both deterministic)
 *   bwd data    ALGO_1, FFT_TILING                     (ALGO_1 is documented as "a matrix
 *               product ... the results are deterministic"; FFT_TILING likewise deterministic)
 *   bwd filter  ALGO_1, FFT_TILING                     (ALGO_1 deterministic as above; ALGO_0
 *               and ALGO_3 are the atomic ones)
 * With gb_cuda_set_nondeterministic(dev, 1) the heuristics of the *_v7 queries pick instead
 * (the first FMA-math candidate cuDNN reports as supported whose workspace fits in a quarter of
 * the free device memory), which may be an atomic one.
 *
 * Workspace comes from gb_dev_scratch. All calls go to the legacy default stream (the cuDNN
 * handle's default), ordered with the rest of the backend. Not thread-safe (one device per
 * thread, like the rest of the backend).
 * Tested by tests/test_cuda_conv.c against the CPU backend (kernels/cpu/conv2d.c).
 */
#include "kernels/cuda/conv.cuh"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "kernels/cpu/im2col.h" /* gb_conv_check_shape: the CPU backend's shape rules */
}

struct gb_cudnn_cache {
    cudnnHandle_t handle;
    gb_conv_plan **plans; /* first-use order */
    size_t count, cap;
};

static const cudnnConvolutionFwdAlgo_t fwd_allow[] = {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM,
                                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM};
static const cudnnConvolutionBwdDataAlgo_t bwd_data_allow[] = {CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                                               CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING};
static const cudnnConvolutionBwdFilterAlgo_t bwd_filter_allow[] = {
    CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING};

static const char *fwd_name(int a) {
    switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM: return "IMPLICIT_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM: return "IMPLICIT_PRECOMP_GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM: return "GEMM";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT: return "DIRECT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING: return "FFT_TILING";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD: return "WINOGRAD";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    default: return a < 0 ? "-" : "?";
    }
}

static const char *bwd_data_name(int a) {
    switch (a) {
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_0: return "ALGO_0";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_1: return "ALGO_1";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING: return "FFT_TILING";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD: return "WINOGRAD";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    default: return a < 0 ? "-" : "?";
    }
}

static const char *bwd_filter_name(int a) {
    switch (a) {
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0: return "ALGO_0";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1: return "ALGO_1";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT: return "FFT";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3: return "ALGO_3";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED: return "WINOGRAD_NONFUSED";
    case CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING: return "FFT_TILING";
    default: return a < 0 ? "-" : "?";
    }
}

/* cuDNN 9 loads its sub-libraries (ops, cnn) lazily, so a missing library, an old driver or an
 * unsupported GPU would otherwise first show as a failed call in the middle of a run. Creating
 * the handle and asking both sub-libraries for their version check at device open turns those
 * into GB_ENV (exit 5) before any work. */
extern "C" gb_status gb_cuda_conv_open(gb_device *dev) {
    gb_cuda_state *st = gb_cuda_state_of(dev);
    if (st->conv) return GB_OK;
    gb_cudnn_cache *c = static_cast<gb_cudnn_cache *>(calloc(1, sizeof *c));
    if (!c) return gb_fail(GB_ENV, "out of host memory for the cuDNN state");
    cudnnStatus_t e = cudnnCreate(&c->handle);
    const char *call = "cudnnCreate";
    if (e == CUDNN_STATUS_SUCCESS) {
        e = cudnnOpsVersionCheck();
        call = "cudnnOpsVersionCheck";
        if (e == CUDNN_STATUS_SUCCESS) {
            e = cudnnCnnVersionCheck();
            call = "cudnnCnnVersionCheck";
        }
        if (e != CUDNN_STATUS_SUCCESS) cudnnDestroy(c->handle);
    }
    if (e != CUDNN_STATUS_SUCCESS) {
        free(c);
        return gb_fail(GB_ENV, "cuDNN is unusable: %s returned %s (%d); check the cuDNN 9 installation and the "
                               "driver, or run with --device cpu", call, cudnnGetErrorString(e), (int)e);
    }
    st->conv = c;
    return GB_OK;
}

static gb_cudnn_cache *cache_of(gb_device *dev) {
    gb_cuda_state *st = gb_cuda_state_of(dev);
    GB_ASSERT(st->conv, "cuDNN state missing: gb_cuda_device_open makes it");
    return st->conv;
}

static void set_tensor(cudnnTensorDescriptor_t *d, int n, int c, int h, int w) {
    GB_CUDNN_CHECK(cudnnCreateTensorDescriptor(d));
    GB_CUDNN_CHECK(cudnnSetTensor4dDescriptor(*d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
}

/* The legacy cuDNN API indexes tensors with int: every tensor must stay below 2^31 elements. */
static void check_size(const char *what, int n, int c, int h, int w) {
    GB_ASSERT((double)n * c * h * w < (double)INT_MAX,
              "conv: %s %dx%dx%dx%d has 2^31 or more elements, beyond cuDNN's legacy API", what, n, c,
              h, w);
}

static gb_conv_plan *plan_make(const gb_conv_shape *s, int transpose) {
    gb_conv_plan *p = static_cast<gb_conv_plan *>(calloc(1, sizeof *p));
    GB_ASSERT(p, "out of host memory for a cuDNN plan");
    p->shape = *s;
    p->transpose = transpose;
    /* conv2d view: x [N, xc, xh, xw] -> y [N, yc, yh, yw], filter [yc, xc, kh, kw] */
    int xc, xh, xw, yc, yh, yw;
    if (transpose) {
        xc = s->out_channels, xh = gb_conv_transpose_out_h(s), xw = gb_conv_transpose_out_w(s);
        yc = s->in_channels, yh = s->in_height, yw = s->in_width;
    } else {
        xc = s->in_channels, xh = s->in_height, xw = s->in_width;
        yc = s->out_channels, yh = gb_conv_out_h(s), yw = gb_conv_out_w(s);
    }
    check_size("input", s->batch, xc, xh, xw);
    check_size("output", s->batch, yc, yh, yw);
    check_size("weight", yc, xc, s->kernel_h, s->kernel_w);
    set_tensor(&p->x, s->batch, xc, xh, xw);
    set_tensor(&p->y, s->batch, yc, yh, yw);
    set_tensor(&p->bias, 1, s->out_channels, 1, 1);
    GB_CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
    GB_CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, yc, xc,
                                              s->kernel_h, s->kernel_w));
    GB_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&p->conv));
    GB_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(p->conv, s->pad_h, s->pad_w, s->stride_h,
                                                   s->stride_w, 1, 1, CUDNN_CROSS_CORRELATION,
                                                   CUDNN_DATA_FLOAT));
    GB_CUDNN_CHECK(cudnnSetConvolutionMathType(p->conv, CUDNN_FMA_MATH));
    /* cuDNN's own output size must be the one genbench's shape rules give (a plan that
     * disagreed would read or write out of bounds). */
    int on, oc, oh, ow;
    GB_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &on, &oc, &oh, &ow));
    GB_ASSERT(on == s->batch && oc == yc && oh == yh && ow == yw,
              "conv: cuDNN computes output %dx%dx%dx%d, the shape rules %dx%dx%dx%d", on, oc, oh, ow,
              s->batch, yc, yh, yw);
    p->fwd = p->bwd_data = p->bwd_filter = -1;
    return p;
}

static void plan_free(gb_conv_plan *p) {
    GB_CUDNN_CHECK(cudnnDestroyTensorDescriptor(p->x));
    GB_CUDNN_CHECK(cudnnDestroyTensorDescriptor(p->y));
    GB_CUDNN_CHECK(cudnnDestroyTensorDescriptor(p->bias));
    GB_CUDNN_CHECK(cudnnDestroyFilterDescriptor(p->w));
    GB_CUDNN_CHECK(cudnnDestroyConvolutionDescriptor(p->conv));
    free(p);
}

gb_conv_plan *gb_cuda_conv_plan(gb_device *dev, const gb_conv_shape *s, int transpose) {
    gb_conv_check_shape(s, transpose);
    if (s->batch == 0) return nullptr; /* cuDNN rejects empty tensors; there is nothing to do */
    gb_cudnn_cache *c = cache_of(dev);
    for (size_t i = 0; i < c->count; i++)
        if (c->plans[i]->transpose == transpose && memcmp(&c->plans[i]->shape, s, sizeof *s) == 0)
            return c->plans[i];
    if (c->count == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        gb_conv_plan **grown = static_cast<gb_conv_plan **>(realloc(c->plans, cap * sizeof *grown));
        GB_ASSERT(grown, "out of host memory for %zu cuDNN plans", cap);
        c->plans = grown;
        c->cap = cap;
    }
    gb_conv_plan *p = plan_make(s, transpose);
    c->plans[c->count++] = p;
    return p;
}

cudnnHandle_t gb_cuda_cudnn(gb_device *dev) { return cache_of(dev)->handle; }

/* The first FMA-math candidate of a heuristic list that cuDNN reports as usable and whose
 * workspace fits in a quarter of the free device memory, or -1 (the allow-list then decides).
 * FFT and Winograd-nonfused candidates can ask for gigabytes, which gb_dev_scratch could only
 * refuse by stopping the run. */
template <typename Perf>
static int first_fma(const Perf *perf, int returned) {
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    for (int i = 0; i < returned; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].mathType == CUDNN_FMA_MATH &&
            perf[i].memory <= free_b / 4)
            return (int)perf[i].algo;
    return -1;
}

/* Why the last candidate was refused, for the message when none is left. */
static cudnnStatus_t last_refusal = CUDNN_STATUS_SUCCESS;

/* Workspace of one algorithm, or -1 when cuDNN does not support it for the plan: a status of
 * the NOT_SUPPORTED category (shape, layout, padding, data type, shared memory, launch
 * parameters, ...) means "try the next algorithm", except the five about the environment
 * (driver, runtime, architecture, runtime prerequisites, sub-libraries), which stop the run with
 * their own name, as any other failure does. */
static bool refused_for_the_problem(cudnnStatus_t st) {
    if (CUDNN_STATUS_CATEGORY(st) != CUDNN_STATUS_NOT_SUPPORTED) return false;
    switch (st) {
    case CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER:
    case CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART:
    case CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH:
    case CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING:
    case CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE:
        return false;
    default:
        return true;
    }
}

static long long ws_or_unsupported(cudnnStatus_t st, size_t bytes, const char *call) {
    if (refused_for_the_problem(st)) {
        last_refusal = st;
        return -1;
    }
    gb_cuda_check_<cudnnStatus_t>(st, "cuDNN", call, __FILE__, __LINE__);
    return (long long)bytes;
}

static long long fwd_ws(cudnnHandle_t h, const gb_conv_plan *p, int algo) {
    size_t b = 0;
    cudnnStatus_t st = cudnnGetConvolutionForwardWorkspaceSize(h, p->x, p->w, p->conv, p->y,
                                                               (cudnnConvolutionFwdAlgo_t)algo, &b);
    return ws_or_unsupported(st, b, "cudnnGetConvolutionForwardWorkspaceSize");
}

static long long bwd_data_ws(cudnnHandle_t h, const gb_conv_plan *p, int algo) {
    size_t b = 0;
    cudnnStatus_t st = cudnnGetConvolutionBackwardDataWorkspaceSize(
        h, p->w, p->y, p->conv, p->x, (cudnnConvolutionBwdDataAlgo_t)algo, &b);
    return ws_or_unsupported(st, b, "cudnnGetConvolutionBackwardDataWorkspaceSize");
}

static long long bwd_filter_ws(cudnnHandle_t h, const gb_conv_plan *p, int algo) {
    size_t b = 0;
    cudnnStatus_t st = cudnnGetConvolutionBackwardFilterWorkspaceSize(
        h, p->x, p->y, p->conv, p->w, (cudnnConvolutionBwdFilterAlgo_t)algo, &b);
    return ws_or_unsupported(st, b, "cudnnGetConvolutionBackwardFilterWorkspaceSize");
}

static void describe(char *buf, size_t cap, const gb_conv_plan *p) {
    const gb_conv_shape *s = &p->shape;
    snprintf(buf, cap, "%s %dx%dx%dx%d -> %d k%dx%d s%dx%d p%dx%d op%dx%d",
             p->transpose ? "conv_transpose2d" : "conv2d", s->batch, s->in_channels, s->in_height,
             s->in_width, s->out_channels, s->kernel_h, s->kernel_w, s->stride_h, s->stride_w,
             s->pad_h, s->pad_w, s->output_padding_h, s->output_padding_w);
}

[[noreturn]] static void no_algorithm(const gb_conv_plan *p, const char *direction) {
    char d[256];
    describe(d, sizeof d, p);
    gb_panic(__FILE__, __LINE__,
             "cuDNN supports none of the deterministic %s algorithms for %s (last refusal: %s); "
             "run with --device cpu",
             direction, d, cudnnGetErrorString(last_refusal));
}

static void choose_fwd(gb_device *dev, gb_conv_plan *p) {
    if (p->fwd >= 0) return;
    cudnnHandle_t h = gb_cuda_cudnn(dev);
    if (gb_cuda_state_of(dev)->nondeterministic) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        int got = 0;
        GB_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, p->x, p->w, p->conv, p->y,
                                                              CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
        int a = first_fma(perf, got);
        long long ws = a >= 0 ? fwd_ws(h, p, a) : -1;
        if (ws >= 0) {
            p->fwd = a, p->fwd_ws = (size_t)ws;
            return;
        }
    }
    for (cudnnConvolutionFwdAlgo_t a : fwd_allow) {
        long long ws = fwd_ws(h, p, a);
        if (ws >= 0) {
            p->fwd = a, p->fwd_ws = (size_t)ws;
            return;
        }
    }
    no_algorithm(p, "forward");
}

static void choose_bwd_data(gb_device *dev, gb_conv_plan *p) {
    if (p->bwd_data >= 0) return;
    cudnnHandle_t h = gb_cuda_cudnn(dev);
    if (gb_cuda_state_of(dev)->nondeterministic) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        int got = 0;
        GB_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
            h, p->w, p->y, p->conv, p->x, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf));
        int a = first_fma(perf, got);
        long long ws = a >= 0 ? bwd_data_ws(h, p, a) : -1;
        if (ws >= 0) {
            p->bwd_data = a, p->bwd_data_ws = (size_t)ws;
            return;
        }
    }
    for (cudnnConvolutionBwdDataAlgo_t a : bwd_data_allow) {
        long long ws = bwd_data_ws(h, p, a);
        if (ws >= 0) {
            p->bwd_data = a, p->bwd_data_ws = (size_t)ws;
            return;
        }
    }
    no_algorithm(p, "backward-data");
}

static void choose_bwd_filter(gb_device *dev, gb_conv_plan *p) {
    if (p->bwd_filter >= 0) return;
    cudnnHandle_t h = gb_cuda_cudnn(dev);
    if (gb_cuda_state_of(dev)->nondeterministic) {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        int got = 0;
        GB_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
            h, p->x, p->y, p->conv, p->w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, perf));
        int a = first_fma(perf, got);
        long long ws = a >= 0 ? bwd_filter_ws(h, p, a) : -1;
        if (ws >= 0) {
            p->bwd_filter = a, p->bwd_filter_ws = (size_t)ws;
            return;
        }
    }
    for (cudnnConvolutionBwdFilterAlgo_t a : bwd_filter_allow) {
        long long ws = bwd_filter_ws(h, p, a);
        if (ws >= 0) {
            p->bwd_filter = a, p->bwd_filter_ws = (size_t)ws;
            return;
        }
    }
    no_algorithm(p, "backward-filter");
}

static void *workspace(gb_device *dev, size_t bytes) { return bytes ? gb_dev_scratch(dev, bytes) : nullptr; }

static const float one = 1.0f, zero = 0.0f;

void gb_cuda_conv_run_forward(gb_device *dev, gb_conv_plan *p, float *y, const float *x,
                              const float *w, float beta) {
    choose_fwd(dev, p);
    void *ws = workspace(dev, p->fwd_ws);
    GB_CUDNN_CHECK(cudnnConvolutionForward(gb_cuda_cudnn(dev), &one, p->x, x, p->w, w, p->conv,
                                           (cudnnConvolutionFwdAlgo_t)p->fwd, ws, p->fwd_ws, &beta,
                                           p->y, y));
}

void gb_cuda_conv_run_backward_data(gb_device *dev, gb_conv_plan *p, float *dx, const float *dy,
                                    const float *w, float beta) {
    choose_bwd_data(dev, p);
    void *ws = workspace(dev, p->bwd_data_ws);
    GB_CUDNN_CHECK(cudnnConvolutionBackwardData(gb_cuda_cudnn(dev), &one, p->w, w, p->y, dy,
                                                p->conv, (cudnnConvolutionBwdDataAlgo_t)p->bwd_data,
                                                ws, p->bwd_data_ws, &beta, p->x, dx));
}

void gb_cuda_conv_run_backward_filter(gb_device *dev, gb_conv_plan *p, float *dw, const float *x,
                                      const float *dy) {
    choose_bwd_filter(dev, p);
    void *ws = workspace(dev, p->bwd_filter_ws);
    GB_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
        gb_cuda_cudnn(dev), &one, p->x, x, p->y, dy, p->conv,
        (cudnnConvolutionBwdFilterAlgo_t)p->bwd_filter, ws, p->bwd_filter_ws, &one, p->w, dw));
}

void gb_cuda_conv_add_bias(gb_device *dev, gb_conv_plan *p, float *t, const float *bias,
                           int on_x) {
    GB_CUDNN_CHECK(cudnnAddTensor(gb_cuda_cudnn(dev), &one, p->bias, bias, &one, on_x ? p->x : p->y, t));
}

void gb_cuda_conv_bias_grad(gb_device *dev, gb_conv_plan *p, float *dbias, const float *dt,
                            int on_x) {
    GB_CUDNN_CHECK(cudnnConvolutionBackwardBias(gb_cuda_cudnn(dev), &one, on_x ? p->x : p->y, dt,
                                                &one, p->bias, dbias));
}

extern "C" void gb_conv2d_forward_cuda(gb_device *dev, float *out, const float *inp,
                                       const float *weight, const float *bias,
                                       const gb_conv_shape *shape) {
    gb_conv_plan *p = gb_cuda_conv_plan(dev, shape, 0);
    if (!p) return;
    gb_cuda_conv_run_forward(dev, p, out, inp, weight, zero);
    if (bias) gb_cuda_conv_add_bias(dev, p, out, bias, 0);
}

extern "C" void gb_conv2d_backward_cuda(gb_device *dev, float *dinp, float *dweight, float *dbias,
                                        const float *dout, const float *inp, const float *weight,
                                        const gb_conv_shape *shape) {
    gb_conv_plan *p = gb_cuda_conv_plan(dev, shape, 0);
    if (!p) return;
    if (dinp) gb_cuda_conv_run_backward_data(dev, p, dinp, dout, weight, zero);
    if (dweight) gb_cuda_conv_run_backward_filter(dev, p, dweight, inp, dout);
    if (dbias) gb_cuda_conv_bias_grad(dev, p, dbias, dout, 0);
}

extern "C" void gb_cuda_set_nondeterministic(gb_device *dev, int on) {
    gb_cuda_state *st = gb_cuda_state_of(dev);
    st->nondeterministic = on != 0;
    if (!st->conv) return;
    for (size_t i = 0; i < st->conv->count; i++) {
        gb_conv_plan *p = st->conv->plans[i];
        p->fwd = p->bwd_data = p->bwd_filter = -1;
    }
}

extern "C" size_t gb_cuda_conv_algorithms(gb_device *dev, char *buf, size_t cap) {
    gb_cuda_state *st = gb_cuda_state_of(dev);
    const size_t v = cudnnGetVersion();
    size_t len = 0;
    char line[384];
    /* Append one line, counting its full length even where it no longer fits. */
    auto put = [&](const char *text) {
        size_t n = strlen(text);
        if (cap > len + 1) {
            size_t room = cap - len - 1;
            memcpy(buf + len, text, n < room ? n : room);
        }
        len += n;
        if (cap) buf[len < cap ? len : cap - 1] = '\0';
    };
    if (cap) buf[0] = '\0';
    snprintf(line, sizeof line, "cuDNN %zu.%zu.%zu, %s, FMA math (no TF32)\n", v / 10000,
             v % 10000 / 100, v % 100,
             st->nondeterministic ? "heuristic algorithms (--nondeterministic)"
                                  : "deterministic allow-list");
    put(line);
    if (!st->conv) return len;
    for (size_t i = 0; i < st->conv->count; i++) {
        const gb_conv_plan *p = st->conv->plans[i];
        char d[256];
        describe(d, sizeof d, p);
        snprintf(line, sizeof line, "%s: fwd %s, bwd_data %s, bwd_filter %s\n", d, fwd_name(p->fwd),
                 bwd_data_name(p->bwd_data), bwd_filter_name(p->bwd_filter));
        put(line);
    }
    return len;
}

extern "C" void gb_cuda_conv_release(gb_device *dev) {
    gb_cuda_state *st = gb_cuda_state_of(dev);
    if (!st || !st->conv) return;
    for (size_t i = 0; i < st->conv->count; i++) plan_free(st->conv->plans[i]);
    free(st->conv->plans);
    GB_CUDNN_CHECK(cudnnDestroy(st->conv->handle));
    free(st->conv);
    st->conv = nullptr;
}
