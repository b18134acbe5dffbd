/* core/base64.c - Base64 encoding (RFC 4648, standard alphabet, '=' padding).
 *
 * Three input bytes become four 6-bit indices into the alphabet; a final group of one or two
 * bytes is zero-extended and padded with "==" or "=". Tested by tests/test_plot.c.
 */
#include "core/base64.h"

#include <stdlib.h>

static const char gb_base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t gb_base64_encoded_len(size_t n) { return 4 * ((n + 2) / 3); }

char *gb_base64_encode(const uint8_t *data, size_t n) {
    /* The length check keeps 4 * ceil(n / 3) + 1 from wrapping on absurd inputs. */
    if (n > (SIZE_MAX / 4) * 3 - 3) return NULL;
    char *out = malloc(gb_base64_encoded_len(n) + 1);
    if (!out) return NULL;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *o++ = gb_base64_alphabet[v >> 18 & 63];
        *o++ = gb_base64_alphabet[v >> 12 & 63];
        *o++ = gb_base64_alphabet[v >> 6 & 63];
        *o++ = gb_base64_alphabet[v & 63];
    }
    size_t rest = n - i;
    if (rest > 0) {
        uint32_t v = (uint32_t)data[i] << 16 | (rest == 2 ? (uint32_t)data[i + 1] << 8 : 0);
        *o++ = gb_base64_alphabet[v >> 18 & 63];
        *o++ = gb_base64_alphabet[v >> 12 & 63];
        *o++ = rest == 2 ? gb_base64_alphabet[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}
