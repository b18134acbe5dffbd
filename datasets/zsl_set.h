/* datasets/zsl_set.h - the in-memory zero-shot-learning set the ZSL pipelines and metrics use.
 *
 * Every source fills one gb_zsl_set: the GBU / xlsa17 attribute sets (datasets/gbu.h), the
 * GAZSL / CIZSL text sets (datasets/zsl_text.h) and the zsl-synth stand-ins
 * (datasets/zsl_synth.h). Values are the stored ones converted to float32; no normalisation
 * (GBU's MinMax scaling, GAZSL's (x - mean) / var) happens here: that is the pipeline's job
 * (specs/pipelines.md 1.1 and 2.1).
 *
 * Class ids are 0-based rows of class_desc. The seen and unseen class lists fix the "local"
 * labels the pipelines train and evaluate with: local label of class c = its position in
 * seen[] (resp. unseen[]), which class_local[] holds. Orders follow the upstream loaders:
 *   GBU:   seen = sorted unique labels of trainval, unseen = sorted unique labels of
 *          test_unseen (ZSL_GAN dataset_GBU.py: np.unique);
 *   text:  seen = train_cid order, unseen = test_cid order (labels_*.pkl are positions in
 *          those lists); the text protocol has no test_seen split (GZSL uses train rows).
 * Defined in datasets/zsl_set.c; tested by tests/test_datasets_zsl.c.
 */
#ifndef GB_DATASETS_ZSL_SET_H
#define GB_DATASETS_ZSL_SET_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    int n;                 /* instances */
    int dim;               /* visual feature dim (2048 ResNet-101 for GBU; pfc_feat width for text) */
    float *features;       /* [n, dim] row-major, owned */
    int32_t *labels;       /* [n] class ids in [0, num_classes), owned */
    int num_classes;
    int att_dim;           /* class description dim (attributes or text features) */
    float *class_desc;     /* [num_classes, att_dim], owned */
    int n_seen, n_unseen;
    int32_t *seen;         /* [n_seen] class ids, owned */
    int32_t *unseen;       /* [n_unseen] class ids, owned */
    int32_t *class_local;  /* [num_classes]: position in seen[] or unseen[], -1 in neither; owned */
    int n_train, n_test_seen, n_test_unseen;
    int32_t *train;        /* [n_train] rows of features (GBU trainval; text: all training rows) */
    int32_t *test_seen;    /* [n_test_seen] rows (NULL when 0) */
    int32_t *test_unseen;  /* [n_test_unseen] rows */
    /* What was loaded, for manifests: "gbu:awa2", "gazsl:cub-easy", "synthetic:zsl-synth-att". */
    char identity[64];
    /* SHA-256 (hex) over the files read: sha256 of the lines "<file name>  <sha256 hex>\n" in
     * the loader's fixed file order; "" for stand-ins. */
    char sha256[65];
} gb_zsl_set;

/* Which file and field each part came from, for gb_zsl_set_check's messages (NULL entries
 * read as the generic part names). */
typedef struct {
    const char *features, *labels, *class_desc, *train, *test_seen, *test_unseen, *seen, *unseen;
} gb_zsl_sources;

/* Consistency of a filled set, and class_local (allocated here): labels, class ids and rows
 * in range; seen and unseen classes distinct and disjoint; train and test_seen rows of seen
 * classes, test_unseen rows of unseen classes; no row in two splits; every seen class has a
 * training row; features and class descriptions finite. GB_INPUT naming the source. */
gb_status gb_zsl_set_check(gb_zsl_set *set, const gb_zsl_sources *src);

void gb_zsl_set_free(gb_zsl_set *set);

/* Local labels of `count` rows: out[i] = class_local[labels[rows[i]]]. */
void gb_zsl_set_local_labels(const gb_zsl_set *set, const int32_t *rows, int count, int32_t *out);

/* Combined SHA-256 of files (see sha256 above); `names` are what the lines say (base names). */
gb_status gb_zsl_hash_files(const char *const *paths, const char *const *names, int count, char hex[65]);

#endif
