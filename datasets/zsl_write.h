/* datasets/zsl_write.h - write a gb_zsl_set in the real upstream file formats.
 *
 * Used to put the zsl-synth stand-ins on disk exactly as the real data are laid out, so the
 * loaders (datasets/gbu.h, datasets/zsl_text.h) and any upstream Python code read them
 * unchanged. Level-5 MAT files through libmatio with a fixed header (no date) and Python-2
 * style label pickles (core/pickle_numpy.h), so the same set gives the same bytes. Each file
 * is replaced atomically.
 * Tested by tests/test_datasets_zsl.c (round trips through the loaders, byte determinism).
 */
#ifndef GB_DATASETS_ZSL_WRITE_H
#define GB_DATASETS_ZSL_WRITE_H

#include "core/status.h"
#include "datasets/zsl_set.h"

/* <dir>/res101.mat: features (dim x N, single), labels (N x 1, double, 1-based),
 *                   image_files (N x 1 cell);
 * <dir>/att_splits.mat (compressed): att and original_att (A x C, double), trainval_loc,
 *                   train_loc, val_loc, test_seen_loc, test_unseen_loc (k x 1, int32,
 *                   1-based: upstream indexes numpy arrays with them, which needs integers),
 *                   allclasses_names (C x 1 cell). train_loc / val_loc split
 *                   trainval by class: the last fifth of the seen classes form val.
 * The set must have passed gb_zsl_set_check. dir must exist. */
gb_status gb_zsl_write_gbu(const gb_zsl_set *set, const char *dir);

/* The six files of gb_zsl_text_files(dataset, split) in <dir>: PredicateMatrix (C x V,
 * double, compressed), train_cid / test_cid (1 x k, int32) from seen / unseen, pfc_feat of
 * the train rows and of the test_unseen rows (single), labels as Python-2 protocol-2 int64
 * pickles of the local labels. GB_USAGE when the set has test_seen rows (the text protocol
 * has none). Loading the result gives features ordered train rows then test rows. */
gb_status gb_zsl_write_text(const gb_zsl_set *set, const char *dir, const char *dataset, const char *split);

#endif
