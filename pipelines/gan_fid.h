/* pipelines/gan_fid.h - FID of a GAN pipeline's samples against its own training images
 * (specs/pipelines.md 4.4 and 5.5, DESIGN.md section 4): the FID Inception-v3
 * (models/inception_v3.h) with the pinned weights <data>/weights/pt_inception-2015-12-05-6726825d.pth,
 * a preprocessing protocol (metrics/fid_protocol.h: "clean" for the CMU pipelines, "pytorch-fid"
 * for mnist-gan), reference statistics of every training image used, computed here.
 * Generated images enter unquantised, as floats in [0, 255] (clean-fid's gen() path); greyscale
 * images are repeated into R, G, B. Without the weights file the FID is not computed: ready is 0
 * and reason says why (the pipeline records it with the fetch command).
 * The final evaluation adds KID (100 subsets, seeded by the run seed) and improved precision /
 * recall with density / coverage (Kynkaanniemi: k = 3, <=) on the features of the first
 * GAN_FEATURE_CAP samples and training images (the k-NN and kernel sums grow with N^2; 10,000
 * is the usual N for them): the real features are kept from the reference pass. It also gives
 * the Inception score of all the samples (metrics/inception_score.h) from the same forward:
 * logits without fc.bias, 10 splits (fewer when there are fewer samples), rows in
 * torch-fidelity's shuffled order; the preprocessing is the pipeline's FID protocol.
 * Tested by tests/test_gan_fid.c on random Inception weights (tests/peers/inception_ref.py):
 * FID, KID, precision/recall and the Inception score equal the metrics recomputed from features
 * and logits extracted independently; tests/test_gan_pipelines.c checks the not-computed path.
 */
#ifndef GB_GAN_FID_H
#define GB_GAN_FID_H

#include "../metrics/fid.h"
#include "../metrics/fid_protocol.h"
#include "../metrics/inception_score.h"
#include "../metrics/kid.h"
#include "../metrics/prdc.h"
#include "gan_common.h"

#define GAN_FEATURE_CAP 10000

typedef struct {
    int ready;
    gb_fid_protocol protocol;
    gb_inception net;
    gb_fid_stats real;
    size_t chunk;        /* images per Inception call */
    float *pre;          /* [chunk, 3, 299, 299] */
    float *pool;         /* [chunk, 2048] */
    float *rgb;          /* [3, h, w] one image in [0, 255] */
    size_t n_ref;        /* training images behind real */
    float *real_feat;    /* [n_real_feat, 2048]: the first training images' features */
    size_t n_real_feat;  /* min(n_ref, GAN_FEATURE_CAP) */
    uint64_t kid_seed;
    char reason[256];
} gan_fid;

/* The final evaluation's numbers. */
typedef struct {
    double fid;
    gb_kid_result kid;
    gb_prdc_result prdc;
    size_t n_gen_feat, n_real_feat; /* rows behind KID and precision/recall */
    double is_mean, is_std;         /* Inception score of all the samples */
    size_t is_splits;
} gan_fid_scores;

/* Load the weights (r->ctx->opt->inception_weights / _sha256, else the pinned file under
 * <data>/weights) and compute the statistics of the first n_ref training images (0: all).
 * GB_OK with ready 0 when the default weights file is absent; errors (a corrupt or unpinned
 * file, an explicit file that is missing: GB_INPUT) are returned. */
gb_status gan_fid_open(gan_fid *f, gan_run *r, gb_fid_protocol protocol, size_t n_ref);
/* FID of n images imgs [n, c, h, w] in [0, 1] against the training statistics. */
gb_status gan_fid_images(gan_fid *f, const float *imgs, size_t n, int c, int h, int w, double *fid);
/* FID of all n images, KID and precision/recall of the first GAN_FEATURE_CAP of them. */
gb_status gan_fid_final(gan_fid *f, const float *imgs, size_t n, int c, int h, int w, gan_fid_scores *out);
void gan_fid_free(gan_fid *f);

#endif
