/* cli/stats_cache.h - FID statistics of dataset splits, kept under the data root so that the
 * reference side of `genbench fid samples/ cifar10:train` is computed once, not on every call
 * (50,000 training images are about 80 minutes on two CPU cores; a cached 32 MB .npz loads in
 * a fraction of a second). clean-fid's "custom statistics" do the same by hand.
 *
 * A cached file should hold the bits a fresh computation would give, so its name carries a
 * SHA-256 over what decides those bits:
 *   the split (dataset:split, the images taken, the split's size, the SHA-256 of its files),
 *   the features (the network's --dims: pool3, an earlier block, or sFID's tap), the image
 *   protocol, the weights' SHA-256, the device (its name: the OpenBLAS build and CPU kernel,
 *   or the GPU), its thread count, the BLAS's thread count and the batch size, and two probes
 *   computed now: the features of the split's first two images, and the mean and covariance
 *   of a fixed block of rows (one accumulator chunk and a partial one). The probes catch a
 *   build whose arithmetic differs (another commit, compiler, CPU dispatch, BLAS, an edited
 *   working tree) where it shows on them, which no version string would; a difference that
 *   shows only on other images or batch positions would go unseen (--no-cache rules it out).
 * Layout: <data root>/cache/fid-stats/<dataset>-<split>-<n>-<protocol>-<key 16 hex>.npz, an
 * ordinary stats file (metrics/fid.h: pytorch-fid layout with genbench's provenance members),
 * usable by `genbench fid` directly. Stale entries are never read again; delete the folder to
 * reclaim the space. A cache file that cannot be read or does not match its name's provenance
 * is warned about and recomputed (and rewritten); a cache that cannot be written is a warning,
 * never a failed measurement. Tested by tests/test_cmd_fid_images.c.
 */
#ifndef GB_CLI_STATS_CACHE_H
#define GB_CLI_STATS_CACHE_H

#include <stddef.h>

#include "../core/status.h"
#include "../metrics/fid.h"
#include "inception_inputs.h"
#include "metric_inputs.h"

/* The cache file for the statistics of the split input `in` (GB_CLI_SPLIT, images still
 * loaded) as net computes them now; opens the network for the probe. path is "" (with a
 * warning) when the data root is too long a path for one: computed without the cache. */
gb_status gb_stats_cache_locate(char *path, size_t size, const gb_cli_input *in, gb_cli_network *net);

/* 1 with *out filled when path holds statistics of n samples under net's protocol and weights;
 * 0 when there is no such file, or (with a warning naming it) when it cannot be used. */
int gb_stats_cache_load(gb_fid_stats *out, const char *path, uint64_t n, const gb_cli_network *net);

/* Writes st to path (atomically, creating the folders); a failure is a warning. */
void gb_stats_cache_store(const char *path, const gb_fid_stats *st);

#endif
