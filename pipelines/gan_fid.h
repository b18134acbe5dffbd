/* pipelines/gan_fid.h - FID of a GAN pipeline's samples against its own training images
 * (specs/pipelines.md 4.4 and 5.5, DESIGN.md section 4): the FID Inception-v3
 * (models/inception_v3.h) with the pinned weights <data>/weights/pt_inception-2015-12-05-6726825d.pth,
 * a preprocessing protocol (metrics/fid_protocol.h: "clean" for the CMU pipelines, "pytorch-fid"
 * for mnist-gan), reference statistics of every training image used, computed here.
 * Generated images enter unquantised, as floats in [0, 255] (clean-fid's gen() path); greyscale
 * images are repeated into R, G, B. Without the weights file the FID is not computed: ready is 0
 * and reason says why (the pipeline records it with the fetch command).
 * Tested only through the pipelines: the weights are not in the test environment, so
 * tests/test_gan_pipelines.c checks the not-computed path; the FID arithmetic and the Inception
 * network are tested by tests/test_fid_stats.c and tests/test_inception.c.
 */
#ifndef GB_GAN_FID_H
#define GB_GAN_FID_H

#include "../metrics/fid.h"
#include "../metrics/fid_protocol.h"
#include "gan_common.h"

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
    char reason[256];
} gan_fid;

/* Load the weights and compute the statistics of the first n_ref training images (0: all).
 * GB_OK with ready 0 when the weights file is absent; errors (a corrupt or unpinned file:
 * GB_INPUT) are returned. */
gb_status gan_fid_open(gan_fid *f, gan_run *r, gb_fid_protocol protocol, size_t n_ref);
/* FID of n images imgs [n, c, h, w] in [0, 1] against the training statistics. */
gb_status gan_fid_images(gan_fid *f, const float *imgs, size_t n, int c, int h, int w, double *fid);
void gan_fid_free(gan_fid *f);

#endif
