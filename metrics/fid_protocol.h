/* metrics/fid_protocol.h - the FID preprocessing protocols and image decoding (the features of
 * a folder or of images in memory: metrics/inception_features.h).
 *
 * Preprocessing moves FID by 10-28% on CIFAR-10 (specs/metrics.md), so it is part of the
 * metric and its name goes into every result. Each protocol maps an RGB image with values in
 * [0, 255] (decoded uint8, or a generator's float output) to the network input [3, 299, 299]:
 *   pytorch-fid  ToTensor's x / 255 (float), F.interpolate(size 299, bilinear,
 *                align_corners=False, no antialias) unless already 299x299, then 2 x - 1:
 *                the order of pytorch-fid's InceptionV3(resize_input=True,
 *                normalize_input=True).forward.
 *   clean        clean-fid: each channel resized alone as a Pillow 'F' image with BICUBIC
 *                (antialiased when downscaling; datasets/resize.h, bit-exact), clipped to
 *                [0, 255], then (x - 128) / 128 as its TorchScript wrapper does.
 *   legacy-tf    TF1 tf.image.resize_bilinear (align_corners=False, half_pixel_centers=False:
 *                source = dst * in/out, no half-pixel shift, no antialias) of the float image
 *                unless already 299x299, then (x - 128) / 128: the TF graph TTUR ran (its
 *                ResizeBilinear, Sub 128, Mul 1/128), as torch-fidelity emulates it.
 * The bilinear resizers follow the peers' operation order in float (PyTorch's CUDA kernel:
 * source index and weights l0 = 1 - l1 in float, rows blended after columns; TF1: a + (b - a)
 * * t), so with -ffp-contract=off they agree with them to the last bit or nearly; PyTorch
 * 1.13's CPU kernel, the peer the tests can run, forms its weights in double and differs by up
 * to ~1e-5 of the range, more for larger inputs (tests/tolerances.md).
 *
 * Image folders (`genbench fid DIR`): the files the protocol's peer would read, in its order
 * (metrics/image_folder.h: clean-fid's recursive walk, pytorch-fid's and torch-fidelity's
 * flat ones; image formats genbench cannot decode are refused, not skipped), decoded as
 * Pillow's Image.open(p).convert("RGB") does: grey is repeated into R, G, B, alpha (a
 * channel or a tRNS chunk) is DROPPED (not composited), palettes expand, 16-bit samples keep
 * their high byte (16-bit grey without alpha is refused: Pillow clips it); JPEG through
 * datasets/jpeg.h.
 * Tested by tests/test_inception.c against pytorch-fid's F.interpolate, clean-fid's
 * make_resizer and torch-fidelity's TF1 resize (tests/peers/inception_ref.py).
 */
#ifndef GB_FID_PROTOCOL_H
#define GB_FID_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "models/inception_v3.h"

typedef enum { GB_FID_PYTORCH_FID, GB_FID_CLEAN, GB_FID_LEGACY_TF } gb_fid_protocol;

/* "pytorch-fid", "clean", "legacy-tf" */
const char *gb_fid_protocol_name(gb_fid_protocol p);
/* GB_USAGE listing the names when unknown. */
gb_status gb_fid_protocol_by_name(gb_fid_protocol *out, const char *name);

/* One image, planar [3, h, w] with values in [0, 255] -> out [3, 299, 299] network input.
 * GB_INPUT for an empty image; GB_ENV when memory runs out. */
gb_status gb_fid_preprocess_f32(gb_fid_protocol p, float *out, const float *chw, int h, int w);
gb_status gb_fid_preprocess_u8(gb_fid_protocol p, float *out, const uint8_t *chw, int h, int w);

/* The two bilinear resizers, one plane: out [out_h, out_w], in [in_h, in_w]. */
void gb_resize_bilinear_torch(float *out, int out_h, int out_w, const float *in, int in_h, int in_w);
void gb_resize_bilinear_tf1(float *out, int out_h, int out_w, const float *in, int in_h, int in_w);

/* Decode a PNG or JPEG file (told apart by its first bytes) -> malloc'd planar RGB
 * [3, *h, *w]. GB_INPUT naming the file for anything else or a damaged file. */
gb_status gb_image_load_rgb(uint8_t **chw, int *h, int *w, const char *path);
/* The same on a file's bytes data [n] (a zip member); name names them in errors. */
gb_status gb_image_decode_rgb(uint8_t **chw, int *h, int *w, const char *name, const uint8_t *data, size_t n);

#endif
