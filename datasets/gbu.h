/* datasets/gbu.h - the GBU / xlsa17 zero-shot sets (AWA2, SUN, CUB; AWA1 and APY load too).
 *
 * Files (specs/formats.md 4a), in <dir>:
 *   res101.mat     features  dim x N  (instance j is column j)      -> features [N, dim]
 *                  labels    N x 1, 1-based class numbers            -> labels - 1
 *   att_splits.mat att       A x C  (class c is column c, L2-normalised) -> class_desc [C, A]
 *                  trainval_loc, test_seen_loc, test_unseen_loc: k x 1, 1-based rows of res101
 *                                                                    -> train, test_seen, test_unseen
 * (image_files, original_att, allclasses_names, train_loc and val_loc are not needed.)
 * seen = sorted unique classes of trainval, unseen = sorted unique classes of test_unseen, as
 * ZSL_GAN's dataset_GBU.py does. Any problem is GB_INPUT naming the file and the variable.
 * The set's identity is "gbu:<lower-case name>", its sha256 covers att_splits.mat then res101.mat.
 * Tested by tests/test_datasets_zsl.c.
 */
#ifndef GB_DATASETS_GBU_H
#define GB_DATASETS_GBU_H

#include "core/status.h"
#include "datasets/zsl_set.h"

/* The published sizes of the GBU proposed splits (Xian et al.), to warn when a directory
 * holds something else under a known name. */
typedef struct {
    const char *name;      /* "AWA2" */
    int images, classes, seen, unseen, att_dim, trainval, test_seen, test_unseen;
} gb_gbu_profile;

/* NULL for names outside AWA1, AWA2, APY, CUB, SUN (case-insensitive). */
const gb_gbu_profile *gb_gbu_find_profile(const char *name);

/* Load <dir>/res101.mat and <dir>/att_splits.mat. `name` is the dataset name for the identity
 * ("AWA2", "SUN", "CUB", or anything else for other sets in this layout); a known name whose
 * sizes differ from the published ones only logs a warning. */
gb_status gb_gbu_load(gb_zsl_set *set, const char *dir, const char *name);

#endif
