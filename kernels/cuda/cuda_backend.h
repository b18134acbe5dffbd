/* kernels/cuda/cuda_backend.h - the CUDA backend's entry points for C code.
 *
 * kernels/device.c includes this only when the build has CUDA (GB_HAVE_CUDA);
 * the definitions are in kernels/cuda/backend_cuda.cu (extern "C"). The
 * C++ side includes it too, so the project's C headers are wrapped here once.
 * Tested by tests/test_kernels_cuda.c.
 */
#ifndef GB_CUDA_BACKEND_H
#define GB_CUDA_BACKEND_H

#ifdef __cplusplus
/* core/status.h is C11; C++ spells its _Noreturn as an attribute. */
#ifndef _Noreturn
#define _Noreturn [[noreturn]]
#endif
extern "C" {
#endif

#include "kernels/kernels.h"

/* Number of visible CUDA devices; 0 when the driver or runtime reports an
 * error (no driver, no device), never an error itself. */
int gb_cuda_device_count(void);

/* Fill dev for device 0: cuBLAS handle, fixed workspace, name. GB_ENV with the
 * reason when there is no usable GPU. dev->threads is left to the caller. */
gb_status gb_cuda_device_open(gb_device *dev);

/* Release the cuBLAS handle and workspace of a device opened above. */
void gb_cuda_device_close(gb_device *dev);

/* The CUDA backend's op table (a global built at load time, usable without a GPU: the
 * completeness test of tests/test_kernels_cuda.c reads it). */
const gb_backend *gb_cuda_backend_table(void);

#ifdef __cplusplus
}
#endif

#endif
