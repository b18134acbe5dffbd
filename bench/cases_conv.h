/* bench/cases_conv.h - the conv benchmark rows of bench/cases_conv.c, for other families
 * that register conv shapes of their own (bench/cases_specs.c: the VAE and the U-Net).
 *
 * A row is one (shape, direction, implementation); it is set up, checked against float64
 * sums on 64 sampled outputs (bounds of tests/tolerances.md "convolution") and timed by the
 * harness exactly as the GAN conv rows are. FLOPs 2*M*N*K of the conv's GEMM.
 * Tested by running them: `genbench bench --filter conv` (a mismatch is a "MISMATCH" row).
 */
#ifndef GB_BENCH_CASES_CONV_H
#define GB_BENCH_CASES_CONV_H

#include "harness.h"

typedef enum { GB_CONV_FWD, GB_CONV_BWD_DATA, GB_CONV_BWD_WEIGHT } gb_conv_row_dir;

typedef enum {
    GB_CONV_OURS,     /* "ours-cpu": through the backend table (what the models run) */
    GB_CONV_SGEMM,    /* "openblas": one cblas_sgemm of the equivalent GEMM */
    GB_CONV_FFT,      /* "fftw": gb_conv2d_forward_fft_cpu (forward only) */
    GB_CONV_GEMM,     /* "ours-gemm": im2col + sgemm */
    GB_CONV_WINOGRAD, /* "ours-winograd": F(4x4,3x3), 3x3 stride 1 only */
} gb_conv_row_impl;

/* Append one conv2d row; label goes into the row's shape column. */
void gb_bench_add_conv_row(gb_bench_list *list, const gb_conv_shape *s, const char *label, gb_conv_row_dir dir,
                           gb_conv_row_impl impl);

/* Append one conv_transpose2d row (impl GB_CONV_OURS or GB_CONV_SGEMM) on the transposed
 * shape t (kernels/shapes.h). Its forward is the backward-data of the adjoint conv2d (the
 * conv2d from t's output back to t's input with the same weight), its backward-data that
 * conv's forward and its backward-weight that conv's backward-weight: the sgemm peer times
 * that GEMM and the check is that conv's float64 check. The forward runs without bias. */
void gb_bench_add_conv_transpose_row(gb_bench_list *list, const gb_conv_shape *t, const char *label,
                                     gb_conv_row_dir dir, gb_conv_row_impl impl);

#endif
