/* core/hash_block.c - see hash_block.h. */
#include "core/hash_block.h"

#include <string.h>

void gb_hash_blocks_update(const gb_hash_blocks *b, const void *data, size_t n) {
    const uint8_t *p = data;
    *b->length += n;
    if (*b->used > 0) {
        size_t take = 64 - *b->used < n ? 64 - *b->used : n;
        memcpy(b->block + *b->used, p, take);
        *b->used += take;
        p += take;
        n -= take;
        if (*b->used < 64) return;
        b->compress(b->h, b->block);
        *b->used = 0;
    }
    for (; n >= 64; p += 64, n -= 64) b->compress(b->h, p);
    if (n > 0) memcpy(b->block, p, n);
    *b->used = n;
}

void gb_hash_blocks_finish(const gb_hash_blocks *b, int big_endian) {
    uint64_t bits = *b->length * 8;
    b->block[(*b->used)++] = 0x80;
    if (*b->used > 56) {
        memset(b->block + *b->used, 0, 64 - *b->used);
        b->compress(b->h, b->block);
        *b->used = 0;
    }
    memset(b->block + *b->used, 0, 56 - *b->used);
    for (int i = 0; i < 8; i++) b->block[56 + i] = (uint8_t)(bits >> (big_endian ? 56 - 8 * i : 8 * i));
    b->compress(b->h, b->block);
}
