/* core/base64.h - Base64 encoding (RFC 4648 section 4, standard alphabet, with padding).
 *
 * Used to embed PNG plots as data: URIs in the self-contained HTML report.
 * Tested by tests/test_plot.c against the RFC 4648 section 10 test vectors.
 */
#ifndef GB_BASE64_H
#define GB_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* The encoded length of n bytes, without the terminating NUL: 4 * ceil(n / 3). */
size_t gb_base64_encoded_len(size_t n);

/* data [n] -> malloc'd NUL-terminated text (caller frees); NULL only when out of memory.
 * n == 0 gives "" (data may then be NULL). */
char *gb_base64_encode(const uint8_t *data, size_t n);

#endif
