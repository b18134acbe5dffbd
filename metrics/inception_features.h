/* metrics/inception_features.h - a set of images through the FID Inception network: the
 * pool3 features, logits and sFID features (any of them, from one pass) of every image of a
 * folder or a zip archive
 * (metrics/image_archive.h), or of images already in memory (a dataset split loaded by
 * datasets/image_splits.h).
 *
 * Both run one loop (an image source): images are turned into network inputs (decoded, then
 * the protocol's resize and scaling, metrics/fid_protocol.h) on the host, net->max_batch at a
 * time, on the device's threads, each image in its own slot, so the result does not depend on
 * the thread count; a bad image stops the loop with the earliest one's error. More than one
 * batch reports its progress and images/s on stderr (core/progress.h). On a GPU the next batch
 * is prepared on the host while the network runs on this one (double-buffered inputs).
 * Tested by tests/test_inception.c (folders: features against pytorch-fid's, the overlapped
 * loop bitwise against the plain one) and tests/test_cmd_fid_images.c (dataset splits and
 * image arrays against folders of the same images written as PNG: the same bits).
 */
#ifndef GB_METRICS_INCEPTION_FEATURES_H
#define GB_METRICS_INCEPTION_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "core/npy.h"
#include "core/status.h"
#include "metrics/fid_protocol.h"
#include "metrics/image_archive.h"
#include "models/inception_v3.h"

/* pool3 features of every image of dir under protocol p -> malloc'd [*n, net->dims] (2048
 * unless gb_inception_set_dims chose an earlier block or sFID's tap; logits need 2048: GB_USAGE). */
gb_status gb_fid_folder_features(float **features, size_t *n, gb_inception *net, const char *dir, gb_fid_protocol p);
/* The same with the logits too -> malloc'd [*n, 1008] (pool or logits may be NULL: not kept).
 * On a GPU the next batch is prepared on the host while the network runs (overlap). */
gb_status gb_fid_folder_outputs(float **pool, float **logits, size_t *n, gb_inception *net, const char *dir,
                                gb_fid_protocol p);
/* The same with the overlap chosen by the caller (the tests run it on the CPU: the same bits,
 * the same earliest bad file, either way). */
gb_status gb_fid_folder_outputs_overlap(float **pool, float **logits, size_t *n, gb_inception *net, const char *dir,
                                        gb_fid_protocol p, int overlap);

/* What one pass over a set of images keeps: each member that is not NULL receives a malloc'd
 * array, one row per image (the others are not kept; on failure all are NULL).
 *   pool     [n, net->dims]: pool3's 2048 features, or the block gb_inception_set_dims chose
 *   logits   [n, 1008] (pool3 only)
 *   spatial  [n, 2023]: sFID's features from the same pass (pool3 only;
 *            gb_inception_forward_taps), as OpenAI's evaluator takes both at once */
typedef struct {
    float **pool, **logits, **spatial;
} gb_fid_wanted;

/* The outputs of the image files paths[count] (listed by gb_image_folder_list, or otherwise),
 * decoded as a folder's are; label names them in the progress line (its last '/' component)
 * and in errors. */
gb_status gb_fid_files_outputs(const gb_fid_wanted *want, gb_inception *net, char **paths, size_t count,
                               gb_fid_protocol p, const char *label);

/* The outputs of the images of an open zip archive, in its order, decoded as a folder's files
 * are; label names them in the progress line. */
gb_status gb_fid_archive_outputs(const gb_fid_wanted *want, gb_inception *net, gb_image_archive *archive,
                                 gb_fid_protocol p, const char *label);

/* The outputs of count images in memory: uint8 pixels in [0, 255], [count, channels, h, w], or
 * with channels_last [count, h, w, channels] (np.savez'd sample batches; reordered image by
 * image), channels 1 (repeated into R, G, B, as Pillow's convert("RGB") does for grey files) or
 * 3. label names the images in the progress line and in errors ("cifar10:train"). */
gb_status gb_fid_images_outputs(const gb_fid_wanted *want, gb_inception *net, const uint8_t *pixels, size_t count,
                                int channels, int h, int w, int channels_last, gb_fid_protocol p, const char *label);

/* The same for the images of an array file read front to back from stream (core/npy.h; opened,
 * nothing read yet), count images in the layouts above: only a batch of them is in memory at a
 * time (two while the next is prepared on a GPU), as OpenAI's evaluator streams its batches.
 * After the last image the stream's finish check runs, so a member that fails its CRC-32 is an
 * error (and no output is kept) even though every image could be read. */
gb_status gb_fid_stream_outputs(const gb_fid_wanted *want, gb_inception *net, gb_npy_stream *stream, size_t count,
                                int channels, int h, int w, int channels_last, gb_fid_protocol p, const char *label);

#endif
