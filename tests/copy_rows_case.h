/* tests/copy_rows_case.h - the backend's copy_rows against its definition, on any device: a
 * channel slice of every image of a batch (the Inception blocks' concatenations), then rows
 * that fill their pitch, one row and zero rows. Bytes between the copied rows and after the
 * last keep their sentinel. Used by tests/test_kernels_cpu.c and tests/test_kernels_cuda.c. */
#ifndef GB_TEST_COPY_ROWS_CASE_H
#define GB_TEST_COPY_ROWS_CASE_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/ops.h"

static inline void copy_rows_case(gb_device *d) {
    static const struct {
        size_t rows, row, src_pitch, dst_pitch;
    } cases[] = {{5, 12, 40, 28}, {3, 16, 16, 16}, {1, 7, 9, 11}, {0, 8, 8, 8}, {4, 0, 4, 4}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const size_t rows = cases[k].rows, row = cases[k].row, sp = cases[k].src_pitch, dp = cases[k].dst_pitch;
        const size_t src_bytes = rows * sp + 8, dst_bytes = rows * dp + 8;
        unsigned char *src = malloc(src_bytes), *want = malloc(dst_bytes), *got = malloc(dst_bytes);
        for (size_t i = 0; i < src_bytes; i++) src[i] = (unsigned char)(i * 13 + 5);
        memset(want, 0xa5, dst_bytes);
        for (size_t r = 0; r < rows; r++) memcpy(want + r * dp, src + 3 + r * sp, row);
        unsigned char *dsrc = gb_dev_alloc(d, src_bytes), *ddst = gb_dev_alloc(d, dst_bytes);
        gb_upload(d, dsrc, src, src_bytes);
        memset(got, 0xa5, dst_bytes);
        gb_upload(d, ddst, got, dst_bytes);
        gb_dev_copy_rows(d, ddst, dp, dsrc + 3, sp, row, rows);
        gb_dev_sync(d);
        gb_download(d, got, ddst, dst_bytes);
        for (size_t i = 0; i < dst_bytes; i++)
            if (got[i] != want[i]) {
                cr_expect_eq(got[i], want[i], "copy_rows case %zu (%zu rows of %zu, pitches %zu -> %zu): byte %zu",
                             k, rows, row, sp, dp, i);
                break;
            }
        gb_dev_free(d, dsrc);
        gb_dev_free(d, ddst);
        free(src), free(want), free(got);
    }
}

#endif
