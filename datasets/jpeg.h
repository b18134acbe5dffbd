/* datasets/jpeg.h - JPEG decode (to planar RGB) and encode through libjpeg, reentrant.
 *
 * CUB-200-2011 ships baseline JFIF JPEGs, eight of them greyscale (specs/formats.md 3.4), and
 * the CMU 32x32 set is the resized images re-saved by Pillow with its defaults (quality 75,
 * 4:2:0). Decoding uses libjpeg's defaults (islow DCT, fancy upsampling), which are also
 * Pillow's, so with the same libjpeg (Debian's libjpeg62-turbo backs both python3-pil and
 * libjpeg-dev) the pixels equal Pillow's Image.open(...).convert("RGB") exactly. Greyscale
 * images are expanded to RGB by repeating the channel, as convert("RGB") does. CMYK / YCCK
 * JPEGs are refused: Pillow would convert them with its own inverted-CMYK rules, which the
 * benchmark has no reason to reproduce. So are headers claiming more than 178,956,970 pixels,
 * where Pillow raises DecompressionBombError (found by fuzz/jpeg_fuzz.c: a 200-byte file
 * could claim 65500x65500 and ask for a 12 GB buffer).
 * Errors (libjpeg's fatal errors and a premature end of data, which libjpeg would otherwise
 * pad with grey) are GB_INPUT naming the file and libjpeg's reason. State lives in each
 * call, so threads may decode concurrently.
 * Tested by tests/test_datasets_images.c against Pillow-decoded values of Pillow-made JPEGs.
 */
#ifndef GB_DATASETS_JPEG_H
#define GB_DATASETS_JPEG_H

/* Pillow's DecompressionBombError limit (2 * Image.MAX_IMAGE_PIXELS): the most pixels a header
 * may claim, for JPEG here and PNG in metrics/fid_protocol.c. */
#define GB_IMAGE_MAX_PIXELS 178956970ull

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Decode `data` (n bytes, read from `name`) into a malloc'd [3, height, width] uint8 image.
 * *components_in_file (may be NULL) receives 1 for a greyscale file, 3 for colour. */
gb_status gb_jpeg_decode_rgb(const char *name, const uint8_t *data, size_t n, uint8_t **chw,
                             int *height, int *width, int *components_in_file);

/* Encode a planar image (channels 1 = greyscale or 3 = RGB, [channels, height, width]) with
 * libjpeg's defaults at `quality` (75 reproduces Pillow's Image.save defaults: baseline,
 * 4:2:0 chroma, standard tables) into a malloc'd buffer. */
gb_status gb_jpeg_encode(const char *name, const uint8_t *chw, int channels, int height, int width,
                         int quality, uint8_t **jpeg, size_t *n);

#endif
