/* kernels/device.c - open and close a backend by name.
 *
 * "cpu" always works; "cuda" needs a build with the CUDA backend (the Makefile
 * defines GB_HAVE_CUDA when nvcc exists) and a visible GPU, else GB_ENV with the
 * reason; "auto" takes cuda when both hold, else cpu. Anything else is GB_USAGE.
 * Tested by tests/test_kernels_cpu.c (names, errors) and
 * tests/test_kernels_cuda.c (the cuda path, when a GPU is present).
 */
#include "kernels/kernels.h"

#include <string.h>

#include "kernels/cpu/cpu.h"
#ifdef GB_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

int gb_cuda_available(void) {
#ifdef GB_HAVE_CUDA
    return gb_cuda_device_count() > 0;
#else
    return 0;
#endif
}

static gb_status open_cuda(gb_device *dev, int threads) {
#ifdef GB_HAVE_CUDA
    if (threads < 1)
        return gb_fail(GB_USAGE, "cuda device: thread count must be at least 1 (got %d); pass --threads N",
                       threads);
    GB_TRY(gb_cuda_device_open(dev));
    dev->threads = threads;
    return GB_OK;
#else
    (void)dev;
    (void)threads;
    return gb_fail(GB_ENV, "no CUDA device: this build has no CUDA backend (nvcc was not found "
                           "when it was compiled); run with --device cpu");
#endif
}

gb_status gb_device_open(gb_device *dev, const char *name, int threads) {
    GB_ASSERT(dev && name, "gb_device_open needs a device and a name");
    if (strcmp(name, "cpu") == 0) return gb_cpu_device_open(dev, threads);
    if (strcmp(name, "cuda") == 0) return open_cuda(dev, threads);
    if (strcmp(name, "auto") == 0) {
        if (gb_cuda_available()) return open_cuda(dev, threads);
        return gb_cpu_device_open(dev, threads);
    }
    return gb_fail(GB_USAGE, "unknown device '%s': use --device cpu, cuda or auto", name);
}

void gb_device_close(gb_device *dev) {
    if (!dev || !dev->ops) return;
#ifdef GB_HAVE_CUDA
    if (dev->ops != &gb_cpu_backend) gb_cuda_device_close(dev);
#endif
    memset(dev, 0, sizeof *dev);
}
