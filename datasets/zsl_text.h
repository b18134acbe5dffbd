/* datasets/zsl_text.h - the GAZSL / CIZSL text-based zero-shot sets: CUB2011 and NABird,
 * easy (SCS) and hard (SCE) splits (specs/formats.md 4b, specs/pipelines.md 1.1).
 *
 * Files in <dir> (data/CUB2011 or data/NABird of the upstream archive):
 *   text features  CUB_Porter_7551D_TFIDF_new.mat | NAB_Porter_13217D_TFIDF_new.mat,
 *                  PredicateMatrix C x V, classes are rows (dense or sparse) -> class_desc [C, V]
 *   split          train_test_split_{easy,hard}.mat | train_test_split_NABird_{easy,hard}.mat,
 *                  train_cid, test_cid: 1-based class numbers (rows of PredicateMatrix)
 *   features       CUB: pfc_feat_{train,test}.mat (easy), pfc_feat_{train,test}_hard.mat;
 *                  NAB: pfc_feat_{train,test}_{easy,hard}.mat; pfc_feat N x D, rows are images
 *   labels         labels_{train,test}.pkl (easy), labels_{train,test}_hard.pkl: Python-2
 *                  pickles of numpy int arrays (a list of ints is accepted too), 0-based
 *                  positions in train_cid resp. test_cid
 * In the set: features = train rows then test rows; labels = global class ids (cid - 1);
 * seen = train_cid order, unseen = test_cid order; train = the training rows, test_unseen =
 * the test rows, no test_seen. Identity "gazsl:<cub|nab>-<easy|hard>"; sha256 over the six
 * files in the order above (train before test). Any problem is GB_INPUT naming the file and
 * the variable.
 * Tested by tests/test_datasets_zsl.c.
 */
#ifndef GB_DATASETS_ZSL_TEXT_H
#define GB_DATASETS_ZSL_TEXT_H

#include "core/status.h"
#include "datasets/zsl_set.h"

/* The six file names of a dataset ("cub" | "nab") and split ("easy" | "hard"); GB_USAGE for
 * other names. Order: text, split, features train, features test, labels train, labels test. */
gb_status gb_zsl_text_files(const char *dataset, const char *split, const char *names[6]);

gb_status gb_zsl_text_load(gb_zsl_set *set, const char *dir, const char *dataset, const char *split);

#endif
