/* core/tar.h - iterate the members of a tar archive, plain or gzip-compressed.
 *
 * The CIFAR-10 binary archive and CUB_200_2011.tgz are tar streams inside gzip (specs/
 * formats.md section 0). Members are read in order, without extracting anything to disk.
 * Names longer than the 100-byte v7 field arrive in one of three ways, all handled: the
 * POSIX ustar prefix field (155 bytes, joined with '/'), a GNU 'L' (././@LongLink) record
 * before the member, or a pax 'x' extended header with a path= (and size=) record. Sizes
 * may be octal or GNU base-256. The archive must end with the zero-block marker, so a file
 * cut at a member boundary is still noticed.
 * Errors are GB_INPUT naming the archive and the byte offset in the (uncompressed) tar
 * stream: a header whose checksum does not match, a malformed size or pax record, a member
 * whose data run past the end of the file.
 * Tested by tests/test_archive.c against archives written by Python's tarfile module
 * (ustar, GNU and pax formats, long names, gzip), and corrupted copies of them.
 */
#ifndef GB_TAR_H
#define GB_TAR_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    const char *name; /* full member path; owned by the reader, valid until the next gb_tar_next */
    char type;        /* typeflag: '0' regular file (a v7 '\0' is reported as '0'), '5' directory,
                         '2' symlink, ...; the long-name and pax records themselves are consumed */
    uint64_t size;    /* bytes of member data */
    uint64_t offset;  /* byte offset of the member's own header in the uncompressed tar stream */
} gb_tar_entry;

typedef struct gb_tar gb_tar;

/* Open an archive (gzip detected by its magic bytes). GB_INPUT naming the path on failure. */
gb_status gb_tar_open(gb_tar **tar, const char *path);
/* Advance to the next member, skipping whatever of the current member's data was not read.
 * *end = 1 (and *entry untouched) at the end-of-archive marker. */
gb_status gb_tar_next(gb_tar *tar, gb_tar_entry *entry, int *end);
/* Read exactly n more bytes of the current member's data (n <= what remains). */
gb_status gb_tar_read(gb_tar *tar, void *buf, size_t n);
/* Read all of the current member's remaining data into a malloc'd buffer (one NUL byte
 * appended, not counted in *n); GB_INPUT when it exceeds max_bytes. */
gb_status gb_tar_read_all(gb_tar *tar, size_t max_bytes, uint8_t **data, size_t *n);
/* The archive's path (for messages). */
const char *gb_tar_path(const gb_tar *tar);
void gb_tar_close(gb_tar *tar);

#endif
