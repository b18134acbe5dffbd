/* fuzz/npy_fuzz.c - libFuzzer target for gb_npy_decode (core/npy.c, .npy images in memory) and
 * gb_npy_peek (the same image as a file, its header alone).
 *
 * Invariants on every accepted image: count = prod(shape) (1 for a scalar), ndim within
 * 0..GB_NPY_MAX_DIMS, the data buffer holds count * itemsize bytes (ASan checks the last);
 * encoding it again with gb_npy_encode (np.save's layout) and decoding that gives the same
 * dtype, shape and bytes. The header-only reader accepts exactly the images the decoder
 * accepts and describes them alike. Run with `make fuzz`.
 */
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "fuzz/fuzz_util.h"

/* gb_npy_peek on the input written to a file: the same verdict and description as decoding. */
static void check_peek(const uint8_t *data, size_t size, gb_status decoded, const gb_npy_array *a) {
    const char *path = fuzz_write_file("in.npy", data, size);
    gb_npy_array h;
    gb_status s = gb_npy_peek(&h, path);
    fuzz_check((s == GB_OK) == (decoded == GB_OK), "peek %d but decode %d: %s", (int)s, (int)decoded,
               gb_last_error());
    if (s != GB_OK) return;
    fuzz_check(!h.data && h.dtype == a->dtype && h.ndim == a->ndim && h.count == a->count &&
                   memcmp(h.shape, a->shape, sizeof a->shape[0] * (size_t)a->ndim) == 0,
               "peek describes the array otherwise than decoding");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gb_npy_array a;
    gb_status s = gb_npy_decode(&a, data, size, "fuzz.npy");
    check_peek(data, size, s, &a);
    if (s != GB_OK) {
        fuzz_check(!a.data && gb_last_error()[0], "failure with data or without a message");
        return 0;
    }
    fuzz_check(a.ndim >= 0 && a.ndim <= GB_NPY_MAX_DIMS, "ndim %d", a.ndim);
    size_t count = 1;
    for (int d = 0; d < a.ndim; d++) count *= a.shape[d];
    fuzz_check(count == a.count, "count %zu, shape product %zu", a.count, count);
    size_t bytes = a.count * gb_npy_itemsize(a.dtype);
    if (bytes) ((unsigned char *)a.data)[bytes - 1] ^= 0;
    unsigned char *enc;
    size_t n;
    fuzz_check(gb_npy_encode(&enc, &n, &a) == GB_OK, "encode: %s", gb_last_error());
    gb_npy_array b;
    fuzz_check(gb_npy_decode(&b, enc, n, "fuzz-rewritten.npy") == GB_OK, "re-decode: %s", gb_last_error());
    fuzz_check(b.dtype == a.dtype && b.ndim == a.ndim && b.count == a.count &&
                   memcmp(a.shape, b.shape, sizeof a.shape[0] * (size_t)a.ndim) == 0,
               "header changed in the round trip");
    fuzz_check(bytes == 0 || memcmp(a.data, b.data, bytes) == 0, "data changed in the round trip");
    gb_npy_free(&b);
    free(enc);
    gb_npy_free(&a);
    return 0;
}
