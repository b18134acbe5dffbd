/* core/zip_read.h - reading zip archives through libzip with the checks every reader of them
 * needs, in one place:
 *   - an archive file is opened with ZIP_CHECKCONS (the central directory checked against the
 *     local headers), and a failure names the file and libzip's reason (libzip also refuses an
 *     archive in which a member name appears twice: Python's zipfile would read the last copy,
 *     libzip the first, so it has no one meaning);
 *   - a member's sizes are the archive's own claims, so they are bounded by the archive's size
 *     before anything is allocated (DEFLATE expands at most 1032:1, a stored member is no
 *     larger than the file; other methods, which can expand more, by the address space): a
 *     damaged directory cannot ask for gigabytes;
 *   - a member is read to exactly its size and then once more, to its end, which is where
 *     libzip compares the CRC-32: a flipped byte is an error, not wrong data.
 * Used by core/npy.c (.npz), metrics/torch_weights.c (zip .pth), metrics/image_archive.c (zip
 * archives of images) and datasets/fetch.c (unpacking). Tested through them: tests/test_npy.c,
 * tests/test_torch_weights.c and tests/test_image_archive.c (corrupt, truncated, encrypted and
 * oversized members).
 */
#ifndef GB_CORE_ZIP_READ_H
#define GB_CORE_ZIP_READ_H

#include <stddef.h>
#include <zip.h>

#include "core/status.h"

/* path -> *za, read-only, with ZIP_CHECKCONS. GB_INPUT "<path>: not a readable <what> (<why>);
 * <advice>" when libzip cannot open it. */
gb_status gb_zip_open(zip_t **za, const char *path, const char *what, const char *advice);

/* Member `index` of za -> malloc'd *bytes [*n] (freed by the caller; at least one byte is
 * allocated). where names the member in errors ("file.zip:member"), archive_bytes is the size
 * of the archive the directory belongs to, and advice ends every GB_INPUT message. GB_INPUT
 * when the member's sizes exceed what archive_bytes can hold, it cannot be opened (encrypted,
 * an unsupported compression method) or its data is damaged or truncated; GB_ENV when memory
 * runs out. */
gb_status gb_zip_read_member(unsigned char **bytes, size_t *n, zip_t *za, zip_uint64_t index, size_t archive_bytes,
                             const char *where, const char *advice);

#endif
