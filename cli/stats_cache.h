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
 * usable by `genbench fid` directly. A data root that cannot be written (a shared, read-only
 * dataset volume) is still read, and new entries go to the user's cache instead,
 * $XDG_CACHE_HOME/genbench/fid-stats/ (else ~/.cache/genbench/fid-stats/), which is read second:
 * the same name means the same bits wherever the file lies. Stale entries are never read again;
 * delete the folders to reclaim the space. A cache file that cannot be read or does not match
 * its name's provenance is warned about and recomputed (and rewritten; a damaged one under the
 * data root is replaced by a good copy in the user's cache); a cache that cannot be written in
 * either place is a warning, never a failed measurement. Tested by
 * tests/test_cmd_fid_images.c.
 */
#ifndef GB_CLI_STATS_CACHE_H
#define GB_CLI_STATS_CACHE_H

#include <stddef.h>

#include "../core/status.h"
#include "../metrics/fid.h"
#include "inception_inputs.h"
#include "metric_inputs.h"

/* Where one split's statistics may lie: under the data root, then in the user's cache. A path
 * is "" where there is none (no $XDG_CACHE_HOME or $HOME; a path too long). */
typedef struct {
    char in_data_root[1200];
    char per_user[1200];
    const char *found; /* after a hit: the one of the two it was read from */
} gb_stats_cache_entry;

/* The cache entry for the statistics of the split input `in` (GB_CLI_SPLIT, images still
 * loaded) as net computes them now; opens the network for the probe. Both paths "" (with a
 * warning) when neither place can hold one: computed without the cache. */
gb_status gb_stats_cache_locate(gb_stats_cache_entry *e, const gb_cli_input *in, gb_cli_network *net);

/* 1 with *out filled (and e->found set) when one of e's files holds statistics of n samples
 * under net's protocol and weights; 0 when there is no such file, or (with a warning naming
 * it) when it cannot be used. */
int gb_stats_cache_load(gb_fid_stats *out, gb_stats_cache_entry *e, uint64_t n, const gb_cli_network *net);

/* Writes st to e's file under the data root (atomically, creating the folders), else to the
 * user's cache; a failure in both is a warning. */
void gb_stats_cache_store(const gb_stats_cache_entry *e, const gb_fid_stats *st);

#endif
