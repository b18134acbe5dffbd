/* models/inception_v3.h - the FID variant of Inception-v3 (pytorch-fid's fid_inception_v3()),
 * inference only, on the backend table: 2048-d pool3 features and the 1008-way logits.
 *
 * Network (specs/formats.md 5.2, specs/metrics.md "FID"): torchvision's Inception3 layer list
 * with pytorch-fid's block forwards:
 *   stem  Conv2d_1a_3x3 (s2) 2a 2b(p1) maxpool3/2 3b_1x1 4a maxpool3/2
 *   Mixed_5b/5c/5d  FIDInceptionA   pool branch: avg_pool 3/1/1 with count_include_pad=False
 *   Mixed_6a        InceptionB      (3x3 s2, double 3x3 ending s2, max_pool 3/2)
 *   Mixed_6b..6e    FIDInceptionC   (1x7 / 7x1 factorised convs; avg pool as A)
 *   Mixed_7a        InceptionD
 *   Mixed_7b        FIDInceptionE_1 (avg pool as A)
 *   Mixed_7c        FIDInceptionE_2 (the pool branch MAX-pools 3/1/1: a quirk of the TF graph)
 *   global average -> pool3 [2048]; fc -> logits [1008]
 * Branches concatenate in forward order (A: 1x1, 5x5, 3x3dbl, pool; E: 1x1, [2a, 2b],
 * [3a, 3b], pool). Every BasicConv2d is conv (no bias) + BatchNorm (eps 0.001, running
 * statistics) + ReLU; the BatchNorm is folded into the conv at load, in double:
 *   s = gamma / sqrt(var + 0.001);  w' = w * s;  b' = beta - mean * s   (then rounded to float)
 * so each layer is one conv with bias and an in-place ReLU. Folding changes the rounding of
 * each layer by about one float ulp relative to conv-then-BN (tests/tolerances.md). The
 * sibling 1x1 convs that read a block's input are laid out one after another in params and
 * run as one merged conv (models/inception_v3.c has the execution plan); each output channel
 * is bitwise what the member conv alone computes.
 *
 * Weights: a state dict file in pytorch-fid's key layout (legacy or zip torch.save, read by
 * metrics/torch_weights.h), accepted only when its SHA-256 is the pinned hash of
 * pt_inception-2015-12-05-6726825d.pth or one the caller passes explicitly. Unknown keys,
 * missing keys, wrong shapes and non-finite values are GB_INPUT naming the file and the key.
 *
 * Memory: folded parameters in one backend block (23.9M floats); activations in one arena
 * sized once for max_batch images (about 15 MB per image), reused by every chunk.
 * Tested by tests/test_inception.c against pytorch-fid run on the same random weights
 * (tests/peers/inception_ref.py).
 */
#ifndef GB_INCEPTION_V3_H
#define GB_INCEPTION_V3_H

#include <stddef.h>

#include "core/arena.h"
#include "core/status.h"
#include "kernels/kernels.h"

#define GB_INCEPTION_SHA256 "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
#define GB_INCEPTION_FILE "pt_inception-2015-12-05-6726825d.pth"
#define GB_INCEPTION_SIZE 299      /* input height and width */
#define GB_INCEPTION_FEATURES 2048 /* pool3 */
#define GB_INCEPTION_CLASSES 1008
/* sFID's features: Mixed_6d.branch1x1's first 7 channels at 17 x 17 (gb_inception_set_dims) */
#define GB_INCEPTION_SPATIAL_CHANNELS 7
#define GB_INCEPTION_SPATIAL_SIZE 17
#define GB_INCEPTION_SPATIAL (GB_INCEPTION_SPATIAL_CHANNELS * GB_INCEPTION_SPATIAL_SIZE * GB_INCEPTION_SPATIAL_SIZE)
#define GB_INCEPTION_CONVS 94

typedef struct {
    char name[32]; /* state-dict prefix, e.g. "Mixed_6b.branch7x7_2" */
    int cin, cout, kh, kw, stride, pad_h, pad_w;
    size_t weight_offset, bias_offset; /* floats into params (a merge group's weights, then its biases, adjacent) */
} gb_inception_conv;

typedef struct {
    gb_device *dev;
    size_t max_batch;
    char sha256[65];                          /* of the weights file */
    gb_inception_conv convs[GB_INCEPTION_CONVS];
    float *params;                            /* backend memory: folded convs, fc.weight, fc.bias */
    size_t fc_weight_offset, fc_bias_offset;
    gb_arena arena;
    size_t buf_floats[5];                     /* per image, measured by a shape-only pass */
    float *buf[5];                            /* [max_batch * buf_floats[i]] each: two ping-pong, three branch temporaries */
    float *pool;                              /* [max_batch, 2048] */
    float *logits;                            /* [max_batch, 1008] */
    float *spatial;                           /* [max_batch, 2023]: sFID's features beside pool3
                                                 (gb_inception_forward_taps) */
    int separate_1x1;                         /* 0 after load; tests set 1 to run each merged 1x1 conv on its own */
    int logits_without_bias;                  /* 0 after load; 1: logits = pool3 fc.weight^T without fc.bias, the
                                                 logits of OpenAI's and torch-fidelity's Inception score
                                                 ('logits_unbiased'; metrics/inception_score.h) */
    int dims;                                 /* features per image: 2048 after load (pool3); see
                                                 gb_inception_set_dims (2023: sFID's) */
} gb_inception;

/* Load and fold the weights at `path` for batches of up to max_batch images.
 * expected_sha256: NULL for the pinned GB_INCEPTION_SHA256, else the hash of a file the
 * caller vouches for (64 hex digits). GB_INPUT for a hash mismatch or a bad file (message
 * names the file, the key and the fix); GB_USAGE for max_batch 0. On failure nothing is
 * left allocated. */
gb_status gb_inception_load(gb_inception *net, gb_device *dev, const char *path, const char *expected_sha256,
                            size_t max_batch);

/* How many of `batch` images one pass of the network takes: all of them, up to the count whose
 * widest activation (Conv2d_2b's [64, 147, 147] per image, net->buf_floats) stays below 2^31
 * elements, which cuDNN's tensor descriptors index with int (1552 images). gb_inception_load
 * sets max_batch to gb_inception_chunk(net, max_batch), with an info line when that lowers it;
 * the forward runs any n in chunks of max_batch, so nothing else changes. */
size_t gb_inception_chunk(const gb_inception *net, size_t batch);

/* The features the forward returns, as pytorch-fid's --dims (InceptionV3 output blocks 0..3)
 * and torch-fidelity's feature names '64', '192', '768', '2048' choose them: the global
 * average of the activations after the stem's first max pool (64), after its second (192),
 * after Mixed_6e (768), or pool3 (2048). Or GB_INCEPTION_SPATIAL (2023), the spatial features
 * of sFID (Nash et al. 2021) as OpenAI's guided-diffusion evaluator takes them: the TF graph's
 * mixed_6/conv (Mixed_6d.branch1x1 after its ReLU), channels 0..6 of its 17 x 17 map,
 * flattened in (h, w, c) order. The forward stops at the chosen block, so the smaller ones are
 * also cheaper. Only 2048 has logits. GB_USAGE for any other value. */
gb_status gb_inception_set_dims(gb_inception *net, int dims);

/* images: host memory [n, 3, 299, 299], already preprocessed by a protocol
 * (metrics/fid_protocol.h). pool: host [n, net->dims] (pool3 by default); logits: host
 * [n, 1008] or NULL (with or without fc.bias as net->logits_without_bias says; only with dims
 * 2048). Any n: chunks of max_batch run through the arena. */
void gb_inception_forward(gb_inception *net, float *pool, float *logits, const float *images, size_t n);

/* The same, and with spatial not NULL (dims 2048 only) also sFID's 2023 features of each image,
 * host [n, 2023] in (h, w, c) order, from the same pass: OpenAI's guided-diffusion evaluator
 * takes pool_3 and mixed_6/conv in one run of its graph. The tap only reads Mixed_6d's map, so
 * pool and logits are the bits gb_inception_forward gives, and spatial the bits of a forward
 * with dims 2023 (tests/test_inception.c compares both). */
void gb_inception_forward_taps(gb_inception *net, float *pool, float *logits, float *spatial, const float *images,
                               size_t n);

void gb_inception_free(gb_inception *net);

/* The shapes of the 94 convolutions in state-dict order (the order of net->convs), for a
 * batch of `batch` 299x299 images, from the architecture alone (no weights needed): the same
 * walk of the forward that sizes the arena. These are the state dict's convolutions: the
 * forward runs each block's sibling 1x1s (listed here one by one) as one conv with their
 * summed output channels. Writes min(94, cap) entries of out and, when
 * names is not NULL, of names (the state-dict prefixes, e.g. "Mixed_6b.branch7x7_2"; static
 * strings). Returns 94. Thread-safe. Tested by tests/test_inception.c against the loaded
 * model's table and hand-derived spatial sizes. */
size_t gb_inception_conv_shapes(int batch, gb_conv_shape *out, const char **names, size_t cap);

/* The convolutions as the forward runs them, in order: the same listing, except that each
 * block's sibling 1x1 convs appear once, as their merged conv (input channels shared, output
 * channels summed), named after its first member with merged[i] = 1 (names and merged may be
 * NULL). Writes min(count, cap) entries and returns the count (67). Thread-safe. Tested by
 * tests/test_inception.c against the state-dict listing. */
size_t gb_inception_run_conv_shapes(int batch, gb_conv_shape *out, const char **names, int *merged, size_t cap);

#endif
