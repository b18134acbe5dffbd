/* core/hash_block.h - the 64-byte block buffering and length padding that MD5 (RFC 1321 3.1-3.2)
 * and SHA-256 (FIPS 180-4 5.1.1) share: both are Merkle-Damgard hashes over 512-bit blocks
 * padded with a 1 bit, zeros to 448 mod 512 and the 64-bit message bit length; they differ only
 * in the compression function and the byte order of that length. Tested through
 * tests/test_sha256.c (FIPS vectors, split updates) and tests/test_archive.c (RFC 1321 vectors). */
#ifndef GB_CORE_HASH_BLOCK_H
#define GB_CORE_HASH_BLOCK_H

#include <stddef.h>
#include <stdint.h>

typedef void (*gb_hash_compress)(uint32_t *h, const uint8_t block[64]);

typedef struct {
    uint32_t *h;       /* the hash's chaining state */
    uint8_t *block;    /* [64] pending partial block */
    size_t *used;      /* bytes pending in block */
    uint64_t *length;  /* bytes hashed so far */
    gb_hash_compress compress;
} gb_hash_blocks;

/* Feed n bytes: complete blocks are compressed, the tail is kept in block. */
void gb_hash_blocks_update(const gb_hash_blocks *b, const void *data, size_t n);
/* Pad and compress the last block(s); the bit length is stored big-endian when big_endian
 * (SHA-256), little-endian otherwise (MD5). */
void gb_hash_blocks_finish(const gb_hash_blocks *b, int big_endian);

#endif
