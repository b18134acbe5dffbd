/* tests/test_cuda_philox.c - the device Philox streams (kernels/cuda/philox.cu) against
 * core/philox.c, bitwise.
 *
 * Keys from gb_stream_open (several seeds and names, "" included); start positions that are
 * odd, mid-block, and beyond 2^34 (so the high counter word lo32/hi32 split is exercised);
 * lengths from 1 to 4M. Uniforms must be bitwise equal: every step is exact. Normals must be
 * bitwise equal too (the design goal, core/philox.h); CUDA's double log/sin/cos are not
 * glibc's, so a failure here reports how many normals differ and by how many float ulps,
 * which is the measurement core/philox.h asks for. The stream helpers must give the numbers
 * of gb_stream_uniform/gb_stream_normal and advance position exactly as they do. Output
 * buffers have guard regions. Without a GPU every test prints "SKIPPED: no CUDA device".
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/philox.h"
#include "kernels/kernels.h"

#ifdef GB_HAVE_CUDA
#include "tests/cuda_test_util.h"

static int32_t ordered(float f) {
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i < 0 ? INT32_MIN - i : i;
}

/* Compare n device outputs with the CPU's; normals: report count and max ulp distance. */
static void compare(const char *what, const float *gpu, const float *cpu, size_t n, uint64_t pos) {
    size_t bad = 0;
    int64_t max_ulp = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&gpu[i], &cpu[i], sizeof(float)) == 0) continue;
        int64_t d = (int64_t)ordered(gpu[i]) - (int64_t)ordered(cpu[i]);
        if (d < 0) d = -d;
        if (d > max_ulp) max_ulp = d;
        if (bad++ < 5)
            cr_log_error("%s index %llu: cuda %a, cpu %a", what, (unsigned long long)(pos + i), (double)gpu[i],
                         (double)cpu[i]);
    }
    cr_expect_eq(bad, 0, "%s from position %llu: %zu of %zu differ from the CPU (max %lld float ulps)", what,
                 (unsigned long long)pos, bad, n, (long long)max_ulp);
}

static void check_at(const gb_stream *key, uint64_t pos, size_t n) {
    float *cpu = ct_falloc(n), *gpu = ct_falloc(n);
    ct_dbuf d = ct_dbuf_make(NULL, n);
    gb_cuda_philox_uniform(&ct_gpu, d.ptr, key->key, pos, n);
    ct_dbuf_fetch("uniform", &d, gpu);
    for (size_t i = 0; i < n; i++) cpu[i] = gb_philox_uniform_at(key->key, pos + i);
    compare("uniform", gpu, cpu, n, pos);
    gb_cuda_philox_normal(&ct_gpu, d.ptr, key->key, pos, n);
    ct_dbuf_fetch("normal", &d, gpu);
    for (size_t i = 0; i < n; i++) cpu[i] = gb_philox_normal_at(key->key, pos + i);
    compare("normal", gpu, cpu, n, pos);
    ct_dbuf_free(&d);
    free(cpu), free(gpu);
}

Test(cuda_philox, stateless_draws_bitwise, .fini = ct_close) {
    CT_REQUIRE_GPU();
    const gb_stream keys[] = {gb_stream_open(42, "init/conv1.weight"), gb_stream_open(0, ""),
                              gb_stream_open(UINT64_MAX, "noise/17")};
    const uint64_t positions[] = {0, 1, 2, 3, 5, ((uint64_t)1 << 34) - 6, 0xFFFFFFFFFFFF0001ull};
    const size_t lengths[] = {1, 2, 7, 4099};
    for (size_t k = 0; k < 3; k++)
        for (size_t p = 0; p < sizeof positions / sizeof positions[0]; p++)
            for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++) check_at(&keys[k], positions[p], lengths[l]);
}

Test(cuda_philox, four_million_normals_bitwise, .fini = ct_close, .timeout = 120) {
    CT_REQUIRE_GPU();
    gb_stream s = gb_stream_open(20240601, "data/noise");
    check_at(&s, 12345, (size_t)1 << 22);
}

Test(cuda_philox, stream_helpers_match_cpu_streams, .fini = ct_close) {
    CT_REQUIRE_GPU();
    const uint64_t starts[] = {0, 1, 3, 4, 1001};
    const size_t lengths[] = {0, 1, 5, 6, 1025};
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 5; b++) {
            const size_t n = lengths[b];
            gb_stream c = gb_stream_open(7, "stream/helpers"), g;
            c.position = starts[a];
            g = c;
            float *cpu = ct_falloc(n), *gpu = ct_falloc(n);
            ct_dbuf d = ct_dbuf_make(NULL, n);
            gb_stream_uniform(&c, cpu, n);
            gb_cuda_stream_uniform(&ct_gpu, &g, d.ptr, n);
            ct_dbuf_fetch("stream uniform", &d, gpu);
            compare("stream uniform", gpu, cpu, n, starts[a]);
            cr_expect_eq(g.position, c.position, "uniform position %llu vs %llu", (unsigned long long)g.position,
                         (unsigned long long)c.position);
            gb_stream_normal(&c, cpu, n);
            gb_cuda_stream_normal(&ct_gpu, &g, d.ptr, n);
            ct_dbuf_fetch("stream normal", &d, gpu);
            compare("stream normal", gpu, cpu, n, c.position);
            cr_expect_eq(g.position, c.position, "normal position %llu vs %llu", (unsigned long long)g.position,
                         (unsigned long long)c.position);
            ct_dbuf_free(&d);
            free(cpu), free(gpu);
        }
}

#else /* no CUDA backend in this build */

Test(cuda_philox, skipped_without_cuda_build) {
    printf("SKIPPED: no CUDA device (this build has no CUDA backend: nvcc was not found)\n");
    fflush(stdout);
    cr_skip_test("SKIPPED: no CUDA device (no CUDA backend in this build)");
}

#endif
