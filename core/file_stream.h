/* core/file_stream.h - feed a whole file, in fixed-size pieces, to a consumer (a hash's update
 * function): the one read loop behind gb_sha256_file and gb_md5_file, with their error
 * messages. Tested through tests/test_sha256.c and tests/test_archive.c (the md5 vectors). */
#ifndef GB_CORE_FILE_STREAM_H
#define GB_CORE_FILE_STREAM_H

#include <stddef.h>

#include "status.h"

typedef void (*gb_stream_consumer)(void *ctx, const void *data, size_t n);

/* Calls consume(ctx, piece, n) for consecutive pieces of the file at `path`. GB_INPUT naming the
 * file when it cannot be opened or a read fails (with the byte count reached). */
gb_status gb_file_stream(const char *path, gb_stream_consumer consume, void *ctx);

#endif
