/* core/gzip_file.h - read gzip (RFC 1952) files, or plain files through the same calls.
 *
 * The dataset archives (cifar-10-binary.tar.gz, CUB_200_2011.tgz) and the MNIST/Fashion-MNIST
 * IDX files come gzip-compressed (specs/formats.md section 0). A reader opens either kind: it
 * looks at the first two bytes (1f 8b) and inflates with zlib, or passes plain bytes through,
 * so a loader never cares whether the user unpacked the file first. Every member of a
 * multi-member file is inflated in turn (as gzip -d does); zero padding after the last
 * member is accepted, anything else after it is refused. Errors are GB_INPUT naming the file
 * and the compressed byte offset: a truncated download, corrupt deflate data, a bad CRC.
 * Tested by tests/test_archive.c against files written by Python's gzip module.
 */
#ifndef GB_GZIP_FILE_H
#define GB_GZIP_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct gb_gz_reader gb_gz_reader;

/* Open `path` for reading; gzip when it starts with 1f 8b, plain otherwise. GB_INPUT naming
 * the path when it cannot be opened. */
gb_status gb_gz_open(gb_gz_reader **reader, const char *path);
/* Read up to n bytes into buf; *got < n only at the end of the data. A truncated or corrupt
 * gzip stream is GB_INPUT (path, compressed offset, zlib's reason, the fix). */
gb_status gb_gz_read(gb_gz_reader *reader, void *buf, size_t n, size_t *got);
/* Uncompressed bytes delivered so far. */
uint64_t gb_gz_offset(const gb_gz_reader *reader);
/* 1 when the file is gzip-compressed. */
int gb_gz_compressed(const gb_gz_reader *reader);
const char *gb_gz_path(const gb_gz_reader *reader);
void gb_gz_close(gb_gz_reader *reader);

/* Read a whole file (gzip or plain) into a malloc'd buffer with one NUL byte after the data
 * (not counted in *n). GB_INPUT naming the path when the uncompressed data exceed
 * max_bytes (a guard against decompression bombs and wrong files). */
gb_status gb_gz_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *n);

#endif
