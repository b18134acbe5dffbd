/* kernels/cpu/parallel.h - a deterministic parallel-for for the CPU kernels' own loops.
 *
 * OpenBLAS threads the GEMMs; everything around them (im2col, pooling, activations, norms,
 * the Winograd transforms) would otherwise run on one core while the others spin. This
 * splits an index range [0, n) into at most dev->threads contiguous slices, slice t always
 * covering the same indices for a given (n, threads): a kernel whose slices write disjoint
 * outputs and reduce in a fixed order gives the same bits with 1 thread or 16. Slices never
 * share an accumulator; kernels that reduce across the range keep per-slice partials and
 * combine them in slice order, or reduce per output element inside a slice.
 *
 * The workers are persistent (created on first use, woken per call through a condition
 * variable), the caller runs slice 0 itself, and a call made from inside a slice runs inline,
 * so nested use cannot deadlock. Tested by tests/test_kernels_parallel.c (every index visited
 * exactly once, slices fixed by (n, threads), nested calls, many back-to-back calls).
 */
#ifndef GB_KERNELS_CPU_PARALLEL_H
#define GB_KERNELS_CPU_PARALLEL_H

#include <stddef.h>

#include "kernels/kernels.h"

/* Work on indices [begin, end) of the range; slice is the slice's number (0-based). */
typedef void (*gb_parallel_fn)(void *ctx, size_t begin, size_t end, int slice);

/* Runs fn over [0, n) in min(dev->threads, ceil(n / grain)) slices and returns when all are
 * done. grain is the smallest slice worth a thread (work below it runs inline in one call). */
void gb_parallel_for(const gb_device *dev, size_t n, size_t grain, gb_parallel_fn fn, void *ctx);

/* The slices gb_parallel_for would use for (n, grain) on dev: callers that keep per-slice
 * partial results size them with this. */
int gb_parallel_slices(const gb_device *dev, size_t n, size_t grain);

/* Slice t's index range when [0, n) is cut into `slices` slices (the split gb_parallel_for
 * uses: as even as possible, the first n % slices slices one longer). */
void gb_parallel_slice_range(size_t n, int slices, int t, size_t *begin, size_t *end);

#endif
