/* core/md5.h - MD5 (RFC 1321) for checking downloads against their published digests.
 *
 * MD5 is not a security measure here: the Toronto page (CIFAR-10), torchvision (MNIST,
 * Fashion-MNIST) and the common CUB loader publish MD5s of the archives, so a download is
 * compared with the digest its publisher gives (specs/formats.md sections 0-3). Dataset
 * identity in manifests stays SHA-256 (core/sha256.h).
 * Streaming interface plus one-shot, hex, whole-file and check helpers; byte order explicit.
 * Tested by tests/test_archive.c: the RFC 1321 appendix A.5 vectors, chunked updates at
 * every split point, and files of many lengths against Python's hashlib.
 */
#ifndef GB_MD5_H
#define GB_MD5_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    uint32_t h[4];     /* chaining state A, B, C, D */
    uint64_t length;   /* bytes hashed so far */
    uint8_t block[64]; /* pending partial block */
    size_t used;       /* bytes pending in block */
} gb_md5_ctx;

void gb_md5_init(gb_md5_ctx *c);
void gb_md5_update(gb_md5_ctx *c, const void *data, size_t n);
/* Writes the digest; the context must be re-initialised before reuse. */
void gb_md5_final(gb_md5_ctx *c, uint8_t digest[16]);
void gb_md5(const void *data, size_t n, uint8_t digest[16]);
void gb_md5_hex(const uint8_t digest[16], char hex[33]); /* lowercase, NUL-terminated */
/* Hash a file by streaming it; GB_INPUT with the path and strerror when it cannot be read. */
gb_status gb_md5_file(const char *path, char hex[33]);
/* GB_INPUT naming the path, both digests and the fix (download again) unless the file's MD5
 * equals expected_hex (compared case-insensitively). */
gb_status gb_md5_check_file(const char *path, const char *expected_hex);

#endif
