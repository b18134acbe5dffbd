/* core/sha256.h - SHA-256 (FIPS 180-4) for dataset identity and weight verification.
 *
 * Run manifests record file SHA-256s (DESIGN.md section 3 "Provenance"), and the Inception
 * weights are refused unless their hash matches (section 4). Streaming interface plus
 * one-shot, hex and whole-file helpers. Byte order is handled explicitly, so the result does
 * not depend on the host's endianness.
 * Tested by tests/test_sha256.c: the FIPS 180-4 example vectors, every split point of
 * chunked updates, padding-boundary lengths and files against coreutils sha256sum, and the
 * error path for unreadable files.
 */
#ifndef GB_SHA256_H
#define GB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    uint32_t h[8];     /* chaining state */
    uint64_t length;   /* bytes hashed so far */
    uint8_t block[64]; /* pending partial block */
    size_t used;       /* bytes pending in block */
} gb_sha256_ctx;

void gb_sha256_init(gb_sha256_ctx *c);
void gb_sha256_update(gb_sha256_ctx *c, const void *data, size_t n);
/* Writes the digest; the context must be re-initialised before reuse. */
void gb_sha256_final(gb_sha256_ctx *c, uint8_t digest[32]);
void gb_sha256(const void *data, size_t n, uint8_t digest[32]);
void gb_sha256_hex(const uint8_t digest[32], char hex[65]); /* lowercase, NUL-terminated */
/* Hash a file by streaming it; GB_INPUT with the path and strerror when it cannot be read. */
gb_status gb_sha256_file(const char *path, char hex[65]);

#endif
