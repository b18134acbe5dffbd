/* metrics/image_folder.h - which files of an image folder go into FID, KID and PRDC, in which
 * order: as the peer of each FID protocol lists them, so N and the sample order agree.
 *
 *   protocol      peer (its code)                        walk        hidden   extensions read
 *   clean         clean-fid get_folder_features: a       recursive   skipped  png jpg jpeg PNG JPG
 *                 recursive glob of "**" then "*.EXT"                         JPEG (exact case)
 *   pytorch-fid   pytorch-fid compute_statistics_of_path: the folder  read     png jpg jpeg (exact
 *                 pathlib.Path.glob('*.EXT')              itself              case)
 *   legacy-tf     torch-fidelity glob_samples_paths,      the folder  read     png jpg jpeg (any
 *                 its defaults                            itself              case)
 *
 * Paths sort by strcmp, as Python sorts str paths and same-folder Paths. Extensions are what
 * follows a name's last dot, as the peers find them: the globs match ".png" itself, torch-fidelity's
 * os.path.splitext sees no extension when only dots precede the last one (".png", "..png"). Files the peer would read but genbench cannot decode (clean-fid's
 * and pytorch-fid's bmp, pgm, ppm, tif, tiff, webp; clean-fid's npy), with the peer's case
 * rule, are GB_INPUT naming the file rather than silently skipped, since the peer would count
 * them; torch-fidelity reads only png/jpg/jpeg, so under legacy-tf other files are ignored like
 * any non-image. Subfolders are followed through symbolic links (as glob does), at most
 * GB_IMAGE_FOLDER_DEPTH deep.
 *
 * Zip archives of images (metrics/image_archive.h) are read by clean-fid's rule for a ".zip"
 * path under every protocol (neither pytorch-fid nor torch-fidelity reads archives): every
 * member whose os.path.splitext extension, lower-cased, is png, jpg or jpeg is read, at any
 * depth, hidden or not; bmp, pgm, ppm, tif, tiff, webp and npy are refused as above; anything
 * else (directory entries, dataset.json) is ignored.
 *
 * Tested by tests/test_inception.c against each peer's own listing code run on the same tree
 * (tests/peers/inception_ref.py, FOLDER_TREE: case, subfolders, hidden files, several dots),
 * and by tests/test_image_archive.c against clean-fid's listing of a zip of that tree.
 */
#ifndef GB_METRICS_IMAGE_FOLDER_H
#define GB_METRICS_IMAGE_FOLDER_H

#include <stddef.h>

#include "core/status.h"
#include "metrics/fid_protocol.h"

#define GB_IMAGE_FOLDER_DEPTH 32

/* The image files of dir that protocol p's peer reads, sorted: *paths is a malloc'd array of
 * malloc'd "dir/relative/path" strings (free with gb_image_list_free). GB_INPUT when dir
 * cannot be read or holds no images. */
gb_status gb_image_folder_list(char ***paths, size_t *n, const char *dir, gb_fid_protocol p);
void gb_image_list_free(char **paths, size_t n);

typedef enum { GB_IMAGE_FILE_SKIPPED, GB_IMAGE_FILE_READ, GB_IMAGE_FILE_REFUSED } gb_image_file_class;
/* What clean-fid does with the zip member named `member` (a path inside the archive): reads it
 * (png / jpg / jpeg, any case), would read a format genbench cannot decode (REFUSED), or skips it. */
gb_image_file_class gb_image_archive_member_class(const char *member);

#endif
