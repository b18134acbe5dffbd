/* tests/test_cuda_ceilings.c - gb_cuda_measure_ceilings (kernels/cuda/ceilings.cu).
 *
 * Without a GPU: GB_ENV with a message naming the missing device, zeroed outputs (this part
 * runs everywhere the CUDA backend is built). With a GPU: rates inside wide physical bounds
 * (a copy between 10 GB/s and 100 TB/s, an FP32 GEMM between 100 GFLOP/s and 1 PFLOP/s: any
 * real GPU sits inside, a unit error by 1e3 does not) and a clocks record with every field.
 * The measured numbers are printed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"

#ifdef GB_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"

Test(cuda_ceilings, measure, .timeout = 300) {
    double copy = -1.0, gemm = -1.0;
    char clocks[256];
    gb_status s = gb_cuda_measure_ceilings(&copy, &gemm, clocks, sizeof clocks);
    if (!gb_cuda_available()) {
        cr_expect_eq(s, GB_ENV, "no GPU: GB_ENV expected, got %d", (int)s);
        cr_expect(strstr(gb_last_error(), "no CUDA device") != NULL, "message: %s", gb_last_error());
        cr_expect(copy == 0.0 && gemm == 0.0 && clocks[0] == '\0');
        printf("SKIPPED: no CUDA device (checked only that the ceilings report GB_ENV)\n");
        fflush(stdout);
        return;
    }
    cr_assert_eq(s, GB_OK, "%s", gb_last_error());
    printf("GPU ceilings: copy %.1f GB/s, sgemm %.1f GFLOP/s, %s\n", copy, gemm, clocks);
    cr_expect(copy > 10.0 && copy < 1e5, "copy %.3g GB/s", copy);
    cr_expect(gemm > 100.0 && gemm < 1e6, "sgemm %.3g GFLOP/s", gemm);
    const char *fields[] = {"sm_clock_khz=", "mem_clock_khz=", "mem_bus_bits=", "l2_bytes=", "sms="};
    for (size_t i = 0; i < 5; i++) cr_expect(strstr(clocks, fields[i]) != NULL, "clocks: %s", clocks);
    char tiny[8];
    cr_assert_eq(gb_cuda_measure_ceilings(&copy, &gemm, tiny, sizeof tiny), GB_OK);
    cr_expect_eq(strlen(tiny), sizeof tiny - 1, "clocks truncated to cap");
}

#else /* no CUDA backend in this build */

Test(cuda_ceilings, skipped_without_cuda_build) {
    printf("SKIPPED: no CUDA device (this build has no CUDA backend: nvcc was not found)\n");
    fflush(stdout);
    cr_skip_test("SKIPPED: no CUDA device (no CUDA backend in this build)");
}

#endif
