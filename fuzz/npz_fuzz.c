/* fuzz/npz_fuzz.c - libFuzzer target for gb_npz_load and gb_npz_peek (core/npy.c over libzip).
 *
 * The input is written to a scratch file and read as an .npz archive. Invariants on
 * success: every key is non-empty and found by gb_npz_find, every array's count matches
 * its shape and its data holds count * itemsize bytes (ASan checks the last), and the
 * header-only reader describes every member as the loader did. On failure the header-only
 * reader still runs (on 'arr_0', the member the metric commands peek at), for ASan. Run with
 * `make fuzz`.
 */
#include <string.h>

#include "core/npy.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write_file("in.npz", data, size);
    gb_npz z;
    gb_status s = gb_npz_load(&z, path);
    gb_npy_array h;
    if (s != GB_OK) {
        fuzz_check(gb_last_error()[0], "failure without a message");
        fuzz_check(gb_npz_peek(&h, path, "arr_0") != GB_OK || !h.data, "peek returned data");
        return 0;
    }
    for (size_t i = 0; i < z.count; i++) {
        const gb_npy_array *a = &z.arrays[i];
        fuzz_check(z.keys[i] && z.keys[i][0], "member %zu without a key", i);
        fuzz_check(gb_npz_find(&z, z.keys[i]) != NULL, "key '%s' not found", z.keys[i]);
        size_t count = 1;
        for (int d = 0; d < a->ndim; d++) count *= a->shape[d];
        fuzz_check(count == a->count && a->ndim <= GB_NPY_MAX_DIMS, "member '%s' count", z.keys[i]);
        size_t bytes = a->count * gb_npy_itemsize(a->dtype);
        if (bytes) fuzz_check(((volatile unsigned char *)a->data)[bytes - 1] || 1, "read last byte");
        fuzz_check(gb_npz_peek(&h, path, z.keys[i]) == GB_OK, "peek of '%s' failed: %s", z.keys[i], gb_last_error());
        fuzz_check(!h.data && h.dtype == a->dtype && h.ndim == a->ndim && h.count == a->count &&
                       memcmp(h.shape, a->shape, sizeof a->shape[0] * (size_t)a->ndim) == 0,
                   "peek describes '%s' otherwise than loading", z.keys[i]);
    }
    gb_npz_free(&z);
    return 0;
}
