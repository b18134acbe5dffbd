/* fuzz/idx_fuzz.c - libFuzzer target for datasets/idx.c (gb_idx_read_u8, gb_idx_read_any_u8,
 * gb_idx_load_files), gzipped or plain, through core/gzip_file.c.
 *
 * Input layout: byte 0 picks the mode, bytes 1-2 (big-endian) the length L of the first file.
 *   mode % 3 == 0: bytes 3.. are one images file (ndim 3);
 *   mode % 3 == 1: bytes 3.. are one labels file (ndim 1);
 *   mode % 3 == 2: bytes 3..3+L are the images file, the rest the labels file, loaded as a set.
 * Invariants: an accepted file holds exactly prod(dims) data bytes; gb_idx_read_any_u8 accepts
 * a file with the same dimensions exactly when gb_idx_read_u8 accepts it for the dimension count
 * the header names; an accepted set has as many labels as images, all below the class count.
 * Run with `make fuzz`.
 */
#include <stdlib.h>

#include "datasets/idx.h"
#include "fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    int mode = data[0] % 3;
    size_t first = (size_t)data[1] << 8 | data[2];
    data += 3;
    size -= 3;
    if (mode < 2) {
        int ndim = mode == 0 ? 3 : 1;
        const char *path = fuzz_write_file("one-idx-ubyte", data, size);
        uint8_t *out;
        uint32_t dims[3] = {0, 0, 0};
        gb_status s = gb_idx_read_u8(path, ndim, &out, dims);
        uint8_t *any;
        uint32_t any_dims[3] = {0, 0, 0};
        int any_ndim = 0;
        gb_status s_any = gb_idx_read_any_u8(path, &any, any_dims, &any_ndim);
        if (s_any == GB_OK) {
            fuzz_check(any_ndim >= 1 && any_ndim <= 3, "read_any ndim %d", any_ndim);
            if (any_ndim == ndim) fuzz_check(s == GB_OK, "read_any accepted what read_u8 refused");
            free(any);
        } else {
            fuzz_check(!any && gb_last_error()[0], "read_any failure with data or without a message");
        }
        if (s == GB_OK)
            fuzz_check(s_any == GB_OK && any_ndim == ndim && any_dims[0] == dims[0] && any_dims[1] == dims[1] &&
                           any_dims[2] == dims[2], "read_any refused or changed what read_u8 accepted");
        if (s != GB_OK) {
            fuzz_check(!out && gb_last_error()[0], "failure with data or without a message");
            return 0;
        }
        uint64_t count = 1;
        for (int d = 0; d < ndim; d++) count *= dims[d];
        /* The header may have been gzipped; the data can be no longer than the cap. */
        fuzz_check(count <= (256u << 20), "count %llu", (unsigned long long)count);
        if (count) out[count - 1] ^= 1; /* ASan checks the buffer holds count bytes */
        free(out);
        return 0;
    }
    if (first > size) first = size;
    const char *images = fuzz_write_file("images-idx3-ubyte", data, first);
    const char *labels = fuzz_write_file("labels-idx1-ubyte", data + first, size - first);
    int classes = 1 + (int)(size % 10);
    gb_image_set set;
    gb_status s = gb_idx_load_files(&set, images, labels, classes, "fuzz:idx");
    if (s != GB_OK) {
        fuzz_check(gb_last_error()[0], "failure without a message");
        return 0;
    }
    fuzz_check(set.count >= 0 && set.channels == 1 && set.labels, "set shape");
    for (int i = 0; i < set.count; i++) fuzz_check(set.labels[i] >= 0 && set.labels[i] < classes, "label %d", i);
    if (set.count) set.pixels[(size_t)set.count * set.height * set.width - 1] ^= 1;
    gb_image_set_free(&set);
    return 0;
}
