/* kernels/cuda/reduce.cuh - device arithmetic without FMA contraction, and the fixed-order
 * reductions the CUDA op files share.
 *
 * nvcc contracts a*b+c into an FMA by default, which rounds once where the CPU backend
 * (-ffp-contract=off) rounds twice; every float and double operation that must match the
 * CPU is therefore written with an _rn intrinsic (gb_fadd ... gb_dsqrt), which nvcc never
 * fuses. Division and sqrt are the IEEE correctly rounded ones.
 *
 * Reductions (all deterministic: no atomics, the order is fixed by the code, not by the
 * launch or the GPU model):
 *   gb_rows_lanes:   per-row sums in exactly the order of kernels/cpu/vmath.h's reductions
 *                    (lane j of 8 takes elements j, j+8, ... in ascending order, the lanes
 *                    meet in the tree ((0+1)+(2+3))+((4+5)+(6+7))), so the double results are
 *                    the CPU's bits: 8 threads per row, the tree by warp shuffles.
 *   gb_block_sum:    a block's values in a shared-memory halving tree.
 *   gb_warp_sum/max: a warp's values by an xor butterfly; every lane ends with the same bits
 *                    (each step adds the same two values on both partner lanes, and IEEE
 *                    addition is commutative).
 *   gb_grid_sum:     a long sum over n terms: GB_RED_BLOCKS blocks (a constant, so the
 *                    assignment of terms to threads never depends on the device) each reduce
 *                    their grid-stride share into a partial, then one block reduces the
 *                    partials and hands the total to a finishing functor, on the device.
 * Tested through every op by tests/test_kernels_cuda_ops.c against the CPU backend.
 */
#ifndef GB_CUDA_REDUCE_CUH
#define GB_CUDA_REDUCE_CUH

#include "kernels/cuda/common.cuh"

__device__ __forceinline__ float gb_fadd(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float gb_fsub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float gb_fmul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float gb_fdiv(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double gb_dadd(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double gb_dsub(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ double gb_dmul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double gb_ddiv(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ double gb_dsqrt(double a) { return __dsqrt_rn(a); }

/* ---- per-row sums in the CPU's lane order ---- */

enum { GB_LANES = 8, GB_ROWS_THREADS = 256 };

/* What gb_rows_lanes sums per row (m: the row's mean, 0 without one):
 *   SUM:         out_a = sum a                       (gb_vsum_f64)
 *   SUMSQ_DEV:   out_a = sum (a - m)^2                (gb_vsumsq_dev_f64)
 *   SUM_DOT_DEV: out_a = sum a, out_ab = sum a (b - m) (gb_vsum_dot_dev_f64) */
enum { GB_ROWS_SUM, GB_ROWS_SUMSQ_DEV, GB_ROWS_SUM_DOT_DEV };

/* The lanes' tree on lane 0 of each group of 8; every lane of the warp must call it. */
__device__ __forceinline__ double gb_lanes8_total(double acc) {
    acc = gb_dadd(acc, __shfl_down_sync(0xffffffffu, acc, 1, GB_LANES));
    acc = gb_dadd(acc, __shfl_down_sync(0xffffffffu, acc, 2, GB_LANES));
    acc = gb_dadd(acc, __shfl_down_sync(0xffffffffu, acc, 4, GB_LANES));
    return acc;
}

/* Row r is a[r*len ..] (and b[r*len ..]); its mean is mean[(r / mean_div) % mean_mod], or 0
 * when mean is NULL. */
template <int MODE, typename Mean>
__global__ void __launch_bounds__(GB_ROWS_THREADS)
gb_rows_lanes_kernel(double *out_a, double *out_ab, const float *a, const float *b,
                     const Mean *mean, size_t mean_div, size_t mean_mod, size_t rows, size_t len) {
    const size_t r = (blockIdx.x * (size_t)GB_ROWS_THREADS + threadIdx.x) / GB_LANES;
    const unsigned lane = threadIdx.x % GB_LANES;
    double acc_a = 0.0, acc_ab = 0.0;
    if (r < rows) {
        const double m = mean ? (double)mean[(r / mean_div) % mean_mod] : 0.0;
        const float *ar = a + r * len;
        for (size_t i = lane; i < len; i += GB_LANES) {
            const double av = (double)ar[i];
            if (MODE == GB_ROWS_SUM) {
                acc_a = gb_dadd(acc_a, av);
            } else if (MODE == GB_ROWS_SUMSQ_DEV) {
                const double d = gb_dsub(av, m);
                acc_a = gb_dadd(acc_a, gb_dmul(d, d));
            } else {
                acc_a = gb_dadd(acc_a, av);
                acc_ab = gb_dadd(acc_ab, gb_dmul(av, gb_dsub((double)b[r * len + i], m)));
            }
        }
    }
    acc_a = gb_lanes8_total(acc_a);
    if (MODE == GB_ROWS_SUM_DOT_DEV) acc_ab = gb_lanes8_total(acc_ab);
    if (r < rows && lane == 0) {
        out_a[r] = acc_a;
        if (MODE == GB_ROWS_SUM_DOT_DEV) out_ab[r] = acc_ab;
    }
}

template <int MODE, typename Mean>
static inline void gb_rows_lanes(gb_device *dev, double *out_a, double *out_ab, const float *a,
                                 const float *b, const Mean *mean, size_t mean_div, size_t mean_mod,
                                 size_t rows, size_t len) {
    if (rows == 0) return;
    const size_t threads = rows * GB_LANES;
    const unsigned blocks = (unsigned)((threads + GB_ROWS_THREADS - 1) / GB_ROWS_THREADS);
    gb_rows_lanes_kernel<MODE, Mean><<<blocks, GB_ROWS_THREADS>>>(out_a, out_ab, a, b, mean, mean_div,
                                                                   mean_mod ? mean_mod : 1, rows, len);
    GB_LAUNCH_CHECK(dev, "gb_rows_lanes_kernel");
}

/* ---- block, warp and grid trees ---- */

/* Sum of v over a 1-D block of THREADS threads (a power of two); every thread gets it. */
template <int THREADS>
__device__ double gb_block_sum(double v) {
    __shared__ double part[THREADS];
    part[threadIdx.x] = v;
    __syncthreads();
    for (int half = THREADS / 2; half > 0; half /= 2) {
        if ((int)threadIdx.x < half) part[threadIdx.x] = gb_dadd(part[threadIdx.x], part[threadIdx.x + half]);
        __syncthreads();
    }
    const double total = part[0];
    __syncthreads();
    return total;
}

__device__ __forceinline__ double gb_warp_sum(double v) {
    for (int off = 16; off > 0; off /= 2) v = gb_dadd(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

/* Max of values that never hold NaN (the callers skip NaN as the CPU's row_max does); a tie
 * of +0 and -0 resolves to +0 on both partner lanes, so all lanes agree. */
__device__ __forceinline__ double gb_warp_max(double v) {
    for (int off = 16; off > 0; off /= 2) {
        const double o = __shfl_xor_sync(0xffffffffu, v, off);
        if (o > v || (o == v && signbit(v))) v = o;
    }
    return v;
}

enum { GB_RED_THREADS = 256, GB_RED_BLOCKS = 256 };

/* partial[block] = sum over the block's grid-stride share of term(i), i < n. The term
 * functor may also write per-element outputs (each i is visited once). */
template <class Term>
__global__ void __launch_bounds__(GB_RED_THREADS)
gb_grid_partials_kernel(double *partial, size_t n, Term term) {
    double acc = 0.0;
    for (size_t i = blockIdx.x * (size_t)GB_RED_THREADS + threadIdx.x; i < n;
         i += (size_t)GB_RED_BLOCKS * GB_RED_THREADS)
        acc = gb_dadd(acc, term(i));
    const double s = gb_block_sum<GB_RED_THREADS>(acc);
    if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

/* One block of GB_RED_BLOCKS threads: finish(total) on thread 0. */
template <class Finish>
__global__ void __launch_bounds__(GB_RED_BLOCKS)
gb_grid_finish_kernel(const double *partial, Finish finish) {
    const double total = gb_block_sum<GB_RED_BLOCKS>(partial[threadIdx.x]);
    if (threadIdx.x == 0) finish(total);
}

/* partial: GB_RED_BLOCKS doubles of backend memory (scratch). */
template <class Term, class Finish>
static inline void gb_grid_sum(gb_device *dev, double *partial, size_t n, Term term, Finish finish) {
    gb_grid_partials_kernel<Term><<<GB_RED_BLOCKS, GB_RED_THREADS>>>(partial, n, term);
    GB_LAUNCH_CHECK(dev, "gb_grid_partials_kernel");
    gb_grid_finish_kernel<Finish><<<1, GB_RED_BLOCKS>>>(partial, finish);
    GB_LAUNCH_CHECK(dev, "gb_grid_finish_kernel");
}

/* Grid-stride loop over n elements. */
#define GB_CUDA_FOR(i, n)                                                                     \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n);                   \
         i += (size_t)gridDim.x * blockDim.x)

#endif
