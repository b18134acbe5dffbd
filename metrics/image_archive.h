/* metrics/image_archive.h - a zip archive of images as an input of FID, KID, PRDC and the
 * Inception score: how StyleGAN2-ADA's and EDM's dataset_tool.py store datasets
 * (00000/img00000000.png, ..., dataset.json) and how clean-fid's get_folder_features reads a
 * path that is a .zip, so reference sets and sample sets need not be unpacked.
 *
 * Members: clean-fid's rule (metrics/image_folder.h, gb_image_archive_member_class): png, jpg
 * and jpeg in any case at any depth are read; formats clean-fid would read and genbench cannot
 * decode (bmp, tif, webp, ...) are GB_INPUT naming the member; everything else is ignored.
 * Order: sorted by name (strcmp on libzip's UTF-8 names), as EDM's ImageFolderDataset sorts
 * them. clean-fid keeps a Python set's order, which changes from process to process, so its
 * statistics of an archive differ from any fixed order's in the last bits only.
 * A name that appears twice is GB_INPUT (core/zip_read.h).
 * Members are decoded exactly as the files of a folder are (metrics/fid_protocol.h), so an
 * archive gives the same bits as a folder holding the same files (tested).
 *
 * gb_image_archive_load_rgb may be called from several threads: libzip's zip_t is not safe to
 * share, so reading a member's bytes is serialised (microseconds for a 32x32 PNG) and the
 * decoding, the costly part, runs in parallel.
 * Tested by tests/test_image_archive.c (listing against clean-fid's code, the same bits as a
 * folder, damaged / encrypted / duplicated members), tests/test_cmd_fid_images.c and
 * tests/test_cmd_spectrum.c (the commands).
 */
#ifndef GB_METRICS_IMAGE_ARCHIVE_H
#define GB_METRICS_IMAGE_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct gb_image_archive gb_image_archive;

/* Opens the zip at path and lists its images. GB_INPUT naming the file when it is not a
 * readable zip (a duplicated name included), holds no images or holds a refused format. */
gb_status gb_image_archive_open(gb_image_archive **archive, const char *path);
size_t gb_image_archive_count(const gb_image_archive *archive);
/* The path of image i inside the archive. */
const char *gb_image_archive_member(const gb_image_archive *archive, size_t i);
/* Image i -> malloc'd planar RGB [3, *h, *w], decoded as a folder's files are. GB_INPUT
 * naming "<archive>:<member>" for damaged data or an undecodable image. Thread-safe. */
gb_status gb_image_archive_load_rgb(gb_image_archive *archive, size_t i, uint8_t **chw, int *h, int *w);
void gb_image_archive_close(gb_image_archive *archive);

#endif
