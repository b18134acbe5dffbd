/* datasets/zsl_synth.h - `zsl-synth`: deterministic stand-ins for the zero-shot sets.
 *
 * Two styles, both a pure function of (config, seed) through core/philox.h streams
 * "zsl-synth/<style>/<part>":
 *   attribute (like GBU AWA2): class descriptions are attribute vectors in (0, 1) made by a
 *     random sigmoid map of a low-dimensional class latent z_c (latent_dim), L2-normalised per
 *     class like GBU's `att`; splits like GBU: a fraction test_seen_frac of each seen class's
 *     instances is test_seen, the rest trainval; every unseen instance is test_unseen; rows
 *     are in a random order.
 *   text (like the GAZSL CUB/NAB TF-IDF sets): a vocabulary of desc_dim words, latent_dim
 *     topics each owning a random handful of words; class c's term weights are the topics
 *     weighted by relu(z_c) plus a few class-specific words; tf-idf (smooth idf) and L2
 *     normalisation give sparse rows (about a tenth non-zero with the defaults); no test_seen
 *     (the text protocol's GZSL uses the training rows); rows are the training rows then
 *     the unseen rows, as the text loader returns them.
 * Visual features: a fixed random 2-layer tanh net of the class description gives the class
 * mean, mu_c = W2 tanh(gain * W1 d_c + b1), W1 ~ N(0, 1/desc_dim) applied to sqrt(desc_dim)
 * d_c; the means are standardised per dimension over the classes (zero mean, unit spread),
 * and each instance is mu_c + noise * N(0, I). Descriptions determine features through a
 * smooth map, so zero-shot transfer is learnable (tests/test_datasets_zsl.c checks a ridge
 * regression from descriptions to class means scores far above chance on unseen classes).
 * seen/unseen classes: a random permutation, the last n_unseen are unseen; both lists sorted.
 * Identity "synthetic:zsl-synth-att" / "synthetic:zsl-synth-text", sha256 "".
 * To exercise the real loaders, write a stand-in with datasets/zsl_write.h.
 * Tested by tests/test_datasets_zsl.c (determinism, round trips, learnability).
 */
#ifndef GB_DATASETS_ZSL_SYNTH_H
#define GB_DATASETS_ZSL_SYNTH_H

#include <stdint.h>

#include "core/status.h"
#include "datasets/zsl_set.h"

typedef enum { GB_ZSL_SYNTH_ATT, GB_ZSL_SYNTH_TEXT } gb_zsl_synth_style;

typedef struct {
    gb_zsl_synth_style style;
    int num_classes;      /* att 50, text 40 */
    int n_unseen;         /* att 10, text 10 */
    int desc_dim;         /* att 85 (AWA2's attributes), text 1000 (CUB has 7551 words) */
    int feat_dim;         /* 64 (the real sets: 2048 ResNet-101, 3584 VPDE parts) */
    int per_class;        /* instances per class: 30 */
    float test_seen_frac; /* att 0.2 (GBU: about a fifth of the seen images); text 0 */
    float noise;          /* instance noise std, relative to the unit spread of class means: 1.0 */
    int latent_dim;       /* class latent factors / topics: 8 */
    int hidden;           /* width of the random tanh net: 64 */
    float gain;           /* pre-activation scale of the tanh layer: 1.5 */
    int topic_words;      /* text: words per topic, 0 -> desc_dim / 40 */
    int class_words;      /* text: class-specific words, 0 -> desc_dim / 100 */
} gb_zsl_synth_config;

/* The small defaults above (a smoke-test scale: well under a second to make). */
void gb_zsl_synth_default(gb_zsl_synth_config *c, gb_zsl_synth_style style);

/* GB_USAGE (naming the field) for sizes that make no set: fewer than 2 seen or 1 unseen
 * classes, per_class < 2 with test_seen_frac > 0, non-positive dims, noise < 0, test_seen_frac
 * outside [0, 1), or sizes beyond 2^31 values. */
gb_status gb_zsl_synth_make(gb_zsl_set *set, const gb_zsl_synth_config *c, uint64_t seed);

#endif
